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

/** Starts the worker. */
export async function startWorker() {
  let w;
  // ?simd= travels in the worker's URL (worker.js sets go.env from it).
  const query = simdParam ? `?simd=${simdParam}` : "";
  try {
    w = new Worker("worker.js" + query);
  } catch (e) {
    // A sandboxed iframe without allow-same-origin has an opaque origin and
    // may not start a worker from a URL: start it from a Blob instead.
    try {
      const base = new URL(".", location.href).href;
      const src = await (await fetch(new URL("worker.js", base))).text();
      const blob = new Blob([`self.CREMA_BASE=${JSON.stringify(base)};\nself.CREMA_SIMD=${JSON.stringify(simdParam)};\n`, src], { type: "text/javascript" });
      w = new Worker(URL.createObjectURL(blob));
    } catch (e2) {
      alertBox(`This browser could not start the page's worker: ${e.message}; ${e2.message}`);
      return;
    }
  }
  w.onmessage = (e) => handlers.get(e.data.type)?.(e.data);
  w.onerror = (e) => alertBox(`The worker failed: ${e.message || "unknown error"}`);
  state.worker = w;
}

/** Sends msg to the worker (copied, except the ArrayBuffers listed in
 * transfer, which move; see PROTOCOL.md). */
export function send(msg, transfer = []) {
  state.worker?.postMessage(msg, transfer);
}
