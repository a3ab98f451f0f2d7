// pool.mjs measures the helper pool (kernels/pool): the page's CPU backend
// with 0, 1 and 2 helper workers (and 2 with the worker only handing out
// shares, helper_main=0), in headless Chromium against the dev server, on
// synthetic weights of every layer up to conv5_1 (the page's default
// settings otherwise: the even preset), with Adam, so that every iteration
// is one forward and backward pass (an L-BFGS iteration's line search takes
// a varying number, which rounding differences between the configurations
// change). It prints ms per iteration
// (the median over rounds of each run's mean after its first iteration)
// and the machine's load; BENCHMARKS.md's "Every core" figures come from it.
//
//   node tools/bench/pool.mjs [--sizes 64,128] [--iters 6] [--rounds 3]
//       [--configs 0,1,2,1c,2c] [--isolated]
//
// --configs picks the pools: 0, 1, 2 helpers; 1c, 2c the same with the
// worker only handing out shares (helper_main=0).
//
// --isolated measures on a cross-origin isolated page (tools/serve's COOP and
// COEP headers: the pool's shared-memory path where it has one).

import { loadavg, cpus } from "node:os";
import * as H from "../../web/test/harness.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const sizes = opt("sizes", "64,128").split(",").map(Number);
const iters = Number(opt("iters", "6"));
const rounds = Number(opt("rounds", "3"));
const isolated = args.includes("--isolated");
const CONFIGS = {
  0: { name: "0 helpers", q: "helpers=0" },
  1: { name: "1 helper", q: "helpers=1" },
  2: { name: "2 helpers", q: "helpers=2" },
  "1c": { name: "1 helper, worker coordinates only", q: "helpers=1&helper_main=0" },
  "2c": { name: "2 helpers, worker coordinates only", q: "helpers=2&helper_main=0" },
};
const configs = opt("configs", "0,1,2,1c,2c")
  .split(",")
  .map((k) => CONFIGS[k]);

const env = await H.start({ webgpu: false, isolated });
const load0 = loadavg();
const results = {}; // size → config → [ms/iter per round]
try {
  for (let r = 0; r < rounds; r++) {
    for (const size of sizes) {
      for (const c of configs) {
        const q = `?backend=cpu&weights=${H.FULL_WEIGHTS}&image_size=${size}&num_iterations=${iters}&optimizer=adam&preview_every=1000&${c.q}`;
        const page = await H.open(env, q);
        await H.waitWeights(page);
        if (!c.q.startsWith("helpers=0")) {
          await page.waitForFunction(() => window.crema.state.pool && window.crema.state.pool.starting === 0, null, { timeout: 120_000 });
        }
        await page.evaluate(() => {
          window.benchMs = [];
          window.crema.state.worker.addEventListener("message", (e) => {
            if (e.data.type === "progress") window.benchMs.push([e.data.progress.iter, e.data.progress.ms]);
          });
        });
        await page.click("#run");
        await H.waitIdle(page, 1_800_000);
        const ms = await page.evaluate(() => window.benchMs);
        const pool = await page.evaluate(() => window.crema.state.pool);
        const [i0, t0] = ms[0];
        const [i1, t1] = ms[ms.length - 1];
        const per = (t1 - t0) / (i1 - i0);
        (results[size] ??= {})[c.name] ??= [];
        results[size][c.name].push(per);
        console.log(`round ${r + 1} ${size}² ${c.name}: ${per.toFixed(0)} ms/iteration (${i1 - i0} iterations after the first; pool ${JSON.stringify(pool)})`);
        await page.context().close();
      }
    }
  }
} finally {
  await env.stop();
}
const load1 = loadavg();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\n${cpus().length} cores (${cpus()[0].model}); load average ${load0.map((x) => x.toFixed(2)).join(" ")} before, ${load1.map((x) => x.toFixed(2)).join(" ")} after; ${isolated ? "cross-origin isolated" : "not isolated (transferred buffers)"}\n`);
console.log(`| size | ${configs.map((c) => c.name).join(" | ")} |`);
console.log(`|---|${configs.map(() => "---:").join("|")}|`);
for (const size of sizes) {
  const base = median(results[size][configs[0].name]);
  const cells = configs.map((c) => {
    const m = median(results[size][c.name]);
    return `${m.toFixed(0)} ms (${(base / m).toFixed(2)}×)`;
  });
  console.log(`| ${size}² | ${cells.join(" | ")} |`);
}
