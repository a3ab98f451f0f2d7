// bench.mjs is `make bench`: crema (WebGPU and CPU backends, Go wasm) against
// TensorFlow.js 4.x (webgpu and wasm backends) on the same style-transfer
// work, in one headless Chromium session (SwiftShader's WebGPU here), then
// the Markdown table into BENCHMARKS.md.
//
//   node tools/bench/bench.mjs [--sizes 64,128] [--rounds 3] [--iters 1]
//       [--warmup 1] [--pooling avg|max]
//       [--no-profile] [--only crema,tfjs] [--out BENCHMARKS.md] [--no-write]
//       [--isolated] [--no-threads]
//
// The page is what a plain static host serves (threads off). Then, unless
// --no-threads, crema CPU and tfjs wasm run again on the page served
// cross-origin isolated (COOP same-origin, COEP require-corp, as `make run`
// does), where TensorFlow.js' wasm backend runs its threaded build: the
// table's "threads on" rows (crema's bench page has one Go thread either
// way; its helper pool is the product page's, measured by pool.mjs).
// --isolated serves the first pass isolated too (and skips the second).
// Everything is served from 127.0.0.1 (tfjs' dist files from node_modules,
// the wasm built into a temporary folder); the page fetches nothing else,
// and any request to another origin is aborted and reported. Chromium is
// Debian's (CHROMIUM overrides); no browser is downloaded.

import { chromium } from "playwright-core";
import { join } from "node:path";
import { CHROMIUM, webgpuFlags, QUIET_FLAGS } from "../chromium.mjs";
import { ROOT, parseArgs, buildWasm, serveBench, today } from "./common.mjs";
import { markdown, writeSection, machine, THREADED } from "./report.mjs";

const HEADING = "## In the browser: crema vs TensorFlow.js";

const cfg = parseArgs(process.argv.slice(2), {
  sizes: [64, 128],
  rounds: 3,
  iters: 1,
  warmup: 1,
  pooling: "avg",
  profile: true,
  only: "",
  out: join(ROOT, "BENCHMARKS.md"),
  write: true,
  timeout: 3600,
  isolated: false,
  threads: true,
});

const FLAGS = [
  // Timestamp queries (allow_unsafe_apis) let tf.profile() time WebGPU kernels.
  ...webgpuFlags("allow_unsafe_apis"),
  ...QUIET_FLAGS,
  "--enable-precise-memory-info",
];

const wasm = buildWasm();


// render writes the section for res (partial: sizes done so far).
function render(res, final) {
  const impl = res.impls;
  const lines = [
    `Browser: Chromium ${browser.version()} headless; WebGPU adapter: ${res.adapter} (flags: ${FLAGS.slice(0, 5).join(" ")} …)`,
    `TensorFlow.js ${(impl["tfjs wasm"] || impl["tfjs webgpu"] || {}).version || "?"}` +
      (impl["tfjs wasm"] && !impl["tfjs wasm"].error ? `; wasm backend SIMD ${impl["tfjs wasm"].simd ? "on" : "off"}, threads ${impl["tfjs wasm"].threads ? "on" : "off (page not cross-origin isolated, as on a plain static host)"}` : "") +
      (impl["tfjs webgpu"] && !impl["tfjs webgpu"].error ? `; webgpu timestamp queries ${impl["tfjs webgpu"].timestamp_query ? "on" : "off"}` : ""),
    `crema: transfer.Run through model/session; CPU backend ${impl["crema CPU (Go wasm)"]?.describe || "?"}; WebGPU backend ${impl["crema WebGPU"]?.describe || impl["crema WebGPU"]?.error || "?"}`,
    ...(impl[THREADED["tfjs wasm"]] && !impl[THREADED["tfjs wasm"]].error
      ? [`Threads on: the CPU pair again, the page served cross-origin isolated; tfjs wasm threads ${impl[THREADED["tfjs wasm"]].threads ? "on" : "off (not available)"}; crema's bench page runs one Go thread (its helper pool is the product page's: BENCHMARKS, "Every core")`]
      : []),
    `Backend start-up (not in the figures): ` + Object.entries(impl).map(([n, i]) => `${n} ${i.init_ms != null ? i.init_ms.toFixed(0) + " ms" : "n/a"}`).join(", "),
  ];
  const md = markdown(res, {
    date: today(),
    command: "make bench" + (process.env.BENCH_ARGS ? ` BENCH_ARGS='${process.env.BENCH_ARGS}'` : ""),
    machine: machine(),
    lines,
    note: (process.env.BENCH_NOTE || "") +
      (final ? "" : ` Partial: written after ${res.config.sizes.join(", ")}; the run went on to larger sizes.`),
  });
  if (final) console.log("\n" + md);
  if (cfg.write) {
    writeSection(cfg.out, HEADING, md);
    if (final) console.log(`bench: wrote "${HEADING}" in ${cfg.out}`);
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
const killer = setTimeout(async () => {
  console.log(`bench: timed out after ${cfg.timeout} s`);
  await browser.close().catch(() => {});
  process.exit(124);
}, cfg.timeout * 1000);

// pass runs the suite on a page served by a server of its own (isolated:
// COOP and COEP) with the implementations only names; onPartial gets the
// results after each size but the last.
async function pass(isolated, only, onPartial) {
  const { server, origin } = await serveBench({ wasm, isolated });
  const page = await browser.newPage();
  const outside = [];
  try {
    await page.route("**/*", (route) => {
      const u = route.request().url();
      if (u.startsWith(origin + "/") || u.startsWith("data:") || u.startsWith("blob:")) return route.continue();
      outside.push(u);
      return route.abort();
    });
    page.on("console", (m) => console.log(m.text()));
    page.on("pageerror", (e) => console.log(`bench: page error: ${e}`));
    await page.exposeFunction("benchPartial", (r) => {
      if (onPartial && r.done.length < cfg.sizes.length) onPartial(r);
    });
    await page.goto(origin + "/");
    await page.waitForFunction(() => window.benchReady === true);
    const t0 = Date.now();
    console.log(`bench: ${isolated ? "cross-origin isolated page" : "plain page"}: sizes ${cfg.sizes.join(", ")}; ${cfg.warmup} warm-up + ${cfg.rounds} rounds × ${cfg.iters} iteration(s); ${cfg.pooling} pooling`);
    const res = await page.evaluate((c) => window.bench(c), {
      sizes: cfg.sizes, rounds: cfg.rounds, iters: cfg.iters, warmup: cfg.warmup, pooling: cfg.pooling,
      profile: cfg.profile, only,
    });
    console.log(`bench: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (outside.length) throw new Error(`the page tried to reach outside 127.0.0.1: ${outside.join(", ")}`);
    return res;
  } finally {
    await page.close().catch(() => {});
    server.close();
  }
}

// threadsOn merges the isolated pass's CPU rows into res under THREADED's names.
function threadsOn(res, iso) {
  for (const [from, to] of Object.entries(THREADED)) {
    if (iso.impls[from]) res.impls[to] = iso.impls[from];
    for (const size of Object.keys(iso.sizes)) {
      const s = iso.sizes[size][from];
      if (s) {
        delete s.profile; // the per-layer table is the plain page's
        (res.sizes[size] ??= {})[to] = s;
      }
    }
  }
}

let code = 0;
try {
  const res = await pass(cfg.isolated, cfg.only, (r) => {
    render({ ...r, config: { ...r.config, sizes: r.done } }, false);
    console.log(`bench: partial results (${r.done.join(", ")}) written`);
  });
  const cpu = !cfg.only || cfg.only.split(",").some((o) => "crema CPU (Go wasm)".includes(o) || "tfjs wasm".includes(o));
  if (cfg.threads && !cfg.isolated && cpu) threadsOn(res, await pass(true, "CPU,tfjs wasm", null));
  render(res, true);
} catch (e) {
  console.log(`bench: ${e && e.stack ? e.stack : e}`);
  code = 1;
} finally {
  clearTimeout(killer);
  await browser.close().catch(() => {});
}
process.exit(code);
