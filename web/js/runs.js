// runs.js: running. One run (Run) or a comparison (several settings on the
// same pair, one after another, side by side); each starts with the values
// as text, and the worker's started message says how Go read them. Progress
// goes to the status line, the progress bar and the loss chart (chart.js),
// frames to the preview (or the comparison's figure); Pause, Stop, Download
// and the buttons' states, with the reason Run is unavailable.

import { $, state } from "./state.js";
import { alertBox } from "./alerts.js";
import { send, on } from "./client.js";
import { drawPixels } from "./images.js";
import { LossChart, fmt } from "./chart.js";
import * as S from "./settings.js";
import { currentPreset, fieldOfKind, presetsField } from "./controls.js";
import { presetBlocked } from "./layers.js";
import { updateLink } from "./link.js";

export const chart = new LossChart($("chart"), $("legend"));

on("started", (m) => {
  const r = state.run;
  if (!r || r.id !== m.id) return;
  r.settings = m.settings;
  const n = m.settings.num_iterations;
  chart.maxIter = n;
  $("run-progress").max = n;
  if (r.caption) r.caption.textContent = S.caption(m.settings);
});
on("progress", onProgress);
// The run needs layers still downloading: it starts when they are in.
on("waiting", (m) => {
  const r = state.run;
  if (!r || r.id !== m.id) return;
  r.waiting = m;
  const what = r.kind !== "single" ? `${r.name}: ` : "";
  setStatus(`${what}waiting for ${m.layers.length > 2 ? `${m.layers[0]} … ${m.layers.at(-1)}` : m.layers.join(" and ")}: the run starts when ${(m.bytes / 1e6).toFixed(1)} of ${(m.size / 1e6).toFixed(1)} MB of the weights are in…`);
});
on("preview", (m) => onFrame(m, false));
on("done", (m) => onFrame(m, true));
for (const type of ["paused", "resumed"]) {
  on(type, () => {
    if (state.run) state.run.paused = type === "paused";
    setStatus(type === "paused" ? "Paused." : "Running…");
    updateButtons();
  });
}

/** The status line under the preview. */
export function setStatus(text) {
  $("status").textContent = text;
}

function ensureImagesSent() {
  if (state.imagesSent) return;
  const pack = (x) => ({ width: x.width, height: x.height, pixels: x.pixels.slice().buffer });
  send({ type: "images", content: pack(state.content), styles: state.styles.map(pack) });
  state.imagesSent = true; // the worker handles messages in order
}

/** Starts one run of values. target: the canvas frames go to; name: for
 * the file; figure and caption: a comparison's. */
function startRun(values, { target, kind, name, figure = null, caption = null, start = {}, onDone = null }) {
  ensureImagesSent();
  const id = state.nextID++;
  state.run = { id, kind, values, settings: null, target, name, figure, caption, onDone, paused: false, t0: performance.now(), samples: [], lastIter: 0 };
  chart.reset();
  $("run-progress").value = 0;
  setStatus(`Starting${kind !== "single" ? ` ${name}` : ""}…`);
  send({ type: "start", id, values, ...start });
  updateButtons();
}

function onProgress(m) {
  const r = state.run;
  if (!r || r.id !== m.id || !r.settings) return;
  const p = m.progress;
  const n = r.settings.num_iterations;
  chart.add(p, n);
  r.lastIter = p.iter;
  r.samples.push([p.iter, p.ms]);
  if (r.samples.length > 20) r.samples.shift();
  const [i0, t0] = r.samples[0];
  const rate = p.ms > t0 ? ((p.iter - i0) * 1000) / (p.ms - t0) : 0;
  const eta = rate > 0 ? (n - p.iter) / rate : NaN;
  $("run-progress").value = p.iter;
  const what = r.kind !== "single" ? `${r.name}: ` : "";
  // A tiled stage (tile_size, or a size that fits only in tiles): its tile
  // and pass; the loss is the tile's.
  const tile = p.tiles ? ` · tile ${p.tile} of ${p.tiles}, pass ${p.pass} of ${p.passes}` : "";
  // The worker may answer pause before the iteration in flight reports (it
  // handles messages whenever the run waits, e.g. for its helper workers):
  // the run is paused after this iteration.
  if (r.paused) return setStatus(`Paused after iteration ${p.iter} of ${n}.`);
  setStatus(`${what}iteration ${p.iter} of ${n}${tile} · ${rate ? rate.toFixed(rate < 1 ? 2 : 1) : "–"} it/s · ETA ${Number.isFinite(eta) ? duration(eta) : "–"} · loss ${fmt(p.total)}${p.note ? ` · ${p.note}` : ""}`);
}

function duration(sec) {
  if (sec < 60) return `${Math.ceil(sec)} s`;
  const m = Math.floor(sec / 60);
  return `${m} min ${Math.round(sec - 60 * m)} s`;
}

function onFrame(m, done) {
  const r = state.run;
  if (!r || r.id !== m.id) return;
  if (!m.width) {
    // Stopped while it waited for its layers: no image.
    setStatus("Stopped before it started.");
    if (r.figure) r.figure.classList.remove("active");
    state.run = null;
    state.queue = [];
    return updateButtons();
  }
  const img = { width: m.width, height: m.height, pixels: new Uint8ClampedArray(m.pixels) };
  drawPixels(r.target, img);
  if (r.target === $("preview")) {
    $("preview").setAttribute("aria-label", `Stylised image, iteration ${m.iter}`);
    $("preview").classList.remove("empty");
    $("placeholder").hidden = true;
  }
  state.lastFrame = { canvas: r.target, name: `${r.name}-${m.iter}` };
  if (!done) return updateButtons();
  const secs = (m.ms || performance.now() - r.t0) / 1000;
  const what = r.kind !== "single" ? `${r.name}: ` : "";
  setStatus(`${what}${m.stopped ? "stopped" : "done"} after ${m.iter} iterations in ${duration(secs)}.`);
  if (r.figure) r.figure.classList.remove("active");
  state.run = null;
  if (m.stopped) state.queue = [];
  r.onDone?.(m); // a queued job's own follow-up (explorer.js)
  updateLink(); // the embed snippet's poster: this result
  next();
}

/** An error of stage start or run (or any other while a run goes): the
 * run and the queue end, the last preview stays. */
export function runFailed(m) {
  const r = state.run;
  if (r && (m.id === r.id || m.stage === "run" || m.stage === "start")) {
    state.run = null;
    state.queue = [];
    if (r.figure) r.figure.classList.remove("active");
    const keepNote = state.lastFrame ? " The last preview is kept: you can still download it." : "";
    alertBox(`The run failed: ${m.message}.${keepNote}`);
    setStatus("Failed.");
    r.onDone?.({ error: m.message }); // a queued job's own follow-up (explorer.js)
  } else {
    alertBox(m.message);
  }
  updateButtons();
}

/** The worker is gone: no run goes on. */
export function workerGone() {
  state.worker = null;
  state.run = null;
  state.queue = [];
  updateButtons();
}

function runOne() {
  state.queue = [];
  const content = (state.content?.sample || state.content?.name || "image").replace(/\.[^.]*$/, "").replace(/[^\w-]+/g, "_");
  startRun({ ...state.values }, { target: $("preview"), kind: "single", name: [content, currentPreset()].filter(Boolean).join("-") });
}

/** The settings picked for a comparison: preset names, and "current". */
export function compareChoices() {
  return [...document.querySelectorAll('input[name="compare"]:checked')].map((x) => x.value);
}

/** The compare checkboxes: one per preset (checked), and the current
 * settings; ?compare= picks others. */
export function buildComparePicks(want) {
  const f = presetsField();
  const names = [...(f ? S.choicesOf(f) : []), "current"];
  const box = $("compare-pick");
  box.replaceChildren();
  for (const name of names) {
    const label = document.createElement("label");
    label.className = "check";
    const x = document.createElement("input");
    x.type = "checkbox";
    x.name = "compare";
    x.value = name;
    x.checked = want ? want.includes(name) : name !== "current";
    x.addEventListener("change", () => {
      updateButtons();
      updateLink();
    });
    label.append(x, ` ${name === "current" ? "current settings" : name}`);
    box.append(label);
  }
}

function runCompare() {
  const grid = $("compare-grid");
  grid.replaceChildren();
  state.compared = true;
  state.queue = [];
  const layers = fieldOfKind("layer_weights");
  for (const name of compareChoices()) {
    const values = { ...state.values };
    if (name !== "current") values[layers.name] = S.formatLayerWeights(S.presetLayers(state.ready.presets[name], state.unavailable));
    const blocked = name === "current" ? "" : presetBlocked(name);
    const fig = document.createElement("figure");
    const c = document.createElement("canvas");
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", `Result with the ${name} settings`);
    const cap = document.createElement("figcaption");
    const b = document.createElement("b");
    b.textContent = name;
    const text = document.createElement("span");
    text.textContent = blocked ? `skipped: ${blocked}` : "waiting…";
    cap.append(b, document.createElement("br"), text);
    fig.append(c, cap);
    grid.append(fig);
    if (!blocked) state.queue.push({ values, name, target: c, figure: fig, caption: text });
  }
  updateLink();
  next();
}

/** Starts the next queued run (a comparison's, the explorer's), if any. */
function next() {
  const job = state.queue.shift();
  if (job) {
    job.figure.classList.add("active");
    startRun(job.values, { target: job.target, kind: job.kind || "compare", name: job.name, figure: job.figure, caption: job.caption, start: job.start, onDone: job.onDone });
  }
  updateButtons();
}

/** Runs jobs one after another, as a comparison does (explorer.js): each
 * {values, name, target (canvas), figure, caption (element or null), kind,
 * start (more fields of its start message), onDone(done message)}. */
export function enqueue(jobs) {
  state.queue.push(...jobs);
  if (!state.run) next();
}

function download() {
  const f = state.lastFrame;
  if (!f) return;
  f.canvas.toBlob((blob) => {
    if (!blob) return alertBox("This browser could not make a PNG of the image.");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `crema-${f.name}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }, "image/png");
}

/** Enables the buttons that can act now, and says why Run cannot (or what
 * Go's check of the settings found). */
export function updateButtons() {
  const running = !!state.run;
  let reason = "";
  if (!state.worker) reason = "The worker is not running (see the message above).";
  else if (!state.ready) reason = "Starting the worker…";
  else if (!state.weights && !state.weightsPartial) reason = "Waiting for the network weights…";
  else if (!state.content || !state.styles.length) reason = "Add a content and a style image.";
  const canRun = !reason && !running;
  $("run").disabled = !canRun;
  $("compare-run").disabled = !canRun || compareChoices().length === 0;
  $("pause").disabled = !running || !state.run.settings; // not while it waits for its layers
  $("stop").disabled = !running;
  const paused = running && state.run.paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
  $("pause").setAttribute("aria-pressed", String(paused));
  $("download").disabled = !state.lastFrame;
  if (!reason && state.values) {
    const problems = [...state.check.refused.map((r) => r.message), ...(state.check.error ? [state.check.error] : [])];
    if (problems.length) reason = `These settings will not run: ${problems.join("; ")}.`;
  }
  $("run-reason").textContent = running ? "" : reason;
  $("controls").setAttribute("aria-busy", String(running));
}

/** Wires Run, Pause, Stop, Compare and Download, and the question before
 * leaving during a run. */
export function wireRuns() {
  $("run").addEventListener("click", runOne);
  $("compare-run").addEventListener("click", runCompare);
  $("pause").addEventListener("click", () => send({ type: state.run?.paused ? "resume" : "pause" }));
  $("stop").addEventListener("click", () => {
    state.queue = [];
    send({ type: "stop" });
  });
  $("download").addEventListener("click", download);
  window.addEventListener("beforeunload", (e) => {
    if (state.run) {
      e.preventDefault();
      e.returnValue = "A style transfer is running; leaving the page stops it.";
    }
  });
}
