// harness.js runs `make bench`'s comparison: implementations of the same
// work, each warmed up (a cold first job, whose time to first preview is
// recorded), then measured in rounds alternated A B C D A B C D …, medians
// over every measured iteration, and finally one profiled iteration each at
// the largest size.
// It runs in the browser page (bench.mjs) and under node (gpu.mjs); an
// implementation is {name, peer, init(), run(size, opts), profile(size)}.

export function median(a) {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// runSuite calls onSize(partial results) after each size and returns
// {sizes: {size: {impl: {iter_ms[], median_ms, min_ms,
// max_ms, setup_ms, first_preview_ms, profile, error, ...}}}}.
export async function runSuite(impls, cfg, log = console.log, onSize = null) {
  const out = { config: cfg, sizes: {}, impls: {} };
  const broken = {};
  for (const impl of impls) {
    try {
      out.impls[impl.name] = (await impl.init()) || {};
    } catch (e) {
      broken[impl.name] = String(e && e.message ? e.message : e);
      out.impls[impl.name] = { error: broken[impl.name] };
      log(`bench: ${impl.name}: unavailable: ${broken[impl.name]}`);
    }
  }
  const fail = (size, impl, e) => {
    const msg = String(e && e.message ? e.message : e);
    out.sizes[size][impl.name].error = msg;
    broken[impl.name + "@" + size] = msg;
    log(`bench: ${impl.name} ${size}²: error: ${msg}`);
  };
  const ok = (size, impl) => !broken[impl.name] && !broken[impl.name + "@" + size];
  for (const size of cfg.sizes) {
    out.sizes[size] = {};
    for (const impl of impls) out.sizes[size][impl.name] = { iter_ms: [] };
    // Warm-up: a cold job (pipelines and shaders compiled on first use), which
    // also gives the time to the first preview.
    for (const impl of impls) {
      if (!ok(size, impl)) continue;
      const t = performance.now();
      try {
        const r = await impl.run(size, { iterations: cfg.warmup, preview: true });
        const s = out.sizes[size][impl.name];
        s.first_preview_ms = r.first_preview_ms;
        s.warmup_ms = r.iter_ms;
        if (r.note) s.note = r.note;
        log(`bench: ${size}² warm-up ${impl.name}: first preview ${r.first_preview_ms.toFixed(0)} ms, ` +
          `iterations ${r.iter_ms.map((x) => x.toFixed(0)).join(", ")} ms (${((performance.now() - t) / 1000).toFixed(1)} s)`);
      } catch (e) {
        fail(size, impl, e);
      }
    }
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const impl of impls) {
        if (!ok(size, impl)) continue;
        try {
          const r = await impl.run(size, { iterations: cfg.iters, preview: false });
          const s = out.sizes[size][impl.name];
          s.iter_ms.push(...r.iter_ms);
          s.setup_ms = Math.min(s.setup_ms ?? Infinity, r.setup_ms);
          if (r.peak_bytes) s.peak_bytes = Math.max(s.peak_bytes || 0, r.peak_bytes);
          log(`bench: ${size}² round ${round}/${cfg.rounds} ${impl.name}: ${r.iter_ms.map((x) => x.toFixed(0)).join(", ")} ms/iter`);
        } catch (e) {
          fail(size, impl, e);
        }
      }
    }
    for (const impl of impls) {
      const s = out.sizes[size][impl.name];
      if (s.iter_ms.length) {
        s.median_ms = median(s.iter_ms);
        s.min_ms = Math.min(...s.iter_ms);
        s.max_ms = Math.max(...s.iter_ms);
      }
    }
    // One profiled iteration each, at the largest size only (SwiftShader is slow).
    if (cfg.profile && size === Math.max(...cfg.sizes)) {
      for (const impl of impls) {
        if (!ok(size, impl) || !impl.profile) continue;
        try {
          const p = await impl.profile(size);
          out.sizes[size][impl.name].profile = p;
          if (p.peak_bytes) out.sizes[size][impl.name].peak_bytes = Math.max(out.sizes[size][impl.name].peak_bytes || 0, p.peak_bytes);
          log(`bench: ${size}² profile ${impl.name}: ${p.ops.length} ops${p.timed === false ? " (backend cannot time kernels)" : ""}`);
        } catch (e) {
          log(`bench: ${size}² profile ${impl.name}: error: ${e && e.message ? e.message : e}`);
        }
      }
    }
    // Partial results after each size, so that a long run killed later
    // still leaves its figures.
    if (onSize) await onSize({ ...out, done: cfg.sizes.slice(0, cfg.sizes.indexOf(size) + 1) });
  }
  return out;
}

// cremaImpl wraps the Go wasm's cremaBench for backend "cpu" or "webgpu".
export function cremaImpl(name, backend, cfg) {
  const call = async (req) => JSON.parse(await globalThis.cremaBench(JSON.stringify(req)));
  const base = { backend, pooling: cfg.pooling, seed: 1 };
  return {
    name,
    async init() {
      // Open the backend with a tiny job so that init_ms is the backend's own.
      const r = await call({ ...base, size: 32, iterations: 1 });
      return { init_ms: r.init_ms, describe: r.result.describe };
    },
    async run(size, o) {
      const r = await call({ ...base, size, iterations: o.iterations, preview: o.preview });
      return { ...r.result, go_heap_bytes: r.go_heap_bytes };
    },
    async profile(size) {
      const r = await call({ ...base, size, profile: true });
      return { ops: r.profile.ops, summary: r.summary, peak_bytes: r.profile.peak_bytes, sync_ms: r.profile.sync_ms, timed: true };
    },
  };
}

// tfjsImpl runs tfjswork on tf's backend `backend` ("webgpu" or "wasm").
export function tfjsImpl(name, tf, backend, work, cfg) {
  let host;
  const use = async () => {
    if (tf.getBackend() !== backend) {
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
    }
    await tf.ready();
  };
  const opt = (size, o) => ({ size, pooling: cfg.pooling, seed: 1, ...o });
  return {
    name,
    async init() {
      host = work.syntheticWeights(1);
      const t = performance.now();
      await use();
      const info = { init_ms: performance.now() - t, version: tf.version && tf.version.tfjs };
      if (backend === "wasm") {
        info.simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
        info.threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
      }
      if (backend === "webgpu") {
        const b = tf.backend();
        info.timestamp_query = !!(b && b.supportTimestampQuery);
      }
      return info;
    },
    async run(size, o) {
      await use();
      const r = await work.tfjsBench(tf, host, opt(size, o));
      const m = tf.memory();
      r.live_bytes = m.numBytes;
      return r;
    },
    async profile(size) {
      await use();
      return work.tfjsProfile(tf, host, opt(size, { iterations: 2 }));
    },
  };
}
