// Browser tests of the hosted page: `make dist`'s site (tools/serve -dist,
// both weight packs) served by a plain static file server (here a few lines
// of Node: files and a Content-Type, nothing else) from a sub-path, /crema/,
// as GitHub Pages serves https://user.github.io/crema/. Headless Chromium
// (playwright-core), the CPU backend, tiny runs. The weights are those of the
// page tests (harness.mjs: the real conv1_1 … conv3_4 from ../shared, else
// synthetic ones of the same layers), as both packs, float16 and 8-bit.
//
// The server counts every request and can hold the weights' binary after
// some bytes until a test releases it (a slow network, exactly), so the
// tests see what reached the network and when.
//
//   node --test web/test/hosted.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { gunzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { launchOptions } from "../../tools/chromium.mjs";
import * as H from "./harness.mjs";

const BASE = "/crema/";
const SMALL = "backend=cpu&image_size=32&num_iterations=2&preview_every=1";
// A run that needs only the first layers: style conv1_1 and conv2_1,
// content conv1_2.
const EARLY = `${SMALL}&style_layers=conv1_1:0.8,conv2_1:0.2,conv3_1:0,conv4_1:0,conv5_1:0&content_layers=conv1_2`;

let tmp, weights, serveBin, browser, site, host;
let v1, v2; // the two builds: {dir, version}
const everyRequest = []; // [context label, url] of every request of every page

/** A plain static server: dir's files under BASE, Content-Type by
 * extension, 404 otherwise. site.root switches the folder (a deploy);
 * site.hold = {match, after} sends a matching file's first `after` bytes and
 * the rest only when site.release() is called; site.cors adds
 * Access-Control-Allow-Origin: * (as GitHub Pages does); site.down drops
 * every connection (the network is cut). */
function staticServer() {
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css", ".json": "application/json", ".jpg": "image/jpeg", ".md": "text/markdown", ".wasm": "application/wasm", ".gz": "application/gzip", ".bin": "application/octet-stream" };
  const s = { root: "", log: [], hold: null, sent: new Map(), releases: [] };
  s.release = () => {
    s.hold = null;
    for (const r of s.releases.splice(0)) r();
  };
  s.server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    s.log.push(path);
    if (s.down) return req.socket.destroy(); // the network is cut
    if (!path.startsWith(BASE)) return res.writeHead(404).end();
    let rel = normalize(path.slice(BASE.length)).replace(/^(\.\.[/\\])+/, "");
    if (rel === "" || rel === "." || rel.endsWith("/")) rel = join(rel, "index.html");
    const file = join(s.root, rel);
    if (!existsSync(file) || statSync(file).isDirectory()) return res.writeHead(404).end();
    const body = readFileSync(file);
    const headers = { "Content-Type": types[extname(file)] || "application/octet-stream", "Content-Length": body.length };
    // What GitHub Pages adds, and what a page in an opaque-origin sandbox
    // (sandbox="allow-scripts" alone) needs to load its own files.
    if (s.cors) headers["Access-Control-Allow-Origin"] = "*";
    res.writeHead(200, headers);
    const hold = s.hold && s.hold.match.test(path) ? s.hold : null;
    if (!hold) return res.end(body);
    res.write(body.subarray(0, hold.after));
    s.sent.set(path, hold.after);
    await new Promise((ok) => s.releases.push(ok));
    s.sent.set(path, body.length);
    res.end(body.subarray(hold.after));
  });
  return s;
}

async function listen(server) {
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return `http://127.0.0.1:${server.address().port}`;
}

/** Builds the site into dir with label (a different label gives a different
 * wasm); returns {dir, version}. */
function dist(dir, label) {
  execFileSync(serveBin, ["-dist", dir, "-weights", weights, "-packs", "f16,q8", "-label", label], { cwd: H.ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const version = /"version":"([0-9a-f]{12})"/.exec(readFileSync(join(dir, "js", "build.js"), "utf8"))[1];
  return { dir, version };
}

/** A new context whose pages record their requests. */
async function context(label, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 }, ...opts });
  ctx.on("request", (r) => everyRequest.push([label, r.url()]));
  return ctx;
}

async function open(ctx, query = "") {
  const page = await ctx.newPage();
  page.logs = [];
  page.on("console", (m) => page.logs.push(m.text()));
  page.on("pageerror", (e) => page.logs.push(`pageerror: ${e.message}`));
  await page.goto(`${site.url}${BASE}${query ? `?${query}` : ""}`);
  return page;
}

async function weightsIn(page) {
  try {
    await H.waitWeights(page);
  } catch (e) {
    throw new Error(`${e.message}; console: ${page.logs.slice(-8).join(" | ")}`);
  }
}

async function runOnce(page, n = 2) {
  await page.waitForFunction(() => window.crema.state.content && window.crema.state.styles.length && !document.querySelector("#run").disabled, null, { timeout: 60_000 });
  await page.click("#run");
  await H.waitIdle(page);
  assert.match(await page.textContent("#status"), new RegExp(`done after ${n} iterations`));
}

/** Waits until this page's service worker is active and controls it. */
async function controlled(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "crema-hosted-test-"));
  weights = join(tmp, "weights");
  const src = H.REAL_WEIGHTS ? [H.SHARED_WEIGHTS] : ["-synthetic", "-upto", H.DEEPEST];
  for (const [pack, flag] of [["f16", "-f16"], ["q8", "-q8"]]) {
    execFileSync("go", ["run", "./tools/convert", "-o", join(weights, `pack-${pack}`), flag, ...src], { cwd: H.ROOT, stdio: ["ignore", "ignore", "pipe"] });
  }
  serveBin = join(tmp, "serve");
  execFileSync("go", ["build", "-o", serveBin, "./tools/serve"], { cwd: H.ROOT, stdio: ["ignore", "ignore", "inherit"] });
  v1 = dist(join(tmp, "v1"), "v1");
  v2 = dist(join(tmp, "v2"), "v2");
  site = staticServer();
  site.root = v1.dir;
  site.url = await listen(site.server);
  host = createServer((req, res) => res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(host.page || ""));
  host.url = await listen(host);
  browser = await chromium.launch(launchOptions({ webgpu: false }));
});

after(async () => {
  await browser?.close().catch(() => {});
  site?.server.close();
  host?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("make dist writes a versioned, precompressed site", () => {
  assert.notEqual(v1.version, v2.version, "a changed wasm must change the version");
  const sw = readFileSync(join(v1.dir, "sw.js"), "utf8");
  assert.match(sw, new RegExp(`const VERSION = "${v1.version}";`));
  const files = JSON.parse(/const FILES = (\{[\s\S]*?\n\}); \/\/ written by make dist/.exec(sw)[1]);
  for (const f of ["./", "index.html", "js/app.js", "js/build.js", "worker.js", "style.css", "wasm/crema.wasm.gz", "wasm/wasm_exec.js", "samples/chelsea.jpg"]) {
    assert.ok(files[f]?.keep, `the service worker does not keep ${f}`);
  }
  assert.equal(files["wasm/crema.wasm"].keep, false);
  assert.ok(!Object.keys(files).some((f) => f.startsWith("weights/")), "the service worker keeps the weights (the page does, once checked)");
  for (const f of ["index.html", "js/app.js", "style.css", "worker.js", "wasm/wasm_exec.js", "weights/pack-f16/vgg19.json"]) {
    assert.deepEqual(gunzipSync(readFileSync(join(v1.dir, `${f}.gz`))), readFileSync(join(v1.dir, f)), `${f}.gz`);
  }
  for (const p of ["f16", "q8"]) assert.ok(existsSync(join(v1.dir, "weights", `pack-${p}`, "vgg19.bin")), `no ${p} pack`);
  const f16 = JSON.parse(readFileSync(join(v1.dir, "weights/pack-f16/vgg19.json"), "utf8"));
  const q8 = JSON.parse(readFileSync(join(v1.dir, "weights/pack-q8/vgg19.json"), "utf8"));
  assert.equal(f16.tensors[0].dtype, "float16");
  assert.equal(q8.tensors[0].dtype, "int8");
  assert.ok(q8.size < 0.55 * f16.size, `q8 ${q8.size} bytes, f16 ${f16.size}`);
});

test("from a sub-path the page runs on the float16 pack and, with ?pack=q8, on the 8-bit pack", async () => {
  for (const [pack, query] of [["f16", SMALL], ["q8", `${SMALL}&pack=q8`]]) {
    const ctx = await context(`pack ${pack}`);
    const page = await open(ctx, query);
    await weightsIn(page);
    assert.match(await page.textContent("#weights-label"), new RegExp(`8 layers \\(conv1_1 … ${H.DEEPEST}\\)`));
    assert.match(await page.textContent("#build"), /crema v1/);
    await runOnce(page);
    const bins = site.log.filter((p) => p.endsWith("vgg19.bin"));
    assert.equal(bins.at(-1), `${BASE}weights/pack-${pack}/vgg19.bin`);
    if (pack === "q8") assert.match(await page.inputValue("#link"), /[?&]pack=q8(&|$)/, "the link keeps the pack");
    await ctx.close();
  }
});

test("a run that needs only early layers starts before the whole binary has arrived", async () => {
  const m = JSON.parse(readFileSync(join(v1.dir, "weights/pack-f16/vgg19.json"), "utf8"));
  const end = (layer) => Math.max(...m.tensors.filter((t) => t.name.startsWith(`${layer}.`)).map((t) => t.offset + t.length));
  const after = end("conv2_1") + 1000; // conv1_1 … conv2_1, and a little of conv2_2
  site.hold = { match: /pack-f16\/vgg19\.bin$/, after };
  const ctx = await context("early");
  try {
    const page = await open(ctx, EARLY);
    await page.waitForFunction(() => window.crema?.state.weightsPartial?.layers.includes("conv2_1"), null, { timeout: 60_000 });
    assert.match(await page.textContent("#weights-label"), /Network weights: \d+\.\d of \d+\.\d MB · [\d.]+ MB\/s · conv1_1 … conv2_1 ready/);
    await runOnce(page);
    assert.equal(site.sent.get(`${BASE}weights/pack-f16/vgg19.bin`), after, "the binary was sent whole before the run ended");
    assert.equal(await page.evaluate(() => window.crema.state.weights), null, "the weights were complete");
    // A run that needs more waits, and starts when its layers are in.
    await page.selectOption("#content_layers", "conv3_2");
    await H.settled(page);
    await page.click("#run");
    await page.waitForFunction(() => /waiting for .*conv3_2: the run starts when/.test(document.querySelector("#status").textContent), null, { timeout: 30_000 });
    site.release();
    await H.waitIdle(page);
    assert.match(await page.textContent("#status"), /done after 2 iterations/);
    await weightsIn(page);
    assert.match(await page.textContent("#weights-label"), /8 layers/);
  } finally {
    site.release();
    await ctx.close();
  }
});

test("after a first visit the page needs no network: offline, a reload works and a run completes", async () => {
  const ctx = await context("offline");
  const t0 = Date.now();
  const page = await open(ctx, SMALL);
  await weightsIn(page);
  const firstReady = Date.now() - t0;
  await controlled(page);
  // The binary is kept once checked.
  await page.waitForFunction(async () => (await (await caches.open("crema-weights-v1")).keys()).some((r) => r.url.includes("vgg19.bin")), null, { polling: 200, timeout: 30_000 });
  // A repeat visit: ready from the caches, with only the manifest and the
  // service worker's update check on the network.
  const before = site.log.length;
  const t1 = Date.now();
  await page.reload();
  await weightsIn(page);
  const repeatReady = Date.now() - t1;
  const repeatRequests = site.log.slice(before);
  assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), "the repeat visit is not served by the service worker");
  assert.match(await page.textContent("#weights-label"), /from this browser's cache/);
  assert.deepEqual(repeatRequests.filter((p) => !/vgg19\.json$|sw\.js$/.test(p)), [], "a repeat visit fetched more than the manifest");
  test.diagnostic?.(`ready: first visit ${firstReady} ms, repeat visit ${repeatReady} ms (network: ${repeatRequests.join(", ")})`);
  console.log(`# ready: first visit ${firstReady} ms, repeat visit ${repeatReady} ms; repeat visit's requests: ${repeatRequests.join(", ")}`);

  // The network cut: the browser offline, and the server dropping every
  // connection (Chromium's offline mode does not cover the service
  // worker's own update check, which then fails, harmlessly).
  await ctx.setOffline(true);
  site.down = true;
  try {
    const quiet = site.log.length;
    await page.reload();
    await weightsIn(page);
    await runOnce(page);
    assert.deepEqual(site.log.slice(quiet).filter((p) => !p.endsWith("/sw.js")), [], "the page asked the network while offline");
  } finally {
    site.down = false;
  }
  await ctx.close();
});

test("a new build replaces the old one, never mixing its wasm and scripts with the old one's", async () => {
  const ctx = await context("update");
  let page = await open(ctx, SMALL);
  await weightsIn(page);
  await controlled(page);
  const build = () => page.evaluate(async () => ({ wasm: window.crema.state.ready?.build, js: (await import("./js/build.js")).build.label }));
  assert.deepEqual(await build(), { wasm: "v1", js: "v1" });

  // A host half-way through a deploy: the new service worker and scripts,
  // the old wasm. The new worker fails its check and is not installed; the
  // page stays v1, whole.
  const half = join(tmp, "half");
  cpSync(v2.dir, half, { recursive: true });
  cpSync(join(v1.dir, "wasm"), join(half, "wasm"), { recursive: true });
  site.root = half;
  await page.reload();
  await weightsIn(page);
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    await reg.update().catch(() => {});
    while (reg.installing) await new Promise((ok) => setTimeout(ok, 100));
  });
  assert.equal(await page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration()).waiting), false, "a worker with mismatched files was installed");
  assert.deepEqual(await build(), { wasm: "v1", js: "v1" });
  await runOnce(page);

  // The deploy completes, and this browser's copy of v1 has lost its wasm:
  // the page (v1) must not start v2's wasm. It says to reload instead.
  site.root = v2.dir;
  await page.evaluate(async (v) => {
    const c = await caches.open(`crema-app-${v}`);
    await c.delete(new URL("wasm/crema.wasm.gz", location.href).href);
  }, v1.version);
  await page.reload();
  await page.waitForFunction(() => /crema was updated/.test(document.querySelector("#alerts").textContent), null, { timeout: 60_000 });
  assert.notEqual(await page.evaluate(() => window.crema.state.ready?.build), "v2", "v1's scripts started v2's wasm");
  // Meanwhile v2's worker installed; the page offers it, and takes it.
  await page.waitForSelector("#update-reload", { timeout: 60_000 });
  await Promise.all([page.waitForEvent("load", { timeout: 60_000 }), page.click("#update-reload")]);
  await weightsIn(page);
  assert.deepEqual(await build(), { wasm: "v2", js: "v2" });
  assert.match(await page.textContent("#build"), /crema v2/);
  await runOnce(page);
  const names = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith("crema-app-")));
  assert.deepEqual(names, [`crema-app-${v2.version}`], "the old version's cache is left");
  await ctx.close();
  site.root = v1.dir;
});

test("the embed snippet loads lazily: a poster and one button, no wasm or weights until pressed; its height follows its content", async () => {
  // The snippet, from the full page after a run on the example images: its
  // poster is that result.
  site.root = v1.dir;
  const ctx = await context("embed");
  const full = await open(ctx, SMALL);
  await weightsIn(full);
  await runOnce(full);
  const snippet = await full.inputValue("#embed-code");
  assert.match(snippet, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/crema\/\?[^"]*embed=1[^"]*poster=1[^"]*#poster=data:image\/jpeg;base64,[A-Za-z0-9+/=]+" title="crema: neural style transfer" id="crema-\w+" [^>]*loading="lazy" sandbox="allow-scripts allow-same-origin allow-downloads"/);
  assert.match(snippet, /<script>addEventListener\("message"/);
  await full.close();

  for (const sandbox of [null, "allow-scripts"]) {
    site.cors = !!sandbox; // an opaque origin's requests are cross-origin
    const c = await context(`embed ${sandbox || "snippet"}`);
    const requests = [];
    c.on("request", (r) => requests.push(r.url()));
    host.page = `<!doctype html><title>A post</title><h1>A post</h1><p>Before.</p>${sandbox ? snippet.replace(/sandbox="[^"]*"/, `sandbox="${sandbox}"`) : snippet}<p>After.</p>`;
    const page = await c.newPage();
    await page.goto(`${host.url}/post.html`);
    const frame = await (await page.waitForSelector("iframe")).contentFrame();
    await frame.waitForSelector("#poster-run", { state: "visible" });
    assert.match(await frame.getAttribute("#poster-img", "src"), /^data:image\/jpeg;base64,/);
    await frame.waitForFunction(() => document.querySelector("#poster-img").complete);
    await page.waitForTimeout(1500); // anything it would fetch
    const heavy = (list) => list.filter((u) => /crema\.wasm|wasm_exec|worker\.js|vgg19\.|sw\.js/.test(u));
    assert.deepEqual(heavy(requests), [], "the poster fetched the app or the weights");
    // The iframe's height is its content's.
    const fit = async () => {
      const inner = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
      await page.waitForFunction((h) => Math.abs(document.querySelector("iframe").getBoundingClientRect().height - h) <= 2, inner, { timeout: 10_000 });
      return inner;
    };
    const posterHeight = await fit();
    await frame.click("#poster-run");
    await frame.waitForFunction(() => window.crema?.state.run || /done after/.test(document.querySelector("#status").textContent), null, { timeout: 120_000 });
    await H.waitIdle(frame);
    assert.match(await frame.textContent("#status"), /done after 2 iterations/);
    assert.ok(heavy(requests).some((u) => /crema\.wasm/.test(u)) && heavy(requests).some((u) => /vgg19\.bin/.test(u)), "the button did not load the app");
    const runHeight = await fit();
    assert.notEqual(runHeight, posterHeight, "the height did not follow the content");
    assert.deepEqual(requests.filter((u) => !u.startsWith(site.url) && !u.startsWith(host.url) && !/^(blob|data):/.test(u)), []);
    assert.ok(requests.filter((u) => u.startsWith(host.url)).every((u) => u === `${host.url}/post.html`), "the embed fetched from the host's origin");
    await c.close();
  }
  site.cors = false;
  await ctx.close();
});

test("no request left the origin", () => {
  const out = everyRequest.filter(([, u]) => !u.startsWith(`${site.url}/`) && !u.startsWith(`${host.url}/`) && !/^(blob|data):/.test(u));
  assert.deepEqual(out, []);
  assert.ok(everyRequest.length > 20);
});
