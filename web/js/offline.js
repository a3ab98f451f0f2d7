// offline.js: the service worker (web/sw.js) that keeps the app for
// offline use and fast repeat visits. A dist build (build.js: sw) registers
// it; the dev server's page registers none and removes what a dist served
// from the same origin left (its workers and caches), so `make run` always
// serves the current code. An opaque-origin page (a sandboxed iframe
// without allow-same-origin) has no service worker and downloads each
// visit.
//
// A new deploy installs its worker beside the one serving this page (which
// keeps serving this version, whole); the page then offers to reload into
// the new version, and reloads when the new worker has taken over.

import { build } from "./build.js";
import { notice } from "./alerts.js";
import { state } from "./state.js";

const CACHE_PREFIX = "crema-app-";
let reloading = false;

/** Registers the service worker of a dist build (or, in dev, removes a
 * dist's). Resolves to the registration, or null. */
export async function registerOffline() {
  let sw;
  try {
    sw = navigator.serviceWorker;
  } catch {
    return null; // an opaque origin may not even look
  }
  if (!sw) return null;
  if (!build.sw) {
    try {
      for (const r of await sw.getRegistrations()) await r.unregister();
      for (const k of await caches.keys()) if (k.startsWith(CACHE_PREFIX)) await caches.delete(k);
    } catch {
      // nothing to remove here
    }
    return null;
  }
  let reg;
  try {
    reg = await sw.register("sw.js");
  } catch (e) {
    console.log(`crema: no offline copy (the service worker did not register: ${e.message})`);
    return null;
  }
  sw.addEventListener("controllerchange", () => {
    if (reloading) location.reload();
  });
  const offer = (w) => {
    if (!sw.controller || !w) return; // a first visit: nothing older to replace
    state.update = w;
    const box = notice("A new version of crema is ready.", "update-notice");
    const b = document.createElement("button");
    b.type = "button";
    b.id = "update-reload";
    b.textContent = "Reload to update";
    b.addEventListener("click", () => applyUpdate(w));
    box.querySelector(".msg").append(" ", b);
  };
  const watch = (w) =>
    w?.addEventListener("statechange", () => {
      if (w.state === "installed") offer(w);
    });
  if (reg.waiting) offer(reg.waiting);
  watch(reg.installing); // an update found before this page asked
  reg.addEventListener("updatefound", () => watch(reg.installing));
  return reg;
}

/** Lets the waiting worker take over, then reloads into its version. */
export function applyUpdate(w) {
  if (state.run && !confirm("A style transfer is running; updating stops it. Update now?")) return;
  reloading = true;
  w.postMessage({ type: "skip-waiting" });
}
