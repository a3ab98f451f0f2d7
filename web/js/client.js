// client.js: the Go worker (web/worker.js running wasm/): starting it,
// sending it messages and handing each answer to the module that handles
// its type. The protocol is wasm/PROTOCOL.md.

import { state, simdParam } from "./state.js";
import { alertBox } from "./alerts.js";

const handlers = new Map();

/** Calls fn with every message of this type from the worker. */
export function on(type, fn) {
  handlers.set(type, fn);
}

/** A new Web Worker on web/worker.js with these options ({name}): the Go
 * worker, or one of its helpers (pool.js). ?simd= travels in the script's
 * URL (worker.js sets go.env from it). */
export async function newWorker(options = {}) {
  const query = simdParam ? `?simd=${simdParam}` : "";
  try {
    return new Worker("worker.js" + query, options);
  } catch (e) {
    // A sandboxed iframe without allow-same-origin has an opaque origin and
    // may not start a worker from a URL: start it from a Blob instead.
    try {
      blobURL ??= workerBlob();
      return new Worker(await blobURL, options);
    } catch (e2) {
      blobURL = null;
      throw new Error(`${e.message}; ${e2.message}`);
    }
  }
}

let blobURL = null;
/** A Blob URL of worker.js, told the page's folder and ?simd=. */
async function workerBlob() {
  const base = new URL(".", location.href).href;
  const src = await (await fetch(new URL("worker.js", base))).text();
  const blob = new Blob([`self.CREMA_BASE=${JSON.stringify(base)};\nself.CREMA_SIMD=${JSON.stringify(simdParam)};\n`, src], { type: "text/javascript" });
  return URL.createObjectURL(blob);
}

/** Starts the worker. */
export async function startWorker() {
  let w;
  try {
    w = await newWorker();
  } catch (e) {
    alertBox(`This browser could not start the page's worker: ${e.message}`);
    return;
  }
  w.onmessage = (e) => {
    state.trace.push(`${e.data.type} ${Math.round(performance.now())}ms`);
    if (state.trace.length > 40) state.trace.shift();
    handlers.get(e.data.type)?.(e.data);
  };
  w.onerror = (e) => alertBox(`The worker failed: ${e.message || "unknown error"}`);
  state.worker = w;
}

/** Sends msg to the worker (copied, except the ArrayBuffers listed in
 * transfer, which move; see PROTOCOL.md). */
export function send(msg, transfer = []) {
  state.worker?.postMessage(msg, transfer);
}
