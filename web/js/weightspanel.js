// weightspanel.js: the network weights in the page: downloading them
// (weights.js) with a progress bar, handing them to the worker, showing
// what it loaded (layers, source, licence) or why it failed, with Retry.
// Loaded weights then adapt the settings and controls (layers.js).

import { $, state } from "./state.js";
import { alertBox } from "./alerts.js";
import { send, on } from "./client.js";
import { fetchManifest, fetchBinary, keep, drop, WeightsError } from "./weights.js";
import { adaptToWeights, presetBlocked } from "./layers.js";
import { showAvailability } from "./controls.js";
import { updateButtons } from "./runs.js";
import { updateLink } from "./link.js";

let pending = null; // {manifest, bytes, cached} awaiting the worker's check

on("weights", onWeights);

/** Downloads the weights at state.weightsURL (or takes the kept copy) and
 * sends them to the worker. */
export async function loadWeights() {
  const label = $("weights-label");
  const bar = $("weights-progress");
  $("weights-retry").hidden = true;
  $("weights-panel").classList.remove("done");
  label.textContent = "Network weights: fetching the manifest…";
  bar.removeAttribute("value");
  state.weightsAttempt++;
  const url = state.weightsURL;
  try {
    const m = await fetchManifest(url);
    const mb = (m.manifest.size / 1e6).toFixed(1);
    label.textContent = `Network weights: downloading ${mb} MB…`;
    const bin = await fetchBinary(url, m.manifest, (got, total) => {
      bar.max = total || got;
      bar.value = got;
      label.textContent = `Network weights: ${(got / 1e6).toFixed(1)} of ${mb} MB`;
    });
    label.textContent = bin.cached ? "Network weights: checking the copy kept from the last visit…" : "Network weights: checking the SHA-256…";
    bar.removeAttribute("value");
    pending = { manifest: m.manifest, bytes: bin.bytes, cached: bin.cached };
    // Copied, not transferred: the page keeps the bytes to cache them once
    // the worker has checked them.
    send({ type: "weights", manifest: m.text, binary: bin.bytes });
  } catch (e) {
    weightsFailed(e instanceof WeightsError ? e.message : `weights: ${e.message}`, e.kind !== "missing");
  }
}

function weightsFailed(message, canRetry) {
  $("weights-label").textContent = "Network weights: not loaded.";
  $("weights-progress").value = 0;
  $("weights-retry").hidden = false;
  alertBox(message, { id: "weights-alert", retry: canRetry ? { label: "Retry", action: loadWeights } : null });
  updateButtons();
}

/** The worker refused the weights (an error of stage weights). */
export function weightsRefused(m) {
  const p = pending;
  pending = null;
  if (p && p.cached && state.weightsAttempt < 3) {
    // The kept copy is bad: forget it and download afresh.
    drop(state.weightsURL, p.manifest).then(loadWeights);
    return;
  }
  weightsFailed(`The weights failed their check: ${m.message}`, true);
}

async function onWeights(m) {
  state.unavailable = m.unavailable || {};
  const p = pending;
  pending = null;
  if (p && !p.cached) keep(state.weightsURL, p.manifest, p.bytes).catch(() => {});
  $("weights-panel").classList.add("done");
  $("weights-label").textContent = `Network weights: ${m.layers.length} layers (${m.layers[0]} … ${m.layers[m.layers.length - 1]})${p && p.cached ? ", from this browser's cache" : ""}.`;
  $("weights-retry").hidden = true;
  document.getElementById("weights-alert")?.remove();
  $("weights-credit").textContent = m.source ? `Network weights: ${m.source}. ${(m.license || "").split("\n")[0]}` : "";
  $("weights-license-text").textContent = m.license || "";
  $("weights-license").hidden = !m.license;
  await adaptToWeights(m);
  showAvailability(state.unavailable, presetBlocked);
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
