// sw.js: crema's service worker. It keeps the app (the page, its scripts
// and styles, worker.js, the wasm, wasm_exec.js and the samples) in a cache
// named after the build's version, so a second visit needs no network and
// works offline. The weights are not kept here: the page keeps each binary
// in its own cache once the worker has checked its SHA-256 (js/weights.js).
//
// `make dist` (tools/serve -dist) writes the two lines below: VERSION, a
// hash of the build's files, and FILES, the SHA-256 of each. In the tree
// (the dev server) VERSION is "dev": the page does not register this worker
// then, and if a dist on the same origin left one, this file replaces it,
// removes its caches and steps aside, so `make run` serves the current code.
//
// One version, never a mixture: a page is served by the worker that was
// active when it loaded, from that version's cache. A new deploy installs a
// new worker beside it, which fetches every file afresh and checks it
// against its SHA-256 (a host caught half-way through a deploy fails the
// install; the old version keeps being served, whole); it takes over when
// the page asks (the visitor presses Reload in the update notice) or when no
// page of the old version is open. A file missing from the cache (evicted,
// cleared) is fetched again only if the network's copy is this version's;
// otherwise the answer is a 503 that says to reload, never another
// version's wasm under this version's scripts.
"use strict";

const VERSION = "dev"; // make dist writes the build's version here
const FILES = {}; // make dist writes {path: {sha256: [hex, …], keep}} here

const PREFIX = "crema-app-";
const CACHE = PREFIX + VERSION;
const DEV = VERSION === "dev";

const TYPES = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8", json: "application/json", md: "text/markdown; charset=utf-8", jpg: "image/jpeg", png: "image/png", wasm: "application/wasm", gz: "application/gzip" };

/** The URL of a path of the site (relative to this worker's folder). */
const urlOf = (path) => new URL(path, self.registration.scope).href;

/** The files kept for offline use (the raw wasm is only checked when asked
 * for: the worker fetches crema.wasm.gz). */
const kept = () => Object.keys(FILES).filter((p) => FILES[p].keep);

self.addEventListener("install", (e) => {
  if (DEV) {
    self.skipWaiting();
    return;
  }
  e.waitUntil(fill());
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    (async () => {
      for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== CACHE) await caches.delete(k);
      if (DEV) {
        await self.clients.claim();
        await self.registration.unregister();
      }
    })(),
  );
});

self.addEventListener("message", (e) => {
  if (e.data?.type === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (e) => {
  if (DEV || e.request.method !== "GET") return;
  const url = new URL(e.request.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  let path = decodeURIComponent(url.pathname.slice(scope.pathname.length));
  if (path === "" || (e.request.mode === "navigate" && path === "index.html")) path = "./";
  else if (e.request.mode === "navigate") return; // another page of the site (samples/README.md)
  if (!FILES[path]) return; // not the app's: the weights, the .gz copies
  e.respondWith(serve(path));
});

/** Fetches every kept file into this version's cache, checking each against
 * its SHA-256; any mismatch fails the install. Files already there (from an
 * interrupted install) were checked when they were put. */
async function fill() {
  const cache = await caches.open(CACHE);
  await Promise.all(
    kept().map(async (path) => {
      if (await cache.match(urlOf(path))) return;
      const r = await checked(path);
      if (!r) throw new Error(`crema ${VERSION}: the site does not serve this version's ${path} (a deploy in progress?)`);
      await cache.put(urlOf(path), r);
    }),
  );
}

/** The network's copy of path as a Response to keep, or null when it is not
 * this version's. */
async function checked(path) {
  let r;
  try {
    r = await fetch(urlOf(path), { cache: "reload" });
  } catch {
    return null;
  }
  if (!r.ok) return null;
  const body = await r.arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (!FILES[path].sha256.includes(hex)) return null;
  const type = r.headers.get("Content-Type") || TYPES[path.split(".").pop()] || (path === "./" ? TYPES.html : "application/octet-stream");
  return new Response(body, { headers: { "Content-Type": type } });
}

/** Answers a request for one of the app's files: from this version's cache,
 * else from the network if it serves this version's copy, else a 503. */
async function serve(path) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(urlOf(path));
  if (hit) return hit;
  const r = await checked(path);
  if (r) {
    if (FILES[path].keep) await cache.put(urlOf(path), r.clone());
    return r;
  }
  self.registration.update().catch(() => {});
  return new Response(`crema was updated: this browser holds version ${VERSION}, whose ${path} is missing, and the site now serves another version. Reload the page to use the new one.`, {
    status: 503,
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Crema-Stale": VERSION },
  });
}
