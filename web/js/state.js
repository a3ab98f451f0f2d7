// state.js: what every module of the page shares: its state (one object,
// which the browser tests read as window.crema.state), the URL it was
// opened with, and the one DOM helper.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** The URL's parameters, as the page was opened. */
export const params = new URLSearchParams(location.search);
/** ?embed=1: the compact layout for an iframe. */
export const embed = params.get("embed") === "1";
/** ?backend=: auto (the faster of WebGPU and the CPU, measured, or
 * remembered from an earlier measurement: backend.js), cpu or webgpu. */
export const backendParam = (params.get("backend") || "auto").toLowerCase();
/** ?simd=off|simd128: the CPU backend's WebAssembly SIMD kernels turned off
 * (off), or only the relaxed ones (simd128): CREMA_WASM_SIMD in the worker;
 * "" for the default (and for any other value, which backend.js names in a
 * notice). */
export const simdParam = ["off", "simd128"].includes(params.get("simd")) ? params.get("simd") : "";
/** ?helpers=N: the CPU backend's helper workers (absent: the worker's
 * default, one fewer than the cores, at most 4; 0: none); ?helper_fault=
 * exit@N: a test hook, the first helper stops at its N-th task (pool.js). */
export const helpersParam = params.has("helpers") ? Math.max(0, parseInt(params.get("helpers"), 10) || 0) : null;

export const state = {
  worker: null,
  trace: [], // the last 40 messages' types from the worker, with the page's clock: what a failing test prints
  ready: null, // the worker's ready message: schema, defaults, presets, weights_url
  weightsURL: "", // ?weights=, else the ready message's weights_url
  // The settings. values (setting name → text) is what the controls show,
  // the link carries and a run starts with; the page never parses it. Go
  // does: settings is its parse of values and check its verdict (refused
  // values, and why they would not run on the loaded weights), both from
  // the answer to the last settings message. While checking, a newer
  // values is on its way to Go and settings may lag behind it.
  values: null,
  settings: null,
  check: { refused: [], error: "" },
  memory: null, // the memory model's plan of the run (transfer.Plan; memory.js)
  checking: false,
  loaded: false, // the link's settings and the first images are in
  backend: null,
  pool: null, // the worker's latest pool message: its helper workers (pool.js)
  weights: null, // the worker's weights message (set once the settings are adapted to it)
  weightsPartial: null, // during a download: the worker's latest weights message (the layers in so far)
  update: null, // a new version's service worker, waiting (offline.js)
  unavailable: {}, // layer → why the weights cannot compute it
  content: null, // {name, width, height, pixels, sample}
  styles: [], // [{name, width, height, pixels, sample, blend}]
  imagesSent: false,
  run: null, // the run in progress: {id, kind, values, settings, target, name, figure, …}
  queue: [], // compare runs still to do
  compared: false, // a comparison was run (the link then says what it compared)
  lastFrame: null, // {canvas, name}
  nextID: 1,
  weightsAttempt: 0,
};
