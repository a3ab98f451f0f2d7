// weightspanel.js: the network weights in the page: downloading them
// (weights.js) with a progress bar (MB of MB and the rate), handing their
// bytes to the worker as they arrive (a weights message with stream, then
// weights_part messages: PROTOCOL.md), showing what it has (the layers in
// so far, then all of them with source and licence) or why it failed, with
// Retry. The worker's first answer already says which layers the manifest
// lacks, so the settings and controls adapt to the weights at once
// (layers.js); a run that needs only the first layers can start while the
// rest downloads (the worker holds it until its layers are in).

import { $, state } from "./state.js";
import { alertBox } from "./alerts.js";
import { send, on } from "./client.js";
import { fetchManifest, fetchBinary, keep, drop, layerEnds, WeightsError } from "./weights.js";
import { adaptToWeights, presetBlocked } from "./layers.js";
import { showAvailability } from "./controls.js";
import { updateButtons } from "./runs.js";
import { updateLink } from "./link.js";
import { checkValues } from "./values.js";

/** The download in progress: {manifest, bytes, cached, adapting, t0, got,
 * total} (bytes once it is all in; adapting: the settings' move off the
 * layers the manifest lacks). */
let pending = null;

/** Parts go to the worker at each layer's end, and at least every MB. */
const PART = 1 << 20;

on("weights", onWeights);

const mb = (n) => (n / 1e6).toFixed(1);

/** Downloads the weights at state.weightsURL (or takes the kept copy) and
 * streams them to the worker. */
export async function loadWeights() {
  const label = $("weights-label");
  const bar = $("weights-progress");
  $("weights-retry").hidden = true;
  $("weights-panel").classList.remove("done");
  label.textContent = "Network weights: fetching the manifest…";
  bar.removeAttribute("value");
  state.weightsAttempt++;
  state.weightsPartial = null;
  const url = state.weightsURL;
  try {
    const m = await fetchManifest(url);
    const p = { manifest: m.manifest, bytes: null, cached: false, adapting: null, t0: performance.now(), got: 0, total: m.manifest.size };
    pending = p;
    label.textContent = `Network weights: downloading ${mb(m.manifest.size)} MB…`;
    send({ type: "weights", manifest: m.text, stream: true });
    const ends = layerEnds(m.manifest);
    let sent = 0;
    const flush = (buf, n, last) => {
      if (n <= sent) return;
      while (ends.length && ends[0] <= sent) ends.shift();
      if (!last && n - sent < PART && !(ends.length && n >= ends[0])) return;
      const part = buf.slice(sent, n).buffer;
      send({ type: "weights_part", binary: part }, [part]);
      sent = n;
    };
    const bin = await fetchBinary(url, m.manifest, (got, total) => progress(p, got, total), (buf, n) => flush(buf, n, false));
    p.bytes = bin.bytes;
    p.cached = bin.cached;
    flush(new Uint8Array(bin.bytes), bin.bytes.byteLength, true);
    label.textContent = bin.cached ? "Network weights: checking the copy kept from the last visit…" : "Network weights: checking the SHA-256…";
    bar.removeAttribute("value");
  } catch (e) {
    pending = null;
    weightsFailed(e instanceof WeightsError ? e.message : `weights: ${e.message}`, e.kind !== "missing");
  }
}

/** The progress bar and its label: MB of MB, the rate, the layers in. */
function progress(p, got, total) {
  const bar = $("weights-progress");
  p.got = got;
  p.total = total || got;
  bar.max = p.total;
  bar.value = got;
  const secs = (performance.now() - p.t0) / 1000;
  const rate = secs > 0 ? ` · ${mb(got / secs)} MB/s` : "";
  const w = state.weightsPartial;
  const layers = w?.layers?.length ? ` · ${w.layers[0]} … ${w.layers.at(-1)} ready` : "";
  $("weights-label").textContent = `Network weights: ${mb(got)} of ${mb(p.total)} MB${rate}${layers}`;
}

function weightsFailed(message, canRetry) {
  $("weights-label").textContent = "Network weights: not loaded.";
  $("weights-progress").value = 0;
  $("weights-retry").hidden = false;
  state.weightsPartial = null;
  alertBox(message, { id: "weights-alert", retry: canRetry ? { label: "Retry", action: loadWeights } : null });
  updateButtons();
}

/** The worker refused the weights (an error of stage weights). */
export function weightsRefused(m) {
  const p = pending;
  pending = null;
  state.weightsPartial = null;
  if (p && p.cached && state.weightsAttempt < 3) {
    // The kept copy is bad: forget it and download afresh.
    drop(state.weightsURL, p.manifest).then(loadWeights);
    return;
  }
  weightsFailed(`The weights failed their check: ${m.message}`, true);
}

async function onWeights(m) {
  const p = pending;
  state.unavailable = m.unavailable || {};
  if (!m.complete) {
    // Part of a download: the layers in so far. The first answer already
    // says what the manifest lacks; the settings move off that at once.
    state.weightsPartial = m;
    if (p && !p.adapting) {
      p.adapting = adaptToWeights({ ...m, layers: [...m.layers, ...(m.pending || [])] }).then(() => {
        showAvailability(state.unavailable, presetBlocked);
        updateLink();
      });
    }
    if (p && p.got) progress(p, p.got, p.total);
    updateButtons();
    return;
  }
  pending = null;
  if (p?.adapting) {
    // The partial answer's check ran before the worker held the network:
    // check again, so that the memory model's plan counts its weights.
    await p.adapting;
    await checkValues();
  } else {
    await adaptToWeights(m);
    showAvailability(state.unavailable, presetBlocked);
  }
  if (p && !p.cached && p.bytes) keep(state.weightsURL, p.manifest, p.bytes).catch(() => {});
  $("weights-panel").classList.add("done");
  $("weights-label").textContent = `Network weights: ${m.layers.length} layers (${m.layers[0]} … ${m.layers[m.layers.length - 1]})${p && p.cached ? ", from this browser's cache" : ""}.`;
  $("weights-retry").hidden = true;
  document.getElementById("weights-alert")?.remove();
  $("weights-credit").textContent = m.source ? `Network weights: ${m.source}. ${(m.license || "").split("\n")[0]}` : "";
  $("weights-license-text").textContent = m.license || "";
  $("weights-license").hidden = !m.license;
  state.weightsPartial = null;
  state.weights = m;
  updateLink();
  updateButtons();
}

/** Wires the Retry button. */
export function wireWeights() {
  $("weights-retry").addEventListener("click", () => {
    document.getElementById("weights-alert")?.remove();
    loadWeights();
  });
}
