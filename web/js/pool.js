// pool.js: the CPU backend's helper workers (kernels/pool; the worker's
// pool messages, wasm/PROTOCOL.md). The page asks for ?helpers=N in init
// (absent: the worker's default), shows how many run in the pool badge,
// and says so when a helper fails to start or stops: crema then carries on
// with the others (and, with none, on the worker alone).

import { $, state, params, helpersParam } from "./state.js";
import { notice } from "./alerts.js";
import { on } from "./client.js";

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
