// memoryplan.js: the words of the memory model's plan (transfer.Plan, the
// worker's settings answer; memory.js shows them under the image size).
// Pure functions, no DOM: node --test web/test/ tests them directly.

/** Bytes as the page shows them: "740 MiB", "1.4 GiB". */
export function bytes(b) {
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(1)} GiB`;
  if (b >= 10 << 20) return `${Math.round(b / (1 << 20))} MiB`;
  return `${(b / (1 << 20)).toFixed(1)} MiB`;
}

function budgetWords(from) {
  if (from === "webgpu") return "this GPU's budget";
  if (from === "memory_limit") return "the memory limit";
  return "a browser tab's budget on the CPU";
}

/** The line for a plan (pure: the tests call it). */
export function describe(p) {
  if (!p) return "";
  const size = `${p.width}×${p.height}`;
  const budget = `${bytes(p.budget)} (${budgetWords(p.budget_from)})`;
  if (!p.fits) {
    const largest = p.max_size ? `The largest size that fits is ${p.max_size} px.` : "No size fits these settings here.";
    return `Memory: ${size} does not fit in ${budget}: ${(p.reason || "").replace(/^transfer: /, "")}. ${largest}`;
  }
  if (p.tile) {
    return `Memory: ${size} needs ${bytes(p.untiled.total)} untiled, more than ${budget}: it runs in ${p.tile} px tiles, in ${bytes(p.memory.total)}. Untiled up to ${p.max_untiled} px; at most ${p.max_size} px.`;
  }
  return `Memory: ${size} needs ${bytes(p.memory.total)} of ${budget}. Untiled up to ${p.max_untiled} px; in tiles up to ${p.max_size} px.`;
}

