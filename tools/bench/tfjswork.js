// tfjswork.js is TensorFlow.js' side of `make bench`: the same work as
// crema's (tools/bench/cremabench), written the way a web developer would
// with tfjs: VGG-19 to conv5_1 with tf.fused.conv2d (bias and ReLU fused;
// tfjs falls back to unfused ops under a gradient), 2×2 pools, the content
// loss mean((F − P)²) at conv4_2 and the style loss Σ_l (1/5)·mean((G_l −
// A_l)²) with G_l = F_lᵀF_l / (H_l·W_l) by tf.matMul over conv1_1 … conv5_1,
// the gradient with respect to the image only (the weights are constants, so
// tfjs' tape skips the filter gradients, as crema does), one tf.train.adam
// step per iteration, and `await loss.data()` at the end of each iteration,
// which waits for the device.
//
// It imports nothing: the caller passes `tf` (the browser page's global, or
// the npm package under node), so the same code runs in both.

// VGG19 to conv5_1: [name, Cin, Cout], "pool" between blocks.
export const VGG = [
  ["conv1_1", 3, 64], ["conv1_2", 64, 64], "pool",
  ["conv2_1", 64, 128], ["conv2_2", 128, 128], "pool",
  ["conv3_1", 128, 256], ["conv3_2", 256, 256], ["conv3_3", 256, 256], ["conv3_4", 256, 256], "pool",
  ["conv4_1", 256, 512], ["conv4_2", 512, 512], ["conv4_3", 512, 512], ["conv4_4", 512, 512], "pool",
  ["conv5_1", 512, 512],
];
export const CONTENT = "conv4_2";
export const STYLE = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"];

// rng is a small deterministic generator (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// syntheticWeights makes host arrays of VGG's shapes: kernels HWIO [3, 3,
// Cin, Cout] (tfjs' layout), uniform with He's standard deviation; biases
// small, of both signs. Values differ from crema's; shapes and FLOPs do not.
export function syntheticWeights(seed = 1) {
  const r = rng(seed);
  const out = {};
  for (const s of VGG) {
    if (s === "pool") continue;
    const [name, cin, cout] = s;
    const a = Math.sqrt(3) * Math.sqrt(2 / (9 * cin));
    const w = new Float32Array(9 * cin * cout);
    for (let i = 0; i < w.length; i++) w[i] = (2 * r() - 1) * a;
    const b = new Float32Array(cout);
    for (let i = 0; i < cout; i++) b[i] = (2 * r() - 1) * 0.08;
    out[name] = { cin, cout, w, b };
  }
  return out;
}

function noiseImage(seed, size) {
  const r = rng(seed);
  const a = new Float32Array(size * size * 3);
  for (let i = 0; i < a.length; i++) a[i] = r() * 255 - 120;
  return a;
}

function features(tf, x, W, pooling) {
  let h = x;
  const f = {};
  for (const s of VGG) {
    if (s === "pool") {
      h = pooling === "max" ? tf.maxPool(h, 2, 2, "valid") : tf.avgPool(h, 2, 2, "valid");
      continue;
    }
    const name = s[0];
    h = tf.fused.conv2d({ x: h, filter: W[name].w, bias: W[name].b, strides: 1, pad: "same", activation: "relu" });
    f[name] = h;
  }
  return f;
}

function gram(tf, F) {
  const [, h, w, c] = F.shape;
  const m = tf.reshape(F, [h * w, c]);
  return tf.div(tf.matMul(m, m, true, false), h * w);
}

// Job holds one run's device state: weights, targets, the image and Adam.
class Job {
  constructor(tf, host, opt) {
    this.tf = tf;
    this.opt = opt;
    const s = opt.size;
    this.W = {};
    for (const [name, l] of Object.entries(host)) {
      this.W[name] = { w: tf.tensor4d(l.w, [3, 3, l.cin, l.cout]), b: tf.tensor1d(l.b) };
    }
    const content = noiseImage((opt.seed || 1) * 7 + 1, s);
    const style = noiseImage((opt.seed || 1) * 7 + 2, s);
    this.targets = tf.tidy(() => {
      const fc = features(tf, tf.tensor4d(content, [1, s, s, 3]), this.W, opt.pooling);
      const fs = features(tf, tf.tensor4d(style, [1, s, s, 3]), this.W, opt.pooling);
      return { P: fc[CONTENT], A: STYLE.map((l) => gram(tf, fs[l])) };
    });
    this.x = tf.variable(tf.tensor4d(content, [1, s, s, 3]), true, "image");
    this.adam = tf.train.adam(1, 0.9, 0.999, 1e-8);
  }

  loss() {
    const tf = this.tf;
    const f = features(tf, this.x, this.W, this.opt.pooling);
    let total = tf.mean(tf.squaredDifference(f[CONTENT], this.targets.P));
    STYLE.forEach((l, i) => {
      total = tf.add(total, tf.mul(tf.mean(tf.squaredDifference(gram(tf, f[l]), this.targets.A[i])), 1 / STYLE.length));
    });
    return total;
  }

  // step does one update and returns the loss, read back (which waits).
  async step() {
    const cost = this.adam.minimize(() => this.loss(), true, [this.x]);
    const v = (await cost.data())[0];
    cost.dispose();
    return v;
  }

  // preview reads the image back and converts it to 8-bit RGBA.
  async preview() {
    const d = await this.x.data();
    const px = new Uint8ClampedArray((d.length / 3) * 4);
    for (let i = 0, j = 0; i < d.length; i += 3, j += 4) {
      px[j] = d[i] + 120;
      px[j + 1] = d[i + 1] + 120;
      px[j + 2] = d[i + 2] + 120;
      px[j + 3] = 255;
    }
    return px;
  }

  dispose() {
    const tf = this.tf;
    for (const l of Object.values(this.W)) tf.dispose([l.w, l.b]);
    tf.dispose([this.targets.P, ...this.targets.A, this.x]);
    this.adam.dispose();
  }
}

// tfjsBench runs one job on tf's current backend: {setup_ms, iter_ms[],
// first_preview_ms, losses[]}, times in milliseconds from the upload of
// the weights (host arrays from syntheticWeights).
export async function tfjsBench(tf, host, opt) {
  const t0 = performance.now();
  const job = new Job(tf, host, opt);
  try {
    await job.targets.P.data(); // targets done
    const res = { setup_ms: performance.now() - t0, iter_ms: [], losses: [], first_preview_ms: 0 };
    let t = performance.now();
    for (let i = 0; i < opt.iterations; i++) {
      res.losses.push(await job.step());
      const now = performance.now();
      res.iter_ms.push(now - t);
      if (i === 0 && opt.preview) {
        await job.preview();
        res.first_preview_ms = performance.now() - t0;
      }
      t = performance.now();
    }
    return res;
  } finally {
    job.dispose();
  }
}

// tfjsProfile runs two updates and profiles the second with tf.profile:
// {ops: [{op, shape, ms, layer}], peak_bytes, timed}. timed is false when the
// backend cannot time kernels (WebGPU without timestamp queries reports 0).
export async function tfjsProfile(tf, host, opt) {
  const job = new Job(tf, host, opt);
  const check = tf.env().getBool("CHECK_COMPUTATION_FOR_ERRORS");
  tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
  try {
    await job.step();
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await job.step();
    });
    const wall = performance.now() - t0;
    const ops = info.kernels.map((k) => {
      const o = { op: k.name, ms: typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : NaN, shape: "" };
      if (/Conv2D/.test(k.name) && k.inputShapes.length >= 2 && k.inputShapes[1]) {
        // Conv2D / FusedConv2D: x [1, H, W, Cin]; Conv2DBackpropInput: dy [1, H, W, Cout]. Filter [3, 3, Cin, Cout].
        const [, h, w] = k.inputShapes[0];
        const f = k.inputShapes[1];
        if (f.length === 4) o.shape = `${f[2]}→${f[3]} ${h}×${w}`;
      }
      return o;
    });
    return { ops, peak_bytes: info.peakBytes, timed: ops.some((o) => o.ms > 0), wall_ms: wall };
  } finally {
    tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", check);
    job.dispose();
  }
}
