// pooltrace.mjs records a Chromium trace of the page's run on the helper
// pool (kernels/pool) and says where each worker thread's time went, on
// the trace's one clock: how long the crema worker and each helper spent
// handling messages (a helper's handling is its share: copy in, compute,
// copy out), how long a helper's answer took to reach the worker's handler,
// and how long a helper sat idle between the end of its share and the start
// of the next. BENCHMARKS.md ("Every core", "What limits it") quotes it.
//
//   node tools/bench/pooltrace.mjs [--size 128] [--iters 3] [--helpers 1]
//       [--main] [--profile] [--out /tmp/pool-trace.json]
//
// The second half of the traced span (the run's later iterations, past the
// weight slices' loading) is also cut by what the threads do at each moment:
// how long each helper waits while the worker works, while another helper
// still computes, or while nobody computes (messages in flight). --profile
// adds V8's sampling profiler to the trace and prints, for each thread, the
// functions that took the most of that half (self time); it slows every
// thread, so its timings are not the run's.
//
// Without --main the worker only hands out shares (helper_main=0), so that
// the worker's handling and the helpers' shares are told apart; --main
// traces the page's default, where the worker computes a share too. Tracing slows every thread a little; the split of the time,
// not its sum, is the point. Each thread's CPU time (its thread clock)
// says how much of the machine's CPUs the run used in that half.

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as H from "../../web/test/harness.mjs";
import { parseArgs } from "./common.mjs";

const cfg = parseArgs(process.argv.slice(2), { size: 128, iters: 3, helpers: 1, main: false, profile: false, out: "/tmp/pool-trace.json" });

const env = await H.start({ webgpu: false, isolated: false });
let status;
try {
  const q = `?backend=cpu&weights=${H.FULL_WEIGHTS}&image_size=${cfg.size}&num_iterations=${cfg.iters}&optimizer=adam` +
    `&coarse_to_fine=0&preview_every=1000&helpers=${cfg.helpers}${cfg.main ? "" : "&helper_main=0"}`;
  const page = await H.open(env, q);
  await H.waitWeights(page);
  await page.waitForFunction(() => window.crema.state.pool && window.crema.state.pool.starting === 0, null, { timeout: 120_000 });
  await env.browser.startTracing(page, { path: cfg.out, categories: [...(cfg.profile ? ["disabled-by-default-v8.cpu_profiler"] : []), "toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "blink.worker"] });
  await page.click("#run");
  await H.waitIdle(page, 1_800_000);
  await env.browser.stopTracing();
  status = await page.textContent("#status");
} finally {
  await env.stop();
}
if (!/done after/.test(status)) throw new Error(`pooltrace: the run did not finish: ${status}`);

const raw = JSON.parse(readFileSync(cfg.out, "utf8"));
const events = Array.isArray(raw) ? raw : raw.traceEvents;
const names = new Map();
for (const e of events) {
  if (e.ph === "M" && e.name === "thread_name") names.set(`${e.pid}/${e.tid}`, e.args.name);
}
// Each worker thread's message handlers, in time order. The page's
// messages to a worker are HandlePostMessage events; the messages between
// the crema worker and its helpers travel on MessagePorts (the page
// connects them: web/js/pool.js), whose handling Chromium traces as a
// SimpleWatcher::OnHandleReady task.
// Busy time is every task a thread runs (ThreadControllerImpl::RunTask):
// the worker's Go code also runs from timers (its yields), not only from
// messages.
const handlers = new Map(); // thread → [{ts, end}]
const tasks = new Map(); // thread → [{ts, end}]
const fromPage = new Map(); // thread → count of HandlePostMessage (the page's messages)
const allTasks = []; // every thread's tasks, of every Chromium process: {ts, end, cpu}
for (const e of events) {
  const t = `${e.pid}/${e.tid}`;
  if (e.ph === "X" && e.name === "ThreadControllerImpl::RunTask") allTasks.push({ ts: e.ts / 1000, end: (e.ts + e.dur) / 1000, cpu: (e.tdur ?? 0) / 1000 });
  if (e.ph !== "X" || !(names.get(t) || "").startsWith("DedicatedWorker")) continue;
  if (e.name === "HandlePostMessage") fromPage.set(t, (fromPage.get(t) || 0) + 1);
  if (e.name === "ThreadControllerImpl::RunTask") {
    if (!tasks.has(t)) tasks.set(t, []);
    tasks.get(t).push({ ts: e.ts / 1000, end: (e.ts + e.dur) / 1000, cpu: (e.tdur ?? 0) / 1000 });
  }
  if (e.name === "HandlePostMessage" || e.name === "SimpleWatcher::OnHandleReady") {
    if (!handlers.has(t)) handlers.set(t, []);
    handlers.get(t).push({ ts: e.ts / 1000, end: (e.ts + e.dur) / 1000 });
  }
}
for (const l of [...handlers.values(), ...tasks.values()]) l.sort((a, b) => a.ts - b.ts);
// The crema worker is the thread the page talks to most (the run's
// commands); a helper hears from the page once (its port).
const threads = [...handlers.keys()].filter((t) => handlers.get(t).length >= 10);
const worker = [...threads].sort((a, b) => (fromPage.get(b) || 0) - (fromPage.get(a) || 0))[0];
const helpers = threads.filter((t) => t !== worker);
if (!worker || !helpers.length) throw new Error(`pooltrace: could not tell the worker from the helpers (threads ${threads.join(", ")})`);
// A helper's answer is posted at the end of its handler (the share).
const posts = new Map(helpers.map((t) => [t, handlers.get(t).map((h) => h.end)]));

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : NaN;
};
const busy = (t) => sum(tasks.get(t).map((h) => h.end - h.ts));
const wh = handlers.get(worker);
// The latency of an answer: from the end of a helper's handler (its
// post) to the start of the worker's next handler.
const hop = [];
for (const h of helpers) {
  for (const p of posts.get(h) || []) {
    const next = wh.find((x) => x.ts >= p);
    if (next && next.ts - p < 50) hop.push(next.ts - p);
  }
}
const first = Math.min(...threads.map((t) => handlers.get(t)[0].ts));
const last = Math.max(...threads.map((t) => handlers.get(t).at(-1).end));
console.log(`pooltrace: ${cfg.size}², ${cfg.iters} iterations (Adam), ${helpers.length} helper(s), helper_main=${cfg.main ? 1 : 0}; ${status}`);
console.log(`traced span ${(last - first).toFixed(0)} ms; the trace is in ${cfg.out}`);
console.log(`crema worker: ${wh.length} messages handled (median ${median(wh.map((h) => h.end - h.ts)).toFixed(2)} ms a message), ${busy(worker).toFixed(0)} ms busy`);
for (const [i, h] of helpers.entries()) {
  const l = handlers.get(h);
  const gaps = l.slice(1).map((x, j) => x.ts - l[j].end);
  console.log(`helper ${i + 1}: ${l.length} messages (shares and weight slices; median ${median(l.map((x) => x.end - x.ts)).toFixed(2)} ms handling one), ${busy(h).toFixed(0)} ms busy; ` +
    `idle between messages ${sum(gaps).toFixed(0)} ms (median ${median(gaps).toFixed(2)} ms)`);
}
console.log(`an answer reaches the worker's handler in ${median(hop).toFixed(2)} ms (median of ${hop.length})`);

// The second half of the span, moment by moment (0.1 ms steps): who computes.
const half = first + (last - first) / 2;
const inside = (l, t) => l.some((h) => h.ts <= t && t < h.end);
const clip = (t) => tasks.get(t).filter((h) => h.end > half);
const wl = clip(worker);
const hl = helpers.map(clip);
const step = 0.1;
const idle = helpers.map(() => ({ worker: 0, other: 0, none: 0 }));
let both = 0;
const cursor = [wl, ...hl].map(() => 0);
const busyAt = (i, l, t) => {
  while (cursor[i] < l.length && l[cursor[i]].end <= t) cursor[i]++;
  return cursor[i] < l.length && l[cursor[i]].ts <= t;
};
for (let t = half; t < last; t += step) {
  const w = busyAt(0, wl, t);
  const hs = hl.map((l, i) => busyAt(i + 1, l, t));
  if (w && hs.some((x) => x)) both += step;
  hs.forEach((b, i) => {
    if (b) return;
    if (w) idle[i].worker += step;
    else if (hs.some((x, j) => x && j !== i)) idle[i].other += step;
    else idle[i].none += step;
  });
}
console.log(`\nthe second half of the span, ${(last - half).toFixed(0)} ms: the worker busy ${sum(wl.map((h) => h.end - Math.max(h.ts, half))).toFixed(0)} ms, ` +
  `of which ${both.toFixed(0)} ms while a helper computes`);
for (const [i, d] of idle.entries()) {
  console.log(`helper ${i + 1}: busy ${sum(hl[i].map((h) => h.end - Math.max(h.ts, half))).toFixed(0)} ms; idle ${(d.worker + d.other + d.none).toFixed(0)} ms: ` +
    `${d.worker.toFixed(0)} while the worker works, ${d.other.toFixed(0)} while another helper computes, ${d.none.toFixed(0)} while nobody does (messages in flight)`);
}

// CPU time, from each task's thread clock (tdur; a task's wall time also
// counts the moments its thread waited for a CPU): crema's threads, and
// every thread Chromium traced, against what the machine's CPUs could give
// in the second half. A task that started before the half counts in part.
const cpuAfter = (l) => sum(l.filter((h) => h.end > half).map((h) => h.cpu * Math.min(1, (h.end - half) / Math.max(h.end - h.ts, 1e-9))));
const ncpu = availableParallelism();
const crema = cpuAfter(wl) + sum(hl.map(cpuAfter));
const chromium = cpuAfter(allTasks);
console.log(`CPU time (thread clocks) in that half: the worker ${cpuAfter(wl).toFixed(0)} ms, ` +
  hl.map((l, i) => `helper ${i + 1} ${cpuAfter(l).toFixed(0)} ms`).join(", ") +
  `; crema's threads ${crema.toFixed(0)} ms, every traced Chromium thread ${chromium.toFixed(0)} ms, ` +
  `of the ${(ncpu * (last - half)).toFixed(0)} ms that ${ncpu} CPUs give (${(100 * crema / (ncpu * (last - half))).toFixed(0)} % and ${(100 * chromium / (ncpu * (last - half))).toFixed(0)} %)`);
// The helpers' CPU time per split call (a call is one share per helper;
// counted as the messages each helper began handling in the half: shares,
// and the rare weight slice), comparable between pool sizes.
const calls = sum(helpers.map((t) => handlers.get(t).filter((h) => h.ts >= half).length)) / helpers.length;
console.log(`the helpers' CPU time per split call: ${(sum(hl.map(cpuAfter)) / calls).toFixed(2)} ms (${calls.toFixed(0)} calls in the half); ` +
  `the worker's: ${(cpuAfter(wl) / calls).toFixed(2)} ms`);

if (cfg.profile) {
  // V8's samples (a Profile event per thread, then ProfileChunks): self
  // time per function in the second half.
  const profiles = new Map(); // id → {thread, start, nodes, samples, deltas}
  for (const e of events) {
    if (e.name === "Profile") profiles.set(e.id, { thread: `${e.pid}/${e.tid}`, start: e.args.data.startTime, nodes: new Map(), samples: [], deltas: [] });
  }
  for (const e of events) {
    const p = e.name === "ProfileChunk" && profiles.get(e.id);
    if (!p) continue;
    const cp = e.args.data.cpuProfile || {};
    for (const n of cp.nodes || []) p.nodes.set(n.id, n);
    p.samples.push(...(cp.samples || []));
    p.deltas.push(...(e.args.data.timeDeltas || []));
  }
  const label = (t) => (t === worker ? "crema worker" : `helper ${helpers.indexOf(t) + 1}`);
  for (const p of profiles.values()) {
    if (p.thread !== worker && !helpers.includes(p.thread)) continue;
    const self = new Map();
    let at = p.start;
    for (let i = 0; i < p.samples.length; i++) {
      at += p.deltas[i] || 0;
      if (at / 1000 < half) continue;
      const f = p.nodes.get(p.samples[i])?.callFrame.functionName || "(anonymous)";
      self.set(f, (self.get(f) || 0) + (p.deltas[i + 1] || 0) / 1000);
    }
    const all = sum([...self.values()]);
    console.log(`\n${label(p.thread)}: ${all.toFixed(0)} ms sampled, ${(self.get("(idle)") || 0).toFixed(0)} idle; the most self time:`);
    for (const [f, ms] of [...self].filter(([f]) => f !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      console.log(`  ${ms.toFixed(0).padStart(6)} ms ${(100 * ms / all).toFixed(1).padStart(5)} %  ${f}`);
    }
  }
}
