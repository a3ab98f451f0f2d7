// main.mjs computes crema's independent reference for VGG-19 with
// TensorFlow.js: the post-ReLU features conv1_1 … conv3_4 (max pooling) of a
// small non-square image and the input gradients of two sums of squared
// features, on the real Keras weights in ../shared/weights/vgg19-keras-conv1-3.
// tools/tfjsref/tfjsref_test.go (go test ./tools/tfjsref) checks crema's
// converter and network against it.
//
// Regenerate the fixture (from the repository root; `make testdata-tfjs` runs
// exactly this):
//
//   node tools/tfjsref/main.mjs ../shared/weights/vgg19-keras-conv1-3 testdata
//
// It writes testdata/tfjsref_48x40.json (layout, statistics, sampling rule)
// and testdata/tfjsref_48x40.bin (little-endian float32 arrays the JSON points
// into). Nothing from ../shared is copied: the fixture holds only the image,
// outputs of the network and their statistics (about 110 kB in all).
// Runs in about 7 s; the output is byte-for-byte reproducible.
//
// Independence: the network is built here by hand from the raw shard bytes
// with tf.conv2d / tf.relu / tf.maxPool in TensorFlow.js' own NHWC layout
// and HWIO kernels, exactly as the shards store them, on tfjs' pure-JS "cpu"
// backend. It shares no code with crema's converter, weight format, kernels
// or preprocessing; the gradients come from tf.grad (tfjs' autodiff).
//
// What the fixture holds (all tensors in CHW order, channel-major):
//   - image: the RGB input, [3, 40, 48] in [0, 1], from a closed-form
//     formula below (rounded to float32; the Go test reads it from here);
//   - preprocessing: Keras "caffe" mode, x = BGR(image)·255 − [103.939,
//     116.779, 123.68], done with tf ops;
//   - per layer conv1_1 … conv3_4 (post-ReLU): its shape, max, Σ, Σ² and
//     non-zero count over the whole tensor, the sum of every channel, and the
//     values at 1024 fixed CHW indices idx_k = (k·104729 + 17) mod N;
//   - gradients with respect to the *network input* x ([3, 40, 48], BGR,
//     preprocessed: what model.Pass.Backward returns), in full, of
//       "conv3_4":      L = Σ conv3_4² (through the whole depth), and
//       "style_layers": L = Σ_l w_l·Σ conv_l² over conv1_1, conv2_1, conv3_1,
//                      with w_l = 1/Σ conv_l² of this image (stored, float32),
//                      so each layer contributes alike and Backward's
//                      accumulation of gradients given at several layers is
//                      exercised.
import * as tf from "@tensorflow/tfjs";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";

const [, , weightsDir = "../shared/weights/vgg19-keras-conv1-3", outDir = "testdata"] = process.argv;

const W = 48; // image width
const H = 40; // image height
const SAMPLES = 1024;
const PRIME = 104729; // coprime with every C·H·W here, so the indices are distinct
const SAMPLE_FIRST = 17;
const MEAN_BGR = [103.939, 116.779, 123.68];

// VGG-19's first eight convolutions as the weights README lists them: shard
// file, crema name, input and output channels. Pools follow conv1_2, conv2_2.
const CONVS = [
  ["group1-shard1of1", "conv1_1", 3, 64],
  ["group2-shard1of1", "conv1_2", 64, 64],
  ["group3-shard1of1", "conv2_1", 64, 128],
  ["group4-shard1of1", "conv2_2", 128, 128],
  ["group5-shard1of1", "conv3_1", 128, 256],
  ["group6-shard1of1", "conv3_2", 256, 256],
  ["group7-shard1of1", "conv3_3", 256, 256],
  ["group8-shard1of1", "conv3_4", 256, 256],
];
const POOL_AFTER = new Set(["conv1_2", "conv2_2"]);

function fail(msg) {
  console.error("tfjsref: " + msg);
  process.exit(1);
}

// readShard reads one group file: the kernel [3, 3, cin, cout] (HWIO) then the
// bias [cout], float32 little-endian.
function readShard(file, cin, cout) {
  const path = join(weightsDir, file);
  let buf;
  try {
    buf = readFileSync(path);
  } catch (e) {
    fail(`cannot read ${path}: ${e.message}`);
  }
  const nk = 9 * cin * cout;
  if (buf.length !== 4 * (nk + cout)) {
    fail(`${path} is ${buf.length} bytes, want ${4 * (nk + cout)} (kernel 3x3x${cin}x${cout} + bias ${cout})`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const vals = new Float32Array(nk + cout);
  for (let i = 0; i < vals.length; i++) vals[i] = dv.getFloat32(4 * i, true);
  return {
    kernel: tf.tensor4d(vals.subarray(0, nk), [3, 3, cin, cout]),
    bias: tf.tensor1d(vals.subarray(nk)),
    sha256: createHash("sha256").update(buf).digest("hex"),
  };
}

// image is the RGB test picture, [3, H, W] in [0, 1]: crossing colour waves
// and a soft red disc, so every layer sees edges, gradients and flat parts.
function image() {
  const img = new Float32Array(3 * H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x / (W - 1);
      const v = y / (H - 1);
      let r = 0.5 + 0.45 * Math.sin(2 * Math.PI * (1.3 * u + 0.4 * v) + 0.3);
      let g = 0.5 + 0.45 * Math.sin(2 * Math.PI * (0.7 * u - 1.1 * v) + 1.7);
      let b = 0.5 + 0.45 * Math.cos(2 * Math.PI * 2.1 * u * v + 0.5);
      const d = Math.hypot(x - 30, y - 15);
      const t = 1 / (1 + Math.exp(1.5 * (d - 9)));
      r = (1 - t) * r + t * 0.9;
      g = (1 - t) * g + t * 0.2;
      b = (1 - t) * b + t * 0.1;
      img[0 * H * W + y * W + x] = r;
      img[1 * H * W + y * W + x] = g;
      img[2 * H * W + y * W + x] = b;
    }
  }
  return img;
}

// toCHW copies a [1, h, w, c] tensor's values into CHW order.
function toCHW(t) {
  const [, h, w, c] = t.shape;
  const src = t.dataSync();
  const dst = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) dst[ch * h * w + y * w + x] = src[(y * w + x) * c + ch];
    }
  }
  return dst;
}

async function main() {
  await tf.setBackend("cpu");
  await tf.ready();

  const layers = CONVS.map(([file, name, cin, cout]) => ({ name, cin, cout, file, ...readShard(file, cin, cout) }));

  // Cross-check the shapes against the original manifest (the shards carry
  // no header of their own).
  const manifest = JSON.parse(readFileSync(join(weightsDir, "model.json"), "utf8"));
  CONVS.forEach(([file, name, cin, cout], i) => {
    const g = manifest.weightsManifest[i];
    const want = JSON.stringify([[3, 3, cin, cout], [cout]]);
    const got = JSON.stringify(g.weights.map((w) => w.shape));
    if (g.paths[0] !== file || got !== want) fail(`model.json group ${i + 1} is ${g.paths[0]} ${got}, want ${file} ${want}`);
  });

  const rgb = image();

  // x: [1, H, W, 3] BGR, ×255, minus the Keras/Caffe mean.
  const x = tf.tidy(() => {
    const nhwc = tf.tensor3d(rgb, [3, H, W]).transpose([1, 2, 0]); // [H, W, 3] RGB
    const bgr = tf.reverse(nhwc, 2);
    return bgr.mul(255).sub(tf.tensor1d(MEAN_BGR)).expandDims(0);
  });

  // forward returns every conv's post-ReLU output, by name.
  const forward = (inp) => {
    const out = {};
    let a = inp;
    for (const l of layers) {
      a = tf.relu(tf.add(tf.conv2d(a, l.kernel, 1, "same"), l.bias));
      out[l.name] = a;
      if (POOL_AFTER.has(l.name)) a = tf.maxPool(a, 2, 2, "valid");
    }
    return out;
  };

  const feats = forward(x);

  const blobs = []; // Float32Arrays, concatenated into the .bin
  let offset = 0; // in float32 elements
  const put = (arr) => {
    blobs.push(arr);
    const at = { offset, length: arr.length };
    offset += arr.length;
    return at;
  };

  const fixture = {
    about:
      "Independent TensorFlow.js reference for crema's VGG-19 (see tools/tfjsref/main.mjs). " +
      "Offsets and lengths count float32 elements in the .bin; all tensors are CHW.",
    command: "node tools/tfjsref/main.mjs ../shared/weights/vgg19-keras-conv1-3 testdata",
    tfjs_version: tf.version.tfjs,
    tfjs_backend: tf.getBackend(),
    weights: "../shared/weights/vgg19-keras-conv1-3",
    weights_sha256: Object.fromEntries(layers.map((l) => [l.file, l.sha256])),
    binary: `tfjsref_${W}x${H}.bin`,
    width: W,
    height: H,
    pooling: "max",
    preprocess: { channel_order: "BGR", scale: 255, mean: MEAN_BGR, std: [1, 1, 1] },
    image: { about: "RGB in [0, 1], [3, H, W]", ...put(rgb) },
    sample_rule: `samples[k] = feature[idx_k], idx_k = (k*step + first) mod N, k = 0..count-1, N = C*H*W (CHW index)`,
    sample_step: PRIME,
    sample_first: SAMPLE_FIRST,
    sample_count: SAMPLES,
    layers: [],
    gradients: [],
  };

  const sumsq = {};
  for (const l of layers) {
    const t = feats[l.name];
    const [, h, w, c] = t.shape;
    const v = toCHW(t);
    const n = v.length;
    let mx = -Infinity;
    let s = 0;
    let s2 = 0;
    let nz = 0;
    for (const f of v) {
      mx = Math.max(mx, f);
      s += f;
      s2 += f * f;
      if (f !== 0) nz++;
    }
    const chan = new Float32Array(c);
    for (let ch = 0; ch < c; ch++) {
      let cs = 0;
      for (let i = ch * h * w; i < (ch + 1) * h * w; i++) cs += v[i];
      chan[ch] = cs;
    }
    const samp = new Float32Array(SAMPLES);
    for (let k = 0; k < SAMPLES; k++) {
      samp[k] = v[Number((BigInt(k) * BigInt(PRIME) + BigInt(SAMPLE_FIRST)) % BigInt(n))];
    }
    sumsq[l.name] = s2;
    fixture.layers.push({
      name: l.name,
      shape: [c, h, w],
      max: mx,
      sum: s,
      sum_squares: s2,
      nonzero: nz,
      channel_sums: put(chan),
      samples: put(samp),
    });
  }

  const losses = [
    { name: "conv3_4", terms: [{ layer: "conv3_4", weight: 1 }] },
    {
      name: "style_layers",
      terms: ["conv1_1", "conv2_1", "conv3_1"].map((layer) => ({ layer, weight: Math.fround(1 / sumsq[layer]) })),
    },
  ];
  for (const loss of losses) {
    const f = (inp) => {
      const o = forward(inp);
      return tf.addN(loss.terms.map((t) => tf.sum(tf.square(o[t.layer])).mul(t.weight)));
    };
    const g = tf.tidy(() => tf.grad(f)(x));
    const v = toCHW(g);
    let ma = 0;
    for (const e of v) ma = Math.max(ma, Math.abs(e));
    const lv = tf.tidy(() => f(x).dataSync()[0]);
    fixture.gradients.push({
      name: loss.name,
      loss: "L = " + loss.terms.map((t) => `${t.weight}·Σ ${t.layer}²`).join(" + "),
      terms: loss.terms,
      loss_value: lv,
      about: "dL/dx, x the preprocessed network input (BGR, caffe), [3, H, W]",
      max_abs: ma,
      ...put(v),
    });
  }

  const bin = Buffer.alloc(4 * offset);
  let at = 0;
  for (const b of blobs) for (const f of b) at = bin.writeFloatLE(f, at);

  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `tfjsref_${W}x${H}`);
  writeFileSync(base + ".bin", bin);
  writeFileSync(base + ".json", JSON.stringify(fixture, null, 1) + "\n");
  console.log(`tfjsref: wrote ${base}.json and ${base}.bin (${bin.length} bytes) with tfjs ${tf.version.tfjs} (${tf.getBackend()})`);
  for (const l of fixture.layers) console.log(`  ${l.name} [${l.shape}] max ${l.max.toPrecision(6)} nonzero ${l.nonzero}`);
  for (const g of fixture.gradients) console.log(`  grad ${g.name}: ${g.loss} = ${g.loss_value.toPrecision(6)}, max|dL/dx| ${g.max_abs.toPrecision(6)}`);
}

main().catch((e) => fail(e.stack || String(e)));
