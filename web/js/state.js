// state.js: what every module of the page shares: its state (one object,
// which the browser tests read as window.crema.state), the URL it was
// opened with, and the one DOM helper.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** The URL's parameters, as the page was opened. */
export const params = new URLSearchParams(location.search);
/** ?embed=1: the compact layout for an iframe. */
export const embed = params.get("embed") === "1";
/** ?backend=: auto (WebGPU, else the CPU), cpu or webgpu. */
export const backendParam = (params.get("backend") || "auto").toLowerCase();

export const state = {
  worker: null,
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
