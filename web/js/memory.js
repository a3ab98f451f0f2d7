// memory.js: the memory model's figures beside the image size (issue 13).
// With every settings answer the worker sends its plan of the run
// (transfer.Plan, PROTOCOL.md): what the run needs untiled and as planned,
// the budget (the GPU's, a tab's 1 GiB on the CPU, or memory_limit), the
// tile when the size fits only in tiles, and the largest sizes that fit.
// The line under the size control says it; a size that cannot fit even
// tiled is refused by Go (the answer's error, which disables Run with its
// reason) and the line says the largest size that fits.

import { state } from "./state.js";
import { addExtra } from "./controls.js";
import { onChecked } from "./values.js";
import { describe } from "./memoryplan.js";

const SIZE = "image_size";
let line = null;

/** Shows the latest plan (state.memory) under the size control. */
export function showMemory(p = state.memory) {
  if (!line) return;
  line.textContent = describe(p);
  line.classList.toggle("refused", !!p && !p.fits);
  line.dataset.tile = p?.tile ? String(p.tile) : "";
}

addExtra(SIZE, () => {
  line = document.createElement("p");
  line.id = `${SIZE}-memory`;
  line.className = "reason memory";
  line.setAttribute("aria-live", "polite");
  showMemory();
  return line;
});
onChecked(() => showMemory());
