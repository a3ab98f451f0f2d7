// report.mjs turns runSuite's results into the Markdown section of
// BENCHMARKS.md and writes it there, replacing only that section.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";

export const CONVS = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4",
  "conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1"];
const CH = { conv1_1: [3, 64], conv1_2: [64, 64], conv2_1: [64, 128], conv2_2: [128, 128], conv3_1: [128, 256],
  conv3_2: [256, 256], conv3_3: [256, 256], conv3_4: [256, 256], conv4_1: [256, 512], conv4_2: [512, 512],
  conv4_3: [512, 512], conv4_4: [512, 512], conv5_1: [512, 512] };

// The rows of the threads-on pass (bench.mjs): the CPU pair again on the
// page served cross-origin isolated, where tfjs' wasm backend runs threaded.
export const THREADED = { "crema CPU (Go wasm)": "crema CPU (Go wasm), isolated page", "tfjs wasm": "tfjs wasm, threads on" };

// Pairs: crema implementation, its TensorFlow.js peer, the target ratio
// (issue 10's for the CPU: ≤ 0.33× tfjs-wasm with threads off, ≤ 0.5× with
// them on).
export const PAIRS = [
  ["crema WebGPU", "tfjs webgpu", 0.5],
  ["crema CPU (Go wasm)", "tfjs wasm", 0.33],
  [THREADED["crema CPU (Go wasm)"], THREADED["tfjs wasm"], 0.5],
];

export function machine() {
  let model = "";
  try {
    const m = /Model name:\s*(.+)/.exec(execFileSync("lscpu", { encoding: "utf8" }));
    if (m) model = m[1].trim();
  } catch {}
  return `${model || (cpus()[0] || {}).model || "unknown CPU"}, ${cpus().length} logical CPUs`;
}

// labelConvs names each conv op of a profile by shape and order (forward in
// network order, backward reversed), for an image of size×size.
export function labelConvs(ops, size, isBackward) {
  const names = {};
  let h = size, block = 1;
  for (const c of CONVS) {
    const bl = Number(c[4]);
    while (block < bl) { h = Math.floor(h / 2); block++; }
    const k = `${CH[c][0]}→${CH[c][1]} ${h}×${h}`;
    (names[k] = names[k] || []).push(c);
  }
  const seen = {};
  for (const o of ops) {
    if (o.layer || !o.shape || !names[o.shape]) continue;
    const bwd = isBackward(o.op);
    const key = (bwd ? "b" : "f") + o.shape;
    const n = seen[key] || 0;
    seen[key] = n + 1;
    const list = names[o.shape];
    o.layer = list[bwd ? list.length - 1 - (n % list.length) : n % list.length];
  }
  return ops;
}

// convTimes returns {layer: {fwd, bwd}} in ms from a profile.
export function convTimes(impl, p, size) {
  if (!p || !p.ops) return null;
  const crema = impl.startsWith("crema");
  const isFwd = (op) => (crema ? op === "Conv3x3" : op === "Conv2D" || op === "FusedConv2D");
  const isBwd = (op) => (crema ? op === "Conv3x3Backward" : op === "Conv2DBackpropInput");
  const ops = p.ops.filter((o) => isFwd(o.op) || isBwd(o.op));
  if (!crema) labelConvs(ops, size, isBwd);
  const out = {};
  for (const o of ops) {
    if (!o.layer) continue;
    const t = (out[o.layer] = out[o.layer] || { fwd: 0, bwd: 0 });
    t[isBwd(o.op) ? "bwd" : "fwd"] += o.ms;
  }
  return out;
}

// summary sums a profile's ms by op, largest first.
export function summary(p) {
  const s = {};
  for (const o of p.ops) if (Number.isFinite(o.ms)) s[o.op] = (s[o.op] || 0) + o.ms;
  return Object.entries(s).sort((a, b) => b[1] - a[1]);
}

const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : "–");
const f1 = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : "–");
const mib = (b) => (b ? `${(b / 1048576).toFixed(0)} MiB` : "–");

export function markdown(res, meta) {
  const L = [];
  L.push(`Measured ${meta.date} with \`${meta.command}\`${meta.note ? ". " + meta.note : ""}`);
  L.push("");
  L.push(`- Machine: ${meta.machine}`);
  for (const line of meta.lines || []) L.push(`- ${line}`);
  L.push(`- Work per iteration: VGG-19 to conv5_1 (${res.config.pooling} pooling), content conv4_2, style conv1_1 … conv5_1 ` +
    `(Gram MSE), gradient w.r.t. the image, one Adam step, losses read back (waits for the device). Synthetic weights ` +
    `of VGG's shapes. ${res.config.warmup} warm-up iteration (cold: shaders and pipelines compiled), then ` +
    `${res.config.rounds} rounds × ${res.config.iters} iteration, implementations alternated A B C D A B C D; median of the measured iterations.`);
  L.push(`- First preview: from the start of a cold job (weights upload, content/style targets, first update) to the first ` +
    `image on the host. Peak memory: crema: most device bytes allocated through its Backend at once; tfjs: tf.profile()'s peakBytes.`);
  L.push("");
  L.push("| size | implementation | ms/iter (median) | min–max | vs peer | target | met | first preview ms | peak memory |");
  L.push("|---|---|---:|---:|---:|---:|:---:|---:|---:|");
  const missed = [];
  for (const size of res.config.sizes) {
    const S = res.sizes[size] || {};
    for (const [a, b, target] of PAIRS) {
      for (const name of [a, b]) {
        const s = S[name];
        if (!s) continue;
        let ratio = "", tgt = "", met = "";
        if (name === a) {
          tgt = `≤ ${target}×`;
          const pr = S[b] && S[b].median_ms;
          if (Number.isFinite(s.median_ms) && Number.isFinite(pr)) {
            const r = s.median_ms / pr;
            ratio = `${r.toFixed(2)}×`;
            met = r <= target ? "yes" : "**no**";
            if (r > target) missed.push({ size, a, b, r, target });
          } else {
            met = "n/a";
          }
        }
        const err = s.error ? ` (error: ${s.error.slice(0, 120)})` : "";
        L.push(`| ${size}² | ${name}${err} | ${f0(s.median_ms)} | ${Number.isFinite(s.min_ms) ? f0(s.min_ms) + "–" + f0(s.max_ms) : "–"} | ${ratio} | ${tgt} | ${met} | ${f0(s.first_preview_ms)} | ${mib(s.peak_bytes)} |`);
      }
    }
  }
  // Per-layer conv times at the largest profiled size.
  const profiled = [...res.config.sizes].reverse().find((sz) => Object.values(res.sizes[sz] || {}).some((s) => s.profile));
  if (profiled) {
    const S = res.sizes[profiled];
    const names = Object.keys(S).filter((n) => S[n].profile);
    const times = Object.fromEntries(names.map((n) => [n, convTimes(n, S[n].profile, profiled)]));
    L.push("");
    L.push(`Per-layer conv time at ${profiled}², ms, forward / input-gradient, one profiled iteration (crema: each op ` +
      `followed by a wait for the device, the wait's own cost subtracted; conv includes bias and ReLU (mask). tfjs: ` +
      `tf.profile() kernel times of Conv2D / Conv2DBackpropInput, without the separate Add/Relu kernels; ` +
      `"0" where the backend cannot time kernels).`);
    L.push("");
    L.push(`| layer | GFLOP | ${names.join(" | ")} |`);
    L.push(`|---|---:|${names.map(() => "---:").join("|")}|`);
    let h = profiled, block = 1;
    for (const c of CONVS) {
      const bl = Number(c[4]);
      while (block < bl) { h = Math.floor(h / 2); block++; }
      const gf = (2 * CH[c][0] * 9 * CH[c][1] * h * h) / 1e9;
      const cells = names.map((n) => {
        const t = times[n] && times[n][c];
        return t ? `${f1(t.fwd)} / ${f1(t.bwd)}` : "–";
      });
      L.push(`| ${c} | ${gf.toPrecision(3)} | ${cells.join(" | ")} |`);
    }
    L.push("");
    for (const n of names) {
      const p = S[n].profile;
      const sm = summary(p);
      const tot = sm.reduce((x, y) => x + y[1], 0);
      if (!tot) continue;
      L.push(`- Profile ${n} ${profiled}²: ` + sm.slice(0, 5).map(([op, t]) => `${op} ${f1(t)} ms (${((100 * t) / tot).toFixed(0)}%)`).join(", ") + ".");
    }
  }
  for (const m of missed) {
    // Profiles exist at the largest size only: explain with that one.
    const S = res.sizes[profiled] || res.sizes[m.size];
    const p = S[m.a] && S[m.a].profile;
    let why = "no profile";
    if (p) {
      const sm = summary(p);
      const tot = sm.reduce((x, y) => x + y[1], 0);
      why = `${sm[0][0]} dominates (${((100 * sm[0][1]) / tot).toFixed(0)}% of crema's profiled iteration at ${profiled}²)`;
      const ct = convTimes(m.a, p, profiled);
      const pt = S[m.b] && S[m.b].profile && convTimes(m.b, S[m.b].profile, profiled);
      if (ct) {
        let worst = null;
        for (const c of CONVS) {
          const t = ct[c];
          if (!t) continue;
          for (const dir of ["fwd", "bwd"]) {
            const peer = pt && pt[c] ? pt[c][dir] : 0;
            const excess = peer > 0 ? t[dir] - peer : t[dir];
            if (!worst || excess > worst.excess) worst = { c, dir, t: t[dir], peer, excess };
          }
        }
        if (worst) {
          why += `; largest single conv: ${worst.c} ${worst.dir === "fwd" ? "forward" : "input-gradient"} ${f1(worst.t)} ms` +
            (worst.peer > 0 ? ` vs tfjs ${f1(worst.peer)} ms` : "");
        }
      }
    }
    L.push(`- Target missed at ${m.size}²: ${m.a} is ${m.r.toFixed(2)}× ${m.b} (target ≤ ${m.target}×): ${why}.`);
  }
  return L.join("\n") + "\n";
}

// writeSection replaces (or appends) the section under heading in file,
// leaving every other section alone.
export function writeSection(file, heading, body) {
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const block = `${heading}\n\n${body}`;
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === heading.trim());
  if (start < 0) {
    text = text.replace(/\n*$/, "\n\n") + block;
  } else {
    const level = heading.match(/^#+/)[0].length;
    let end = lines.length;
    for (let i = start + 1; i < lines.length; i++) {
      const m = /^(#+)\s/.exec(lines[i]);
      if (m && m[1].length <= level) { end = i; break; }
    }
    const after = lines.slice(end).join("\n");
    text = lines.slice(0, start).join("\n") + (start > 0 ? "\n" : "") + block + (after ? "\n" + after : "");
  }
  writeFileSync(file, text.replace(/\n*$/, "\n"));
}
