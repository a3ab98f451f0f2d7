// memory.mjs measures the peak memory of the page (issue 10): crema's page
// on the CPU backend (its worker and every helper worker) against
// TensorFlow.js' wasm backend on the same work (make bench's page, tfjs
// only), in headless Chromium.
//
//   node tools/bench/memory.mjs [--sizes 128,256] [--iters 4] [--helpers default,0]
//       [--isolated]
//
// The figure is the peak resident memory (VmHWM in /proc/PID/status) of the
// page's renderer process: Chromium runs a page's dedicated workers (the
// worker and its helpers) as threads of that process, so it counts the page, its
// worker, the helpers, their wasm memories, JS heaps and code, and
// Chromium's own share of a renderer. Beside the peak: the same figure
// before Run (crema: weights loaded, helpers started; tfjs: the page
// loaded, as tfjs makes its weights in the run) and, for crema, before any
// weights arrive (the binary held back). Each measurement opens a page in a new browser, so
// no other page shares the process. Beside it: the wasm linear memories
// (which never shrink, so their size is their peak): crema's worker and
// helpers (Go's memory, read through Playwright's worker handles), tfjs'
// wasm module.
//
// crema's work is the page's run with synthetic weights of every layer up to
// conv5_1, Adam and no coarse-to-fine stage, so that it is make bench's work
// (tools/bench/tfjswork.js): VGG-19 to conv5_1, content conv4_2, style
// conv1_1 … conv5_1, the gradient with respect to the image. --helpers
// lists the pools: "default" is the page's own choice (hardwareConcurrency
// − 1 helpers), a number forces that many.
//
// --isolated serves both pages cross-origin isolated (crema's pool then
// shares memory; tfjs runs its threaded build).

import { chromium } from "playwright-core";
import { readFileSync, readdirSync } from "node:fs";
import { loadavg, cpus } from "node:os";
import * as H from "../../web/test/harness.mjs";
import { launchOptions } from "../chromium.mjs";
import { parseArgs, buildWasm, serveBench, today } from "./common.mjs";

const cfg = parseArgs(process.argv.slice(2), {
  sizes: [128, 256],
  iters: 4,
  helpers: "default,0",
  isolated: false,
});

const MiB = (b) => (b / 1048576).toFixed(0);

/** The processes under pid (its children, theirs, …) with their command lines. */
function descendants(pid) {
  const kids = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const walk = (p) => {
    for (const k of kids.get(p) || []) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

/** The renderer processes under pid with their peak and current resident
 * memory, in bytes. */
function renderers(root) {
  const out = [];
  for (const pid of descendants(root)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("--type=renderer")) continue;
      const st = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(st)[1]) * 1024;
      out.push({ pid, hwm: kb("VmHWM"), rss: kb("VmRSS") });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The renderer that holds the page: of the browser this process launched
 * (one at a time), the renderer with the most peak memory (a spare one
 * Chromium keeps ready holds a few MiB). */
function pageRenderer() {
  const rs = renderers(process.pid);
  if (!rs.length) throw new Error("memory: no renderer process found under the browser");
  return rs.reduce((a, b) => (b.hwm > a.hwm ? b : a));
}

/** Go's wasm memory in each of the page's workers that has one. */
async function workerWasm(page) {
  const out = [];
  for (const w of page.workers()) {
    const b = await w.evaluate(() => globalThis.cremaGoMemory?.buffer.byteLength || 0).catch(() => 0);
    if (b) out.push(b);
  }
  return out;
}

async function crema(env, size, helpers) {
  const pool = helpers === "default" ? "" : `&helpers=${helpers}`;
  const q = `?backend=cpu&weights=${H.FULL_WEIGHTS}&image_size=${size}&num_iterations=${cfg.iters}&optimizer=adam&coarse_to_fine=0&preview_every=1000${pool}`;
  // The weights binary is held back until the page is up with its worker,
  // for the figure before any weights (the page, Go's runtime, the module).
  let release, asked;
  const held = new Promise((ok) => (release = ok));
  const requested = new Promise((ok) => (asked = ok));
  const hold = (p) => p.route("**/vgg19.bin*", async (route) => {
    asked();
    await held;
    await route.continue();
  });
  const page = await H.open(env, q, { setup: hold });
  await requested;
  let bare = [];
  for (let i = 0; i < 300 && !bare.length; i++) {
    bare = await workerWasm(page);
    if (!bare.length) await new Promise((ok) => setTimeout(ok, 100));
  }
  if (!bare.length) throw new Error("memory: the page's worker never started Go");
  const noWeights = pageRenderer().hwm;
  release();
  await H.waitWeights(page);
  if (helpers !== "0") {
    await page.waitForFunction(() => window.crema.state.pool && window.crema.state.pool.starting === 0, null, { timeout: 120_000 });
  }
  const beforeRun = pageRenderer();
  await page.click("#run");
  await H.waitIdle(page, 1_800_000);
  const status = await page.textContent("#status");
  if (!/done after/.test(status)) throw new Error(`memory: crema's run did not finish: ${status}`);
  const r = pageRenderer();
  const wasm = await workerWasm(page);
  const poolState = await page.evaluate(() => window.crema.state.pool);
  await page.context().close();
  return { bare: noWeights, bareWasm: bare[0], beforeRun: beforeRun.hwm, peak: r.hwm, wasm, helpers: poolState ? poolState.running : 0, status };
}

async function tfjs(size) {
  const { server, origin } = await serveBench({ wasm: buildWasm(() => {}), isolated: cfg.isolated });
  const browser = await chromium.launch(launchOptions({ webgpu: false }));
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.log(`memory: tfjs page error: ${e}`));
    await page.goto(origin + "/");
    await page.waitForFunction(() => window.benchReady === true);
    const beforeRun = pageRenderer();
    const res = await page.evaluate(
      (c) => window.bench(c),
      { sizes: [size], rounds: 1, iters: cfg.iters - 1, warmup: 1, pooling: "avg", profile: false, only: "tfjs wasm" },
    );
    const s = res.sizes[size]["tfjs wasm"];
    if (s.error) throw new Error(`memory: tfjs wasm at ${size}²: ${s.error}`);
    const wasm = await page.evaluate(() => tf.backend().wasm?.HEAPU8?.buffer.byteLength || 0);
    const r = pageRenderer();
    return { beforeRun: beforeRun.hwm, peak: r.hwm, wasm: [wasm], threads: res.impls["tfjs wasm"].threads, ms: s.median_ms };
  } finally {
    await browser.close().catch(() => {});
    server.close();
  }
}

const load0 = loadavg();
const rows = [];
for (const size of cfg.sizes) {
  for (const helpers of String(cfg.helpers).split(",")) {
    // A browser of its own for each page, so that its renderer holds it alone.
    const env = await H.start({ webgpu: false, isolated: cfg.isolated });
    try {
      const m = await crema(env, size, helpers);
      rows.push({ size, name: `crema CPU, ${helpers === "default" ? `the page's pool (${m.helpers} helper${m.helpers === 1 ? "" : "s"})` : `${helpers} helpers`}`, ...m });
      console.log(`memory: ${size}² crema helpers=${helpers}: peak ${MiB(m.peak)} MiB (before Run ${MiB(m.beforeRun)}), wasm ${m.wasm.map(MiB).join(" + ")} MiB; ${m.status}`);
    } finally {
      await env.stop();
    }
  }
  const t = await tfjs(size);
  rows.push({ size, name: `tfjs wasm (threads ${t.threads ? "on" : "off"})`, ...t });
  console.log(`memory: ${size}² tfjs wasm: peak ${MiB(t.peak)} MiB (before Run ${MiB(t.beforeRun)}), wasm ${t.wasm.map(MiB).join(" + ")} MiB`);
}
const load1 = loadavg();

console.log(`\n${today()}; ${cpus().length} cores (${cpus()[0].model}); load average ${load0[0].toFixed(1)} before, ${load1[0].toFixed(1)} after; page ${cfg.isolated ? "cross-origin isolated" : "not isolated"}; ${cfg.iters} iterations\n`);
console.log("| size | page | peak resident (renderer) | before Run | before the weights (Go's memory) | wasm memories |");
console.log("|---|---|---:|---:|---:|---:|");
for (const r of rows) {
  const bare = r.bare ? `${MiB(r.bare)} MiB (${MiB(r.bareWasm)} MiB)` : "–";
  console.log(`| ${r.size}² | ${r.name} | ${MiB(r.peak)} MiB | ${MiB(r.beforeRun)} MiB | ${bare} | ${r.wasm.map(MiB).join(" + ")} MiB |`);
}
