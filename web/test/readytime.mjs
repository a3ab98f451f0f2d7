// readytime.mjs: how long `make dist`'s page takes to become ready, on a
// first visit and on a repeat visit (service worker, cached weights), in
// headless Chromium with the CPU backend. Not a test: BENCHMARKS.md's
// "Page-ready times" come from it.
//
//   node web/test/readytime.mjs DIST [QUERY] [MBIT/S]
//   node web/test/readytime.mjs dist pack=q8 20      # 20 Mbit/s, 40 ms latency
//
// It serves DIST under /crema/ with a plain file server and prints, for each
// visit, the milliseconds from navigation to: the page loaded, the Go worker
// ready, Run enabled, the layers of an early run (up to conv3_2) in, every
// weight checked; and the requests and bytes that reached the server.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { launchOptions } from "../../tools/chromium.mjs";

const [root, query = "", mbps = "0"] = process.argv.slice(2);
if (!root) {
  console.error("usage: node web/test/readytime.mjs DIST [QUERY] [MBIT/S]");
  process.exit(2);
}
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".jpg": "image/jpeg", ".wasm": "application/wasm" };
let bytes = 0;
let requests = [];
const server = createServer((req, res) => {
  let rel = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname).replace(/^\/crema\//, "")).replace(/^(\.\.[/\\])+/, "");
  if (rel === "." || rel === "") rel = "index.html";
  const file = join(root, rel);
  requests.push(rel);
  if (!existsSync(file) || statSync(file).isDirectory()) return res.writeHead(404).end();
  const body = readFileSync(file);
  bytes += body.length;
  res.writeHead(200, { "Content-Type": types[extname(file)] || "application/octet-stream", "Content-Length": body.length }).end(body);
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/crema/?backend=cpu${query ? `&${query}` : ""}`;
const browser = await chromium.launch(launchOptions({ webgpu: false }));
const ctx = await browser.newContext();
const page = await ctx.newPage();
if (Number(mbps) > 0) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 40, downloadThroughput: (Number(mbps) * 1e6) / 8, uploadThroughput: 1e6 });
}

async function visit(label, reload) {
  bytes = 0;
  requests = [];
  const t0 = Date.now();
  if (reload) await page.reload();
  else await page.goto(url);
  const marks = {};
  const steps = {
    loaded: () => document.readyState === "complete",
    worker: () => !!window.crema?.state.ready,
    runnable: () => !document.querySelector("#run").disabled,
    early: () => !!(window.crema?.state.weightsPartial?.layers.includes("conv3_2") || window.crema?.state.weights),
    weights: () => !!window.crema?.state.weights,
  };
  for (const [name, done] of Object.entries(steps)) {
    await page.waitForFunction(done, null, { polling: 20, timeout: 300_000 });
    marks[name] = Date.now() - t0;
  }
  console.log(`${label}: ${JSON.stringify(marks)} ms; network: ${requests.length} requests, ${(bytes / 1e6).toFixed(2)} MB${reload ? ` (${requests.join(", ")})` : ""}`);
}

try {
  await visit("first visit", false);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(async () => (await (await caches.open("crema-weights-v1")).keys()).some((r) => r.url.includes("vgg19.bin")), null, { polling: 200, timeout: 120_000 });
  await visit("repeat visit", true);
} finally {
  await browser.close();
  server.close();
}
