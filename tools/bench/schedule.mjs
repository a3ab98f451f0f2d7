// schedule.mjs: time to a picture in the page (issue 10, item 4). Each
// candidate schedule (a set of the page's settings) runs in the real page,
// in Debian's Chromium headless on the dev server (web/test/harness.mjs:
// the real conv1_1 … conv3_4 weights from ../shared when present), with the
// page's other defaults, the page's default images, and the backend asked
// for. Every progress message the worker sends is recorded with the wall
// time since the Run button was pressed — what a visitor waits — and the
// run is stopped at --cap seconds. The output (JSON, one entry per schedule:
// its query, the image sizes of its stages, and [seconds, iteration, total
// loss] per progress message) is what tools/bench/schedplot reads.
//
//   node tools/bench/schedule.mjs --out /tmp/sched/cpu.json \
//       [--backend cpu] [--cap 90] [--only name,name]
//
// Schedules are named in SCHEDULES below; --only picks some.

import { writeFileSync } from "node:fs";
import { parseArgs } from "./common.mjs";
import * as H from "../../web/test/harness.mjs";

/** The candidates: settings over the page's other defaults (image_size
 * 256, the even preset), each naming the optimiser, iterations and
 * coarse-to-fine, so that a change of the page's default changes none. */
export const SCHEDULES = {
  "lbfgs-200": "num_iterations=200&optimizer=lbfgs&coarse_to_fine=0",
  "lbfgs-200-c2f": "num_iterations=200&optimizer=lbfgs&coarse_to_fine=1",
  "lbfgs-100-c2f": "num_iterations=100&optimizer=lbfgs&coarse_to_fine=1",
  "lbfgs-60-c2f": "num_iterations=60&optimizer=lbfgs&coarse_to_fine=1",
  "adam-200": "num_iterations=200&optimizer=adam&coarse_to_fine=0",
  "adam-200-c2f": "num_iterations=200&optimizer=adam&coarse_to_fine=1",
};

const cfg = parseArgs(process.argv.slice(2), { out: "", backend: "cpu", cap: 90, only: "", extra: "" });
if (!cfg.out) throw new Error("schedule: --out FILE is required");
const names = cfg.only ? cfg.only.split(",") : Object.keys(SCHEDULES);
for (const n of names) if (!SCHEDULES[n]) throw new Error(`schedule: unknown schedule ${n} (known: ${Object.keys(SCHEDULES).join(", ")})`);

const env = await H.start();
const results = [];
try {
  for (const name of names) {
    const query = `?backend=${cfg.backend}&${SCHEDULES[name]}${cfg.extra ? `&${cfg.extra}` : ""}`;
    const p = await H.open(env, query);
    await H.waitWeights(p);
    const be = await p.evaluate(() => window.crema.state.backend);
    // Record every progress message with the time since Run was pressed.
    await p.evaluate(() => {
      window.__sched = { points: [], done: false };
      window.crema.state.worker.addEventListener("message", (e) => {
        const m = e.data;
        if (m.type === "progress") window.__sched.points.push([(performance.now() - window.__sched.t0) / 1000, m.progress.iter, m.progress.total, m.progress.note || ""]);
        if (m.type === "done" || m.type === "error") window.__sched.done = true;
      });
    });
    const settings = await p.evaluate(() => window.crema.state.settings);
    await p.evaluate(() => {
      window.__sched.t0 = performance.now();
      document.querySelector("#run").click();
    });
    const t0 = Date.now();
    await p.waitForFunction((cap) => window.__sched.done || (performance.now() - window.__sched.t0) / 1000 > cap, cfg.cap, { timeout: (cfg.cap + 600) * 1000, polling: 500 });
    const stopped = !(await p.evaluate(() => window.__sched.done));
    if (stopped) {
      await p.click("#stop");
      await H.waitIdle(p, 600_000);
    }
    const points = await p.evaluate(() => window.__sched.points);
    const load = (await import("node:os")).loadavg();
    results.push({ name, query, backend: be, image_size: settings.image_size, iterations: settings.num_iterations, coarse_to_fine: settings.coarse_to_fine, optimizer: settings.optimizer, stopped_at_cap: stopped, wall_s: (Date.now() - t0) / 1000, load, points });
    const last = points.at(-1);
    console.log(`schedule: ${name} (${be.name}): ${points.length} iterations in ${last ? last[0].toFixed(1) : "?"} s, total loss ${last ? last[2].toExponential(3) : "?"}, load ${load.map((x) => x.toFixed(1)).join(" ")}`);
    await p.context().close();
  }
} finally {
  await env.stop();
}
writeFileSync(cfg.out, JSON.stringify({ date: new Date().toISOString(), weights: H.REAL_WEIGHTS ? "real conv1_1 … conv3_4" : "synthetic", results }, null, 1));
console.log(`schedule: wrote ${cfg.out}`);
