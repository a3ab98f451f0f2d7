// app.js: crema's page. It starts the Go worker (worker.js + wasm/), fetches
// the weights (weights.js), turns the visitor's images into pixels
// (images.js), keeps the settings in the controls and the URL (settings.js),
// and shows runs: preview, progress, loss chart (chart.js), comparisons.
// The worker protocol is wasm/PROTOCOL.md.

import * as S from "./settings.js";
import { decodeImage, loadSample, drawPixels } from "./images.js";
import { fetchManifest, fetchBinary, keep, drop, WeightsError } from "./weights.js";
import { LossChart, fmt } from "./chart.js";

const $ = (id) => document.getElementById(id);

/** The example images (web/samples/, attribution in its README). */
const SAMPLES = {
  chelsea: { file: "chelsea.jpg", label: "Cat (Chelsea)" },
  astronaut: { file: "astronaut.jpg", label: "Astronaut" },
  rocket: { file: "rocket.jpg", label: "Rocket launch" },
  coffee: { file: "coffee.jpg", label: "Espresso crema" },
  hubble_deep_field: { file: "hubble_deep_field.jpg", label: "Hubble deep field" },
  brick: { file: "brick.jpg", label: "Bricks" },
};
const DEFAULT_CONTENT = "chelsea";
const DEFAULT_STYLES = ["coffee"];

const params = new URLSearchParams(location.search);
const embed = params.get("embed") === "1";
const backendParam = (params.get("backend") || "auto").toLowerCase();
const weightsURL = params.get("weights") || "weights/pack-f16/vgg19.json";

const state = {
  worker: null,
  ready: null, // the worker's ready message: defaults, presets, choices
  settings: null,
  backend: null,
  weights: null, // the worker's weights message
  unavailable: {}, // layer → reason
  content: null, // {name, width, height, pixels, sample}
  styles: [], // [{name, width, height, pixels, sample, blend}]
  imagesSent: false,
  run: null, // the run in progress
  queue: [], // compare runs still to do
  lastFrame: null, // {canvas, name}
  nextID: 1,
  weightsAttempt: 0,
};
const chart = new LossChart($("chart"), $("legend"));
// For the browser tests and the curious: read-only views of the state.
window.crema = { state, chart };

// ---- messages to the visitor -------------------------------------------

function alertBox(message, { detail = "", retry = null, id = "" } = {}) {
  if (id) document.getElementById(id)?.remove();
  const box = document.createElement("div");
  box.className = "alert";
  if (id) box.id = id;
  const msg = document.createElement("div");
  msg.className = "msg";
  msg.textContent = message;
  if (detail) {
    const pre = document.createElement("pre");
    pre.textContent = detail;
    msg.append(pre);
  }
  box.append(msg);
  if (retry) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = retry.label;
    b.addEventListener("click", () => {
      box.remove();
      retry.action();
    });
    box.append(b);
  }
  box.append(dismissButton(box));
  $("alerts").append(box);
  return box;
}

function notice(message, id = "") {
  if (id) document.getElementById(id)?.remove();
  const box = document.createElement("div");
  box.className = "notice";
  if (id) box.id = id;
  const msg = document.createElement("div");
  msg.className = "msg";
  msg.textContent = message;
  box.append(msg, dismissButton(box));
  $("notices").append(box);
  return box;
}

function dismissButton(box) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "dismiss";
  b.setAttribute("aria-label", "Dismiss");
  b.textContent = "×";
  b.addEventListener("click", () => box.remove());
  return b;
}

function setStatus(text) {
  $("status").textContent = text;
}

// ---- the worker ----------------------------------------------------------

async function startWorker() {
  let w;
  try {
    w = new Worker("worker.js");
  } catch (e) {
    // A sandboxed iframe without allow-same-origin has an opaque origin and
    // may not start a worker from a URL: start it from a Blob instead.
    try {
      const base = new URL(".", location.href).href;
      const src = await (await fetch(new URL("worker.js", base))).text();
      const blob = new Blob([`self.CREMA_BASE=${JSON.stringify(base)};\n`, src], { type: "text/javascript" });
      w = new Worker(URL.createObjectURL(blob));
    } catch (e2) {
      alertBox(`This browser could not start the page's worker: ${e.message}; ${e2.message}`);
      return;
    }
  }
  w.onmessage = (e) => onMessage(e.data);
  w.onerror = (e) => alertBox(`The worker failed: ${e.message || "unknown error"}`);
  state.worker = w;
}

function send(msg) {
  state.worker.postMessage(msg);
}

function onMessage(m) {
  switch (m.type) {
    case "ready":
      return onReady(m);
    case "backend":
      return onBackend(m);
    case "weights":
      return onWeights(m);
    case "images":
      state.imagesSent = true;
      return;
    case "started":
      if (state.run && state.run.id === m.id) state.run.settings = m.settings;
      return;
    case "progress":
      return onProgress(m);
    case "preview":
      return onFrame(m, false);
    case "done":
      return onFrame(m, true);
    case "paused":
    case "resumed":
      if (state.run) state.run.paused = m.type === "paused";
      setStatus(m.type === "paused" ? "Paused." : "Running…");
      return updateButtons();
    case "settings":
      return;
    case "error":
      return onError(m);
  }
}

function onReady(m) {
  state.ready = m;
  const { settings, errors } = S.settingsFromParams(params, m.defaults);
  state.settings = settings;
  // A hand-written ?preset=late (without style_layers) picks the preset.
  const preset = params.get("preset");
  if (preset && !params.has("style_layers")) {
    if (m.presets[preset]) state.settings = S.withPreset(settings, m.presets[preset]);
    else errors.push(`preset=${preset} is not one of ${Object.keys(m.presets).join(", ")}`);
  }
  for (const e of errors) notice(`Ignored a setting from the link: ${e}.`);
  buildControls();
  applyBlendFromSettings();
  renderControls();
  send({ type: "init", backend: backendParam });
  loadWeights();
  updateButtons();
}

function onBackend(m) {
  state.backend = m;
  const badge = $("backend");
  if (m.name === "webgpu") {
    badge.textContent = `Backend: WebGPU · ${m.describe.replace(/^WebGPU:\s*/i, "")}`;
  } else {
    badge.textContent = `Backend: CPU${m.fallback ? " (fallback)" : ""} · ${m.describe}`;
  }
  if (m.fallback) {
    notice(`WebGPU is not available here (${m.reason}), so crema runs on the CPU, which is much slower: keep the image size small (128 px or less).`, "fallback-notice");
  }
}

// ---- weights ----------------------------------------------------------------

let pendingWeights = null; // {manifest, bytes, cached} awaiting the worker's check

async function loadWeights() {
  const label = $("weights-label");
  const bar = $("weights-progress");
  const panel = $("weights-panel");
  $("weights-retry").hidden = true;
  panel.classList.remove("done");
  label.textContent = "Network weights: fetching the manifest…";
  bar.removeAttribute("value");
  state.weightsAttempt++;
  try {
    const m = await fetchManifest(weightsURL);
    const mb = (m.manifest.size / 1e6).toFixed(1);
    label.textContent = `Network weights: downloading ${mb} MB…`;
    const bin = await fetchBinary(weightsURL, m.manifest, (got, total) => {
      bar.max = total || got;
      bar.value = got;
      label.textContent = `Network weights: ${(got / 1e6).toFixed(1)} of ${mb} MB`;
    });
    label.textContent = bin.cached ? "Network weights: checking the copy kept from the last visit…" : "Network weights: checking the SHA-256…";
    bar.removeAttribute("value");
    pendingWeights = { manifest: m.manifest, bytes: bin.bytes, cached: bin.cached };
    // Copied, not transferred: the page keeps the bytes to cache them once
    // the worker has checked them.
    send({ type: "weights", manifest: m.text, binary: bin.bytes });
  } catch (e) {
    weightsFailed(e instanceof WeightsError ? e.message : `weights: ${e.message}`, e.kind !== "missing");
  }
}

function weightsFailed(message, canRetry) {
  const label = $("weights-label");
  label.textContent = "Network weights: not loaded.";
  $("weights-progress").value = 0;
  const retry = $("weights-retry");
  retry.hidden = false;
  alertBox(message, { id: "weights-alert", retry: canRetry ? { label: "Retry", action: loadWeights } : null });
  updateButtons();
}

async function onWeights(m) {
  state.weights = m;
  state.unavailable = m.unavailable || {};
  const p = pendingWeights;
  pendingWeights = null;
  if (p && !p.cached) keep(weightsURL, p.manifest, p.bytes).catch(() => {});
  $("weights-panel").classList.add("done");
  $("weights-label").textContent = `Network weights: ${m.layers.length} layers (${m.layers[0]} … ${m.layers[m.layers.length - 1]})${p && p.cached ? ", from this browser's cache" : ""}.`;
  $("weights-retry").hidden = true;
  document.getElementById("weights-alert")?.remove();
  $("weights-credit").textContent = m.source ? `Network weights: ${m.source}. ${(m.license || "").split("\n")[0]}` : "";
  $("weights-license-text").textContent = m.license || "";
  $("weights-license").hidden = !m.license;
  adaptToWeights();
  renderControls();
  updateButtons();
}

/** Moves settings off layers the weights lack, saying so. */
function adaptToWeights() {
  const s = state.settings;
  const un = state.unavailable;
  const dropped = (s.style_layers || []).filter((l) => l.weight > 0 && un[l.layer]).map((l) => l.layer);
  if (dropped.length) {
    for (const l of dropped) S.setLayerWeight(s, l, 0);
    notice(`The loaded weights hold ${state.weights.layers[0]} … ${state.weights.layers.at(-1)} only, so style layers ${dropped.join(", ")} are off (\`make weights\` gets the full VGG-19).`, "layers-notice");
  }
  const badContent = (s.content_layers || []).filter((l) => un[l]);
  if (badContent.length) {
    const avail = state.ready.content_layers.filter((l) => !un[l]);
    // The deepest available layer of the same rank (conv4_2 → conv3_2), else the deepest.
    const want = badContent[0].replace(/^conv\d/, "conv3");
    const pick = avail.includes(want) ? want : avail[avail.length - 1];
    s.content_layers = [pick];
    notice(`Content layer ${badContent.join(", ")} is not in the loaded weights: using ${pick}.`, "content-notice");
  }
  if (!(s.style_layers || []).some((l) => l.weight > 0)) {
    const first = state.ready.style_layers.find((l) => !un[l]);
    if (first) S.setLayerWeight(s, first, 1);
  }
}

// ---- controls ----------------------------------------------------------------

const scalarInputs = ["content_weight", "style_weight", "tv_weight", "image_size", "num_iterations", "learning_rate", "style_scale", "seed", "preview_every"];
const selectInputs = { style_stat: "style_stats", style_cost: "style_costs", optimizer: "optimizers", init: "inits", pooling: "poolings" };

function buildControls() {
  const r = state.ready;
  for (const [id, list] of Object.entries(selectInputs)) {
    $(id).replaceChildren(...r[list].map((v) => new Option(v, v)));
  }
  $("content_layers").replaceChildren(...r.content_layers.map((v) => new Option(v, v)));
  const box = $("layer-sliders");
  box.replaceChildren();
  const maxW = Math.max(1, ...Object.values(r.presets).flatMap((p) => p.map((l) => l.weight)));
  for (const layer of r.style_layers) {
    const row = document.createElement("div");
    row.className = "layer";
    row.dataset.layer = layer;
    const id = `layer-${layer}`;
    row.innerHTML = `<label for="${id}">${layer}</label><input type="range" id="${id}" min="0" max="${maxW}" step="0.05" aria-describedby="${id}-reason"><output for="${id}"></output><p class="reason" id="${id}-reason"></p>`;
    row.querySelector(".reason").style.gridColumn = "1 / -1";
    box.append(row);
    const input = row.querySelector("input");
    input.addEventListener("input", () => {
      S.setLayerWeight(state.settings, layer, Number(input.value));
      row.querySelector("output").textContent = Number(input.value).toFixed(2);
      settingsChanged();
    });
  }
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.addEventListener("click", () => {
      const p = r.presets[b.dataset.preset];
      state.settings = S.withPreset(state.settings, p, state.unavailable);
      renderControls();
      settingsChanged();
    });
  }
  for (const id of scalarInputs) {
    $(id).addEventListener("change", () => {
      const el = $(id);
      const n = Number(el.value);
      if (el.value === "" || !Number.isFinite(n)) {
        el.value = state.settings[id];
        return;
      }
      state.settings[id] = S.SCALARS[id] === "int" ? Math.round(n) : n;
      settingsChanged();
    });
  }
  for (const id of Object.keys(selectInputs)) {
    $(id).addEventListener("change", () => {
      state.settings[id] = $(id).value;
      settingsChanged();
    });
  }
  $("content_layers").addEventListener("change", () => {
    state.settings.content_layers = [$("content_layers").value];
    settingsChanged();
  });
  $("original_colors").addEventListener("change", () => {
    state.settings.original_colors = $("original_colors").checked;
    settingsChanged();
  });
}

/** Writes the settings into the controls, and disables what the weights lack. */
function renderControls() {
  const s = state.settings;
  const un = state.unavailable;
  for (const id of scalarInputs) $(id).value = s[id];
  for (const id of Object.keys(selectInputs)) $(id).value = s[id];
  $("original_colors").checked = !!s.original_colors;
  for (const row of document.querySelectorAll(".layer")) {
    const layer = row.dataset.layer;
    const input = row.querySelector("input");
    const w = S.layerWeight(s, layer);
    input.value = w;
    row.querySelector("output").textContent = w.toFixed(2);
    input.disabled = !!un[layer];
    row.classList.toggle("off", !!un[layer]);
    row.querySelector(".reason").textContent = un[layer] || "";
  }
  const sel = $("content_layers");
  let reason = "";
  for (const o of sel.options) {
    o.disabled = !!un[o.value];
    o.textContent = un[o.value] ? `${o.value} (not in the weights)` : o.value;
    if (un[o.value] && !reason) reason = `Layers from ${o.value} on are disabled: ${un[o.value]}.`;
  }
  sel.value = (s.content_layers || [])[0] || "";
  $("content-layer-reason").textContent = reason;
  const preset = state.ready ? S.presetName(s, state.ready.presets, un) : "";
  const blocked = [];
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.setAttribute("aria-pressed", String(b.dataset.preset === preset));
    const why = presetBlocked(b.dataset.preset);
    b.disabled = !!why;
    if (why) blocked.push(why);
  }
  $("preset-reason").textContent = blocked.join(" ");
  renderStyles();
  updateLink();
}

/** Why a preset cannot run on the loaded weights ("" if it can). */
function presetBlocked(name) {
  const p = state.ready?.presets[name];
  if (!p || !state.weights) return "";
  const used = p.filter((l) => l.weight > 0);
  if (used.some((l) => !state.unavailable[l.layer])) return "";
  return `The ${name} preset uses ${used.map((l) => l.layer).join(" and ")}, which the loaded weights lack.`;
}

function settingsChanged() {
  const preset = S.presetName(state.settings, state.ready.presets, state.unavailable);
  for (const b of document.querySelectorAll("[data-preset]")) b.setAttribute("aria-pressed", String(b.dataset.preset === preset));
  updateLink();
}

// ---- the URL, the link and the embed snippet -----------------------------------

function currentQuery(extra = {}) {
  const p = new URLSearchParams();
  if (embed) p.set("embed", "1");
  if (backendParam !== "auto") p.set("backend", backendParam);
  if (params.has("weights")) p.set("weights", weightsURL);
  if (state.content && state.content.sample) p.set("content", state.content.sample);
  if (state.styles.length && state.styles.every((x) => x.sample)) p.set("style", state.styles.map((x) => x.sample).join(","));
  const picked = compareChoices();
  if (params.has("compare") || state.compared) p.set("compare", picked.join(","));
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  S.settingsToParams(state.settings, p);
  return S.queryText(p);
}

function updateLink() {
  if (!state.settings) return;
  const q = currentQuery();
  try {
    history.replaceState(null, "", `?${q}`);
  } catch {
    // some sandboxes forbid it: the link field still has the URL
  }
  const base = location.href.split(/[?#]/)[0];
  $("link").value = `${base}?${q}`;
  const src = `${base}?${currentQuery({ embed: "1" })}`;
  $("embed-code").value =
    `<iframe src="${src.replace(/&/g, "&amp;")}" title="crema: neural style transfer" width="100%" height="640" loading="lazy" ` +
    `sandbox="allow-scripts allow-same-origin allow-downloads" style="border:0"></iframe>`;
  $("full-link").href = `${base}?${currentQuery()}`.replace("embed=1&", "");
}

async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // Clipboard API refused (e.g. in a sandbox): select the text instead.
  }
  const old = button.textContent;
  button.textContent = ok ? "Copied" : "Press Ctrl/⌘ C to copy";
  setTimeout(() => (button.textContent = old), 2000);
}

// ---- images ------------------------------------------------------------------

async function setContent(promise) {
  try {
    const img = await promise;
    state.content = img;
    state.imagesSent = false;
    drawPixels($("content-thumb"), img);
    $("content-thumb").setAttribute("aria-label", `Content image: ${img.name}, ${img.width}×${img.height}`);
    $("content-sample").value = img.sample || "";
    if (img.notice) notice(img.notice);
    updateLink();
  } catch (e) {
    alertBox(e.message);
  }
  updateButtons();
}

async function addStyle(promise, replaceDefault = false) {
  try {
    const img = await promise;
    img.blend = 1;
    if (replaceDefault) state.styles = [];
    state.styles.push(img);
    state.imagesSent = false;
    if (img.notice) notice(img.notice);
    renderStyles();
    updateLink();
  } catch (e) {
    alertBox(e.message);
  }
  updateButtons();
}

function renderStyles() {
  const ul = $("styles");
  ul.replaceChildren();
  state.styles.forEach((img, i) => {
    const li = document.createElement("li");
    const c = document.createElement("canvas");
    drawPixels(c, img);
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", `Style image ${i + 1}: ${img.name}`);
    const lab = document.createElement("label");
    const id = `blend-${i}`;
    lab.htmlFor = id;
    lab.textContent = `${img.name} · blend ${img.blend.toFixed(2)}`;
    const range = document.createElement("input");
    range.type = "range";
    range.id = id;
    range.min = "0";
    range.max = "1";
    range.step = "0.05";
    range.value = String(img.blend);
    range.disabled = state.styles.length < 2;
    range.addEventListener("input", () => {
      img.blend = Number(range.value);
      lab.textContent = `${img.name} · blend ${img.blend.toFixed(2)}`;
      syncBlend();
      updateLink();
    });
    const wrap = document.createElement("div");
    wrap.append(lab, range);
    const rm = document.createElement("button");
    rm.type = "button";
    rm.className = "remove";
    rm.textContent = "Remove";
    rm.setAttribute("aria-label", `Remove style image ${img.name}`);
    rm.disabled = state.styles.length < 2;
    rm.addEventListener("click", () => {
      state.styles.splice(i, 1);
      state.imagesSent = false;
      renderStyles();
      updateLink();
    });
    li.append(c, wrap, rm);
    ul.append(li);
  });
  syncBlend();
}

/** The blend weights go into the settings, one per style image. */
function syncBlend() {
  if (!state.settings) return;
  const w = state.styles.map((x) => x.blend);
  state.settings.style_blend_weights = w.length > 1 ? w : null;
}

function sampleOptions(select, placeholder) {
  select.replaceChildren(new Option(placeholder, ""), ...Object.entries(SAMPLES).map(([k, v]) => new Option(v.label, k)));
}

function sample(name) {
  return loadSample(`samples/${SAMPLES[name].file}`, SAMPLES[name].label).then((img) => Object.assign(img, { sample: name }));
}

function wireImageInputs() {
  sampleOptions($("content-sample"), "(your own image)");
  sampleOptions($("style-sample"), "Choose an example…");
  $("content-sample").addEventListener("change", (e) => e.target.value && setContent(sample(e.target.value)));
  $("style-sample").addEventListener("change", (e) => {
    if (e.target.value) addStyle(sample(e.target.value));
    e.target.value = "";
  });
  $("content-file").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (f) setContent(decodeImage(f));
    e.target.value = "";
  });
  $("style-file").addEventListener("change", (e) => {
    for (const f of e.target.files) addStyle(decodeImage(f));
    e.target.value = "";
  });
  for (const [zone, isContent] of [[$("content-drop"), true], [$("style-drop"), false]]) {
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const files = [...(e.dataTransfer?.files || [])];
      if (!files.length) return alertBox("Nothing to use in that drop: drop an image file.");
      if (isContent) setContent(decodeImage(files[0]));
      else files.forEach((f) => addStyle(decodeImage(f)));
    });
  }
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return; // ordinary text paste
    e.preventDefault();
    const toStyle = document.activeElement && ($("style-drop").contains(document.activeElement) || $("styles").contains(document.activeElement));
    if (toStyle) addStyle(decodeImage(files[0], "pasted image"));
    else setContent(decodeImage(files[0], "pasted image"));
  });
  // Keep files dropped outside the zones from navigating away.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}

async function loadInitialImages() {
  const c = params.get("content") || DEFAULT_CONTENT;
  const styleNames = (params.get("style") || DEFAULT_STYLES.join(",")).split(",").filter((n) => SAMPLES[n]);
  await setContent(SAMPLES[c] ? sample(c) : sample(DEFAULT_CONTENT));
  for (const n of styleNames.length ? styleNames : DEFAULT_STYLES) await addStyle(sample(n));
  applyBlendFromSettings();
}

/** Blend weights from the link go to the style images once both the
 * settings and the images are there; then the settings follow the images. */
function applyBlendFromSettings() {
  if (!state.settings) return;
  const bw = state.settings.style_blend_weights;
  if (bw && bw.length === state.styles.length) state.styles.forEach((x, i) => (x.blend = bw[i]));
  renderStyles();
  updateLink();
}

// ---- runs ----------------------------------------------------------------------

function ensureImagesSent() {
  if (state.imagesSent) return;
  const pack = (x) => ({ width: x.width, height: x.height, pixels: x.pixels.slice().buffer });
  send({ type: "images", content: pack(state.content), styles: state.styles.map(pack) });
  state.imagesSent = true; // the worker handles messages in order
}

/** Starts one run. target: the canvas frames go to; name: for the file. */
function startRun(settings, { target, kind, name, figure = null }) {
  ensureImagesSent();
  const id = state.nextID++;
  state.run = { id, kind, settings, target, name, figure, paused: false, t0: performance.now(), samples: [], lastIter: 0 };
  chart.reset();
  chart.maxIter = settings.num_iterations;
  $("run-progress").max = settings.num_iterations;
  $("run-progress").value = 0;
  setStatus(`Starting${kind === "compare" ? ` ${name}` : ""}…`);
  send({ type: "start", id, settings });
  updateButtons();
}

function onProgress(m) {
  const r = state.run;
  if (!r || r.id !== m.id) return;
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
  const what = r.kind === "compare" ? `${r.name}: ` : "";
  setStatus(`${what}iteration ${p.iter} of ${n} · ${rate ? rate.toFixed(rate < 1 ? 2 : 1) : "–"} it/s · ETA ${Number.isFinite(eta) ? duration(eta) : "–"} · loss ${fmt(p.total)}${p.note ? ` · ${p.note}` : ""}`);
}

function duration(sec) {
  if (sec < 60) return `${Math.ceil(sec)} s`;
  const m = Math.floor(sec / 60);
  return `${m} min ${Math.round(sec - 60 * m)} s`;
}

function onFrame(m, done) {
  const r = state.run;
  if (!r || r.id !== m.id) return;
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
  const what = r.kind === "compare" ? `${r.name}: ` : "";
  setStatus(`${what}${m.stopped ? "stopped" : "done"} after ${m.iter} iterations in ${duration(secs)}.`);
  if (r.figure) r.figure.classList.remove("active");
  state.run = null;
  if (m.stopped) state.queue = [];
  next();
}

function onError(m) {
  const stage = m.stage || "";
  if (stage === "weights") {
    const p = pendingWeights;
    pendingWeights = null;
    if (p && p.cached && state.weightsAttempt < 3) {
      // The kept copy is bad: forget it and download afresh.
      drop(weightsURL, p.manifest).then(loadWeights);
      return;
    }
    return weightsFailed(`The weights failed their check: ${m.message}`, true);
  }
  if (stage === "build") {
    alertBox("The worker's Go code does not build (the dev server's compiler output):", { detail: m.message.replace(/^[^\n]*\n/, "") });
    setStatus("Fix the build and reload.");
    return;
  }
  if (stage === "boot" || stage === "exit") {
    alertBox(`The worker stopped: ${m.message.split("\n")[0]}`, { detail: m.message.split("\n").slice(1).join("\n") });
    state.worker = null;
    state.run = null;
    return updateButtons();
  }
  if (stage === "pause" || stage === "resume" || stage === "stop") return; // raced with the end of a run
  const r = state.run;
  if (r && (m.id === r.id || stage === "run" || stage === "start")) {
    state.run = null;
    state.queue = [];
    if (r.figure) r.figure.classList.remove("active");
    const keepNote = state.lastFrame ? " The last preview is kept: you can still download it." : "";
    alertBox(`The run failed: ${m.message}.${keepNote}`);
    setStatus("Failed.");
  } else {
    alertBox(m.message);
  }
  updateButtons();
}

function runOne() {
  state.queue = [];
  const s = S.clone(state.settings);
  const preset = S.presetName(s, state.ready.presets, state.unavailable);
  const content = (state.content?.sample || state.content?.name || "image").replace(/\.[^.]*$/, "").replace(/[^\w-]+/g, "_");
  startRun(s, { target: $("preview"), kind: "single", name: [content, preset].filter(Boolean).join("-") });
}

function compareChoices() {
  return [...document.querySelectorAll('input[name="compare"]:checked')].map((x) => x.value);
}

function runCompare() {
  const grid = $("compare-grid");
  grid.replaceChildren();
  state.compared = true;
  state.queue = [];
  for (const name of compareChoices()) {
    const s = name === "current" ? S.clone(state.settings) : S.withPreset(state.settings, state.ready.presets[name], state.unavailable);
    const blocked = name === "current" ? "" : presetBlocked(name);
    const fig = document.createElement("figure");
    const c = document.createElement("canvas");
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", `Result with the ${name} settings`);
    const cap = document.createElement("figcaption");
    const b = document.createElement("b");
    b.textContent = name;
    cap.append(b, document.createElement("br"), blocked ? `skipped: ${blocked}` : S.caption(s));
    fig.append(c, cap);
    grid.append(fig);
    if (!blocked) state.queue.push({ settings: s, name, target: c, figure: fig });
  }
  updateLink();
  next();
}

/** Starts the next queued comparison run, if any. */
function next() {
  const job = state.queue.shift();
  if (job) {
    job.figure.classList.add("active");
    startRun(job.settings, { target: job.target, kind: "compare", name: job.name, figure: job.figure });
  }
  updateButtons();
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

function updateButtons() {
  const running = !!state.run;
  let reason = "";
  if (!state.worker) reason = "The worker is not running (see the message above).";
  else if (!state.ready) reason = "Starting the worker…";
  else if (!state.weights) reason = "Waiting for the network weights…";
  else if (!state.content || !state.styles.length) reason = "Add a content and a style image.";
  const canRun = !reason && !running;
  $("run").disabled = !canRun;
  $("compare-run").disabled = !canRun || compareChoices().length === 0;
  $("pause").disabled = !running;
  $("stop").disabled = !running;
  const paused = running && state.run.paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
  $("pause").setAttribute("aria-pressed", String(paused));
  $("download").disabled = !state.lastFrame;
  $("run-reason").textContent = running ? "" : reason;
  $("controls").setAttribute("aria-busy", String(running));
}

// ---- start -----------------------------------------------------------------------

function wire() {
  $("controls").addEventListener("submit", (e) => e.preventDefault());
  $("run").addEventListener("click", runOne);
  $("compare-run").addEventListener("click", runCompare);
  $("pause").addEventListener("click", () => send({ type: state.run?.paused ? "resume" : "pause" }));
  $("stop").addEventListener("click", () => {
    state.queue = [];
    send({ type: "stop" });
  });
  $("download").addEventListener("click", download);
  $("weights-retry").addEventListener("click", () => {
    document.getElementById("weights-alert")?.remove();
    loadWeights();
  });
  $("copy-link").addEventListener("click", (e) => {
    $("link").select();
    copyText($("link").value, e.target);
  });
  $("copy-embed").addEventListener("click", (e) => {
    $("embed-code").select();
    copyText($("embed-code").value, e.target);
  });
  for (const x of document.querySelectorAll('input[name="compare"]')) {
    x.addEventListener("change", () => {
      updateButtons();
      updateLink();
    });
  }
  if (params.has("compare")) {
    const want = params.get("compare").split(",");
    for (const x of document.querySelectorAll('input[name="compare"]')) x.checked = want.includes(x.value);
  }
  window.addEventListener("beforeunload", (e) => {
    if (state.run) {
      e.preventDefault();
      e.returnValue = "A style transfer is running; leaving the page stops it.";
    }
  });
  wireImageInputs();
}

if (embed) {
  document.body.classList.add("embed");
  $("more").open = false;
}
wire();
startWorker();
loadInitialImages().then(updateButtons);
updateButtons();
