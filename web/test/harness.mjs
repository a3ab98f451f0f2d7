// harness.mjs: what the page's browser tests share. It writes weights into a
// temporary folder — the real partial VGG-19 in ../shared (conv1_1 …
// conv3_4) when it is there, else synthetic weights of the same layers, so
// every test runs (and asserts the same layer set) either way — starts the
// dev server (tools/serve -fetch, which derives the page's weight pack from
// them as `make run` does) on a free port, and launches Debian's Chromium
// headless through playwright-core (never a downloaded browser), with WebGPU
// on SwiftShader. Every request a page makes is recorded, so a test can
// check that none left the origin.
//
// Environment: CHROMIUM (default /usr/bin/chromium); CREMA_SCREENSHOTS=1
// rewrites the README's screenshots in docs/ (with the real weights only).

import { chromium } from "playwright-core";
import { CHROMIUM, launchOptions } from "../../tools/chromium.mjs";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SHARED = resolve(ROOT, "..", "shared");
export const SHARED_WEIGHTS = join(SHARED, "weights", "vgg19-keras-conv1-3", "model.json");
export const SAMPLES = join(ROOT, "web", "samples");
/** Whether the tests run on the real weights (else synthetic ones). */
export const REAL_WEIGHTS = existsSync(SHARED_WEIGHTS);
/** The deepest layer the test weights hold, real or synthetic. */
export const DEEPEST = "conv3_4";
export const SCREENSHOTS = process.env.CREMA_SCREENSHOTS === "1" && REAL_WEIGHTS;
/** Synthetic weights of every layer the page offers (conv1_1 … conv5_1),
 * served beside the others for the tests that need them all (?weights=). */
export const FULL_WEIGHTS = "weights/full/vgg19.json";
export const FULL_DEEPEST = "conv5_1";

console.log(`# page tests on ${REAL_WEIGHTS ? `the real weights (${SHARED_WEIGHTS})` : `synthetic weights up to ${DEEPEST} (../shared is absent)`}`);
if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run \`make deps\` (or set CHROMIUM)`);

/** Writes the test weights into a new temporary folder and starts the dev
 * server on them, on a free port; returns {url, tmp, weights, stop()}.
 * isolated: the dev server's COOP and COEP headers (its default; false
 * serves the page as a plain static host would); full: the synthetic
 * weights of every layer beside them (FULL_WEIGHTS). The Firefox tests and
 * tools/bench/firefoxstart.mjs start theirs here too. */
export async function serve({ isolated = true, full = true } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), "crema-page-test-"));
  const weights = join(tmp, "weights");
  const src = REAL_WEIGHTS ? [SHARED_WEIGHTS] : ["-synthetic", "-upto", DEEPEST];
  execFileSync("go", ["run", "./tools/convert", "-o", weights, ...src], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  if (full) execFileSync("go", ["run", "./tools/convert", "-o", join(weights, "full"), "-synthetic", "-f16", "-upto", FULL_DEEPEST], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  const serveBin = join(tmp, "serve");
  execFileSync("go", ["build", "-o", serveBin, "./tools/serve"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const server = spawn(serveBin, ["-addr", "127.0.0.1:0", "-fetch", "-weights", weights, ...(isolated ? [] : ["-isolate=false"])], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((ok, fail) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = /crema on (http:\/\/\S+\/)/.exec(out);
      if (m) ok(m[1]);
    });
    server.on("exit", (code) => fail(new Error(`serve exited (${code}) before listening: ${out}`)));
  });
  return {
    url,
    tmp,
    weights,
    stop() {
      server.kill();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Starts everything (serve, then Chromium); returns {url, origin, browser,
 * tmp, weights, stop()}. isolated: as serve's. */
export async function start({ webgpu = true, isolated = true } = {}) {
  const served = await serve({ isolated });
  const browser = await chromium.launch(launchOptions({ webgpu }));
  return {
    ...served,
    origin: new URL(served.url).origin,
    browser,
    async stop() {
      await browser.close().catch(() => {});
      served.stop();
    },
  };
}

/** Opens a page that records every request URL in page.requests (and the
 * browser console in page.logs, shown when a test fails). */
export async function open(env, query = "", { viewport = { width: 1200, height: 900 }, context = null, setup = null } = {}) {
  const ctx = context || (await env.browser.newContext({ viewport, acceptDownloads: true }));
  const page = await ctx.newPage();
  if (setup) await setup(page); // e.g. routes, before the page loads
  page.requests = [];
  page.logs = [];
  ctx.on("request", (r) => page.requests.push(r.url()));
  page.on("console", (m) => page.logs.push(m.text()));
  page.on("pageerror", (e) => page.logs.push(`pageerror: ${e.message}`));
  await page.goto(env.url + query);
  return page;
}

/** Waits until the worker has loaded the weights and the page has
 * settled its settings on them (or fails with what the page says). */
export async function waitWeights(page, frame = page) {
  try {
    await frame.waitForFunction(() => window.crema?.state.weights, null, { timeout: 120_000, polling: 250 });
  } catch (e) {
    const alerts = await frame.textContent("#alerts").catch(() => "?");
    throw new Error(`weights never loaded; alerts: ${alerts}; console: ${page.logs.slice(-10).join(" | ")}`);
  }
  await settled(frame);
}

/** Waits until the link's settings and first images are in and Go has
 * checked the latest values (state.settings is their parse). */
export async function settled(frame) {
  await frame.waitForFunction(() => window.crema?.state.loaded && !window.crema.state.checking, null, { timeout: 60_000, polling: 100 });
}

/** Waits until no run is in progress. */
export async function waitIdle(frame, timeout = 180_000) {
  await frame.waitForFunction(() => window.crema && !window.crema.state.run && !window.crema.state.queue.length, null, { timeout, polling: 250 });
}

/** Requests that left env's origin (blob: and data: are local). */
export function outside(env, urls) {
  return urls.filter((u) => !u.startsWith(env.origin + "/") && !u.startsWith("blob:") && !u.startsWith("data:"));
}

/** Sets a number or text input and fires change, as a visitor would
 * (opening the "More settings" section it may be in). */
export async function setValue(frame, selector, value) {
  await frame.$eval(selector, (el) => {
    const d = el.closest("details");
    if (d) d.open = true;
  });
  await frame.fill(selector, String(value));
  await frame.dispatchEvent(selector, "change");
}

/** FNV-1a hash of a canvas' pixels, to see whether an image changed. */
export async function canvasHash(frame, selector) {
  return frame.evaluate((sel) => {
    const c = document.querySelector(sel);
    if (!c.width || !c.height) return "empty";
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let h = 0x811c9dc5;
    for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i], 0x01000193) >>> 0;
    return `${c.width}x${c.height}:${h.toString(16)}`;
  }, selector);
}
