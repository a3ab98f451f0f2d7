// backend.js: the compute backend — what the page asks the worker for, the
// badge that says which backend runs and why, and the choice remembered per
// device.
//
// "auto" (no ?backend=) makes the worker time one representative conv on
// WebGPU and on the CPU at start and keep the faster (kernels/backends,
// measure.go); the backend message's `choice` says what it measured. The
// page keeps that choice in localStorage, keyed by this device (the browser's
// user agent, its core count and the WebGPU adapter's vendor, architecture,
// device and description), and hands it back in the next visit's init
// (`remembered`), so that the worker opens that backend without measuring.
// The page keeps it, not the worker: a worker has no localStorage, and the
// page already knows what it asked for. ?backend=auto measures again (and
// remembers the new choice; the badge's "measure again" link opens that);
// ?backend=cpu|webgpu overrides the choice, and a fault
// (?backend=auto,fault=slow, a test hook) measures without remembering.
// Where storage is refused (an iframe sandboxed without allow-same-origin,
// or storage blocked) nothing is remembered and every visit measures.

import { $, state, params, backendParam, simdParam } from "./state.js";
import { notice } from "./alerts.js";

/** The localStorage item holding the remembered choices by device key. */
const STORE = "crema.backend-choice";
/** At most this many devices are remembered (the oldest is dropped). */
const KEEP = 8;

/** The page measures, and may remember, only for plain "auto": no
 * ?backend=, or exactly ?backend=auto. */
const measuring = backendParam === "auto";

let key = null;
/** This device's key (asked for once), or "" where there is nothing to key
 * (not "auto"). */
function deviceKey() {
  key ??= measuring ? keyOfDevice() : Promise.resolve("");
  return key;
}

/** A key for this device: the browser, its cores and the WebGPU adapter
 * the worker will get (the worker asks for the same default adapter). */
async function keyOfDevice() {
  let gpu = "no WebGPU";
  try {
    const adapter = await Promise.race([navigator.gpu?.requestAdapter(), new Promise((ok) => setTimeout(ok, 3000))]);
    if (adapter) {
      const info = adapter.info || (await adapter.requestAdapterInfo?.()) || {};
      gpu = [info.vendor, info.architecture, info.device, info.description].map((s) => s || "").join(" / ");
    }
  } catch {
    gpu = "WebGPU refused";
  }
  return [navigator.userAgent, `${navigator.hardwareConcurrency || "?"} cores`, gpu].join(" | ");
}

/** The remembered choices ({key: choice}), or null where the page may not
 * use localStorage (an opaque origin throws on access). */
function load() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || "{}") || {};
  } catch {
    return null;
  }
}

function save(all) {
  try {
    const keys = Object.keys(all).sort((a, b) => (all[b].at || 0) - (all[a].at || 0));
    for (const k of keys.slice(KEEP)) delete all[k];
    localStorage.setItem(STORE, JSON.stringify(all));
  } catch {
    // no storage here: nothing is remembered
  }
}

/** The init message's backend fields: ?backend= (default auto) and, with no
 * ?backend= at all, this device's remembered choice. */
export async function backendInit() {
  const msg = { backend: backendParam };
  if (measuring && !params.has("backend")) {
    const r = load()?.[await deviceKey()];
    if (r && typeof r.name === "string" && Array.isArray(r.times)) msg.remembered = { name: r.name, times: r.times };
  }
  return msg;
}

/** The worker's backend message: into state.backend and the badge; a new
 * measurement is remembered, a remembered choice that failed is forgotten. */
export async function showBackend(m) {
  state.backend = m;
  const badge = $("backend");
  const what =
    m.name === "webgpu"
      ? `Backend: WebGPU · ${m.describe.replace(/^WebGPU:\s*/i, "")}`
      : `Backend: CPU${m.fallback ? " (fallback)" : ""} · ${m.kernel || m.describe}`;
  badge.replaceChildren(what);
  badge.title = m.describe;
  if (m.choice) {
    const why = document.createElement("span");
    why.className = "why";
    why.textContent = ` — ${m.reason}`;
    badge.append(why);
    if (m.choice.remembered) {
      const again = document.createElement("a");
      const u = new URL(location.href);
      u.searchParams.set("backend", "auto");
      again.href = u.href;
      again.id = "measure-again";
      again.textContent = "measure again";
      badge.append(" (", again, ")");
    }
  }
  if (m.fallback) {
    notice(`WebGPU is not available here (${m.reason}), so crema runs on the CPU, which is much slower: keep the image size small (128 px or less).`, "fallback-notice");
  }
  if (!measuring) return;
  const k = await deviceKey();
  const all = load();
  if (!k || !all) return;
  if (m.choice && !m.choice.remembered && !m.fallback) {
    all[k] = { name: m.choice.name, times: m.choice.times, at: Date.now() };
    save(all);
  } else if (m.fallback && all[k]) {
    delete all[k]; // the remembered GPU failed: measure next time
    save(all);
  }
}

if (params.has("simd") && !simdParam) {
  notice(`Ignored simd=${params.get("simd")} from the link (want off or simd128).`, "simd-notice");
}
