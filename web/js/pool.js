// pool.js: the CPU backend's helper workers (kernels/pool; the worker's
// pool messages, wasm/PROTOCOL.md). The page asks for ?helpers=N in init
// (absent: the worker's default), shows how many run in the pool badge,
// and says so when a helper fails to start or stops: crema then carries on
// with the others (and, with none, on the worker alone).
//
// The page starts the helper workers when the worker asks (spawn), not the
// worker itself: each gets one end of a MessageChannel and the worker the
// other, and their traffic goes through it, never through the page. The
// page passes on what only it hears (a helper that cannot start, or whose
// program stopped) and terminates a helper when the worker says so.

import { $, state, params, helpersParam } from "./state.js";
import { notice } from "./alerts.js";
import { on, send, newWorker } from "./client.js";

/** The helper workers the page started, by the worker's id for each. */
const helpers = new Map();

on("spawn", async (m) => {
  const fail = (message) => send({ type: "helper_error", id: m.id, message });
  let w;
  try {
    w = await newWorker({ name: m.name });
  } catch (e) {
    return fail(`this browser could not start it: ${e.message}`);
  }
  helpers.set(m.id, w);
  // worker.js reports a program that could not start or stopped to its
  // parent, the page; an error event is a script that did not load.
  w.onmessage = (e) => e.data?.type === "error" && fail(e.data.message);
  w.onerror = (e) => {
    e.preventDefault();
    fail(e.message || "its worker failed");
  };
  const c = new MessageChannel();
  w.postMessage({ op: "port", port: c.port2 }, [c.port2]);
  send({ type: "helper", id: m.id, port: c.port1 }, [c.port1]);
});

on("helper_stop", (m) => {
  helpers.get(m.id)?.terminate();
  helpers.delete(m.id);
});

/** Terminates every helper (the worker is gone). */
export function stopHelpers() {
  for (const w of helpers.values()) w.terminate();
  helpers.clear();
}

/** init's fields for the pool: helpers and helper_fault, when the link has them. */
export function initPool() {
  const f = {};
  if (helpersParam !== null) f.helpers = helpersParam;
  if (params.get("helper_fault")) f.helper_fault = params.get("helper_fault");
  if (params.get("helper_main") === "0") f.helper_main = false;
  return f;
}

/** The badge's text for pool message m. */
export function poolText(m) {
  const n = m.running;
  const via = m.transport === "shared" ? "shared memory" : "transferred buffers";
  let s = `Helpers: ${n} worker${n === 1 ? "" : "s"}`;
  if (m.starting) s += ` (${m.starting} starting)`;
  if (n + m.starting < m.requested) s += ` of ${m.requested} asked for`;
  return `${s} · ${via}`;
}

let lost = 0;

on("pool", (m) => {
  state.pool = m;
  const badge = $("pool");
  badge.hidden = false;
  badge.textContent = poolText(m);
  if (m.lost > lost && m.reason) {
    lost = m.lost;
    const left = m.running === 0 ? "the worker alone" : `${m.running} helper${m.running === 1 ? "" : "s"}`;
    notice(`A helper worker is gone: ${m.reason}; crema continues with ${left}, a little slower.`, "pool-notice");
  }
});
