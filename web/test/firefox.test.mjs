// The page in Firefox: Debian's firefox-esr, headless, driven by
// puppeteer-core over WebDriver BiDi (tools/firefox.mjs), with WebGPU on
// wgpu (Mesa's lavapipe here), a second WebGPU implementation beside the
// Chromium/SwiftShader of the other page tests. The dev server is started
// by harness.mjs's serve(), on the same test weights; the page is loaded
// from http://localhost:PORT/ (WebGPU needs a secure context).
//
//   node --test web/test/firefox.test.mjs          (part of `make test-browser`)
//
// Environment: FIREFOX (default /usr/bin/firefox-esr).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { FIREFOX, launchFirefox } from "../../tools/firefox.mjs";
import { serve } from "./harness.mjs";

if (!existsSync(FIREFOX)) throw new Error(`no Firefox at ${FIREFOX}: run \`make deps\` (or set FIREFOX)`);

let served, browser, url;

before(async () => {
  // The page from localhost, which Firefox counts as a secure context.
  served = await serve({ full: false });
  url = served.url.replace("//127.0.0.1:", "//localhost:");
  browser = await launchFirefox();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  served?.stop();
});

/** Opens query in a new page that keeps its console in page.logs. */
async function open(query) {
  const page = await browser.newPage();
  page.logs = [];
  page.on("console", (m) => page.logs.push(m.text()));
  page.on("pageerror", (e) => page.logs.push(`pageerror: ${e.message}`));
  await page.goto(url + query);
  return page;
}

/** Waits for fn (evaluated in the page) to be truthy, failing with the
 * page's last console lines and what it shows (a worker's console does not
 * reach page.logs in Firefox: the badge, the status line, the notices, the
 * pool and the types of the worker's last messages say how far it got). */
async function until(page, what, fn, timeout) {
  try {
    await page.waitForFunction(fn, { timeout, polling: 250 });
  } catch (e) {
    const shown = await page
      .evaluate(() => {
        const text = (id) => document.getElementById(id)?.textContent.trim() || "";
        const s = window.crema?.state || {};
        const alerts = [...document.querySelectorAll(".alert .msg")].map((el) => el.textContent.trim()).join(" | ");
        const pool = s.pool ? JSON.stringify(s.pool) : "none";
        return `worker ready: ${!!s.ready}, weights: ${!!s.weights}, backend: "${text("backend")}", status: "${text("status")}", notices: "${text("notices")}", alerts: "${alerts}", pool: ${pool}, the worker's messages: ${(s.trace || []).join(", ")}`;
      })
      .catch((err) => `(the page did not answer: ${err.message})`);
    throw new Error(`${what}: ${e.message}; the page shows ${shown}; console: ${page.logs.slice(-10).join(" | ")}`);
  }
}

test("Firefox: the page runs on WebGPU, and the loss falls", async () => {
  // ?backend=webgpu: "auto" measures, and on lavapipe the CPU may win.
  const page = await open("?backend=webgpu&image_size=24&num_iterations=2&preview_every=1");
  await until(page, "no backend", () => window.crema?.state.backend, 120_000);
  const be = await page.evaluate(() => window.crema.state.backend);
  assert.equal(be.name, "webgpu", `Firefox has WebGPU here (lavapipe), but the page chose ${be.name}: ${be.reason}`);
  assert.match(await page.$eval("#backend", (el) => el.textContent), /^Backend: WebGPU · \S/);
  await until(page, "weights never loaded", () => window.crema?.state.weights, 120_000);
  await until(page, "settings never settled", () => window.crema.state.loaded && !window.crema.state.checking, 60_000);
  await page.click("#run");
  await until(page, "the run never ended", () => !window.crema.state.run && !window.crema.state.queue.length, 300_000);
  assert.match(await page.$eval("#status", (el) => el.textContent), /done after 2 iterations/);
  const [first, last] = await page.evaluate(() => window.crema.chart.ends("total"));
  assert.ok(last < first, `WebGPU on Firefox: total loss ${first} → ${last} did not fall`);
  const after = await page.evaluate(() => window.crema.state.backend);
  assert.equal(after.name, "webgpu", `the run left the GPU: ${after.reason}`);
  await page.close();
});

test("Firefox: a failing GPU self-test puts the page on the CPU and says why", async () => {
  const page = await open("?backend=auto,fault=selftest&image_size=24&num_iterations=1");
  await until(page, "no backend", () => window.crema?.state.backend, 120_000);
  const be = await page.evaluate(() => window.crema.state.backend);
  assert.equal(be.name, "cpu", `a failing self-test left the page on ${be.name}`);
  assert.equal(be.fallback, true);
  assert.match(be.reason, /^webgpu: self-test: .* differs from the CPU/);
  assert.match(await page.$eval("#backend", (el) => el.textContent), /CPU \(fallback\)/);
  await until(page, "no notice", () => document.querySelector("#notices")?.textContent.includes("self-test"), 30_000);
  assert.match(await page.$eval("#notices", (el) => el.textContent), /WebGPU is not available here \(webgpu: self-test: .+\), so crema runs on the CPU/);
  await page.close();
});

test("Firefox: a run on two helper workers (started by the page, shared memory) finishes and the loss falls", async () => {
  const page = await open("?backend=cpu&helpers=2&image_size=32&num_iterations=3&preview_every=3");
  await until(page, "no pool of 2", () => window.crema?.state.pool?.running === 2 && window.crema.state.weights, 120_000);
  assert.equal(await page.evaluate(() => window.crossOriginIsolated), true, "the dev server isolates the page");
  await until(page, "run not enabled", () => !document.querySelector("#run").disabled, 60_000);
  await page.click("#run");
  await until(page, "the run did not end", () => window.crema.state.lastFrame && !window.crema.state.run, 300_000);
  const [first, last] = await page.evaluate(() => window.crema.chart.ends("total"));
  assert.ok(last < first, `total loss ${first} → ${last} did not fall`);
  const pool = await page.evaluate(() => window.crema.state.pool);
  assert.deepEqual([pool.running, pool.lost, pool.transport], [2, 0, "shared"]);
  assert.ok(pool.tasks >= 6, `the helpers computed ${pool.tasks} shares`);
  assert.equal(await page.$eval("#pool", (el) => el.textContent), "Helpers: 2 workers · shared memory");
  await page.close();
});
