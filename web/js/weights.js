// weights.js: getting the VGG-19 weights into the page. The manifest
// (vgg19.json) is fetched fresh each visit (it is small, and names the
// binary's SHA-256 and size); the binary comes from the Cache API when a
// copy with that SHA-256 is kept there, else it is downloaded with progress,
// and its bytes go to the worker as they arrive (weightspanel.js): crema's
// binaries are laid out in network order and each tensor has its own
// SHA-256, so the worker (weights.Stream, in Go) checks and uses each layer
// as soon as it is in. The worker checks the whole binary's size and
// SHA-256 at the end, and the page keeps the binary in the cache only after
// that check passed (keep), so a corrupted download is never kept.
//
// Why JS and not Go for the download: Go's net/http already uses fetch
// under GOOS=js, and github.com/syumai/tinyutil/httputil (a fetch-backed
// client made for TinyGo, whose net/http lacks one) adds nothing on top of
// it here; but neither gives the page download progress or the Cache API
// without going back through syscall/js, while fetch's ReadableStream and
// caches do both directly. So the page fetches and the worker only checks.
//
// The Cache API is missing or throws in some contexts (an opaque-origin
// sandboxed iframe, private modes): every use is wrapped, and the page then
// simply downloads each visit.

const CACHE = "crema-weights-v1";

/** An error the page shows with how to fix it. kind: "missing", "network",
 * "format". */
export class WeightsError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** Fetches and parses the manifest at url. */
export async function fetchManifest(url) {
  let r;
  try {
    r = await fetch(url, { cache: "no-cache" });
  } catch (e) {
    // Offline: the manifest kept on the last visit, if any.
    const cached = await cacheGet(url);
    if (cached) return parseManifest(await cached.text(), url);
    throw new WeightsError("network", `could not fetch the weights manifest ${url}: ${e.message}`);
  }
  if (r.status === 404) {
    // crema's dev server explains in plain text why it has no weights (the
    // download `make run` tried, and how to get them); other hosts get the
    // general advice.
    const why = r.headers.get("X-Crema-Missing-Weights") ? (await r.text().catch(() => "")).trim() : "";
    throw new WeightsError(
      "missing",
      why ||
        `no weights at ${url} (HTTP 404). In the crema folder, \`make run\` downloads them (or \`make weights\`), then reload; or give a weights URL with ?weights=…/vgg19.json`,
    );
  }
  if (!r.ok) throw new WeightsError("network", `could not fetch the weights manifest ${url}: HTTP ${r.status}`);
  const m = parseManifest(await r.text(), url);
  cachePut(url, new Response(m.text));
  return m;
}

function parseManifest(text, url) {
  let manifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new WeightsError("format", `${url} is not a weights manifest (not JSON)`);
  }
  if (manifest.format !== "crema-weights" || !manifest.binary || !/^[0-9a-f]{64}$/i.test(manifest.sha256 || "")) {
    throw new WeightsError("format", `${url} is not a crema weights manifest (format "${manifest.format}")`);
  }
  return { text, manifest, url };
}

/** The cache key of a binary: its URL and SHA-256, so new weights at the
 * same URL are never confused with the old. */
export function binaryKey(manifestURL, manifest) {
  const u = new URL(manifest.binary, new URL(manifestURL, location.href));
  u.searchParams.set("sha256", manifest.sha256);
  return u.href;
}

/** The page's weight packs: ?pack=NAME loads weights/pack-NAME/vgg19.json. */
export function packURL(name) {
  return /^[a-z0-9]+$/.test(name || "") ? `weights/pack-${name}/vgg19.json` : "";
}

/** The byte offsets at which a layer of the manifest is complete (its
 * tensors' last byte), ascending. */
export function layerEnds(manifest) {
  const end = new Map();
  for (const t of manifest.tensors || []) {
    const layer = t.name.split(".")[0];
    end.set(layer, Math.max(end.get(layer) || 0, t.offset + t.length));
  }
  return [...end.values()].sort((a, b) => a - b);
}

/** Returns {bytes (ArrayBuffer), cached} for the manifest's binary.
 * onProgress(received, total) is called while downloading, and
 * onData(buf, n) after each piece: buf (a Uint8Array) holds the n bytes
 * received so far (it may be replaced by a larger one as the download
 * grows past the size the manifest says). */
export async function fetchBinary(manifestURL, manifest, onProgress, onData) {
  const key = binaryKey(manifestURL, manifest);
  const hit = await cacheGet(key);
  if (hit) {
    // Read as a stream too: the first layers go to the worker before the
    // rest is read.
    const bytes = await readAll(hit, manifest.size, null, onData).catch(() => null);
    if (bytes?.byteLength === manifest.size) return { bytes, cached: true };
    await drop(manifestURL, manifest);
    throw new WeightsError("network", "the copy of the weights kept from the last visit could not be read; retry to download them again");
  }
  const url = new URL(manifest.binary, new URL(manifestURL, location.href)).href;
  let r;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new WeightsError("network", `the weights download (${url}) failed: ${e.message}`);
  }
  if (r.status === 404) throw new WeightsError("missing", `the manifest names ${manifest.binary}, but ${url} is missing (HTTP 404). Run \`make weights\` again`);
  if (!r.ok) throw new WeightsError("network", `the weights download (${url}) failed: HTTP ${r.status}`);
  const total = manifest.size || Number(r.headers.get("Content-Length")) || 0;
  const bytes = await readAll(r, total, onProgress, onData);
  return { bytes, cached: false };
}

/** Reads a response body with progress into one ArrayBuffer. */
async function readAll(r, total, onProgress, onData) {
  if (!r.body || !r.body.getReader) {
    const b = await r.arrayBuffer();
    onProgress?.(b.byteLength, total);
    onData?.(new Uint8Array(b), b.byteLength);
    return b;
  }
  const reader = r.body.getReader();
  let buf = new Uint8Array(total > 0 ? total : 1 << 20);
  let n = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new WeightsError("network", `the weights download broke off after ${n} bytes: ${e.message}`);
    }
    if (chunk.done) break;
    const v = chunk.value;
    if (n + v.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, n + v.length));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(v, n);
    n += v.length;
    onProgress?.(n, total);
    onData?.(buf, n);
  }
  return buf.buffer.byteLength === n ? buf.buffer : buf.slice(0, n).buffer;
}

/** Keeps a checked binary for the next visit. */
export async function keep(manifestURL, manifest, bytes) {
  await cachePut(binaryKey(manifestURL, manifest), new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
}

/** Forgets a kept binary (it failed its check). */
export async function drop(manifestURL, manifest) {
  try {
    const c = await caches.open(CACHE);
    await c.delete(binaryKey(manifestURL, manifest));
  } catch {
    // no cache here
  }
}

async function cacheGet(key) {
  try {
    const c = await caches.open(CACHE);
    return (await c.match(key)) || null;
  } catch {
    return null;
  }
}

async function cachePut(key, response) {
  try {
    const c = await caches.open(CACHE);
    await c.put(key, response);
    return true;
  } catch {
    return false;
  }
}
