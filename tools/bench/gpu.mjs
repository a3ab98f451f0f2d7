// gpu.mjs is the benchmark for a machine with a real GPU: crema's WebGPU
// backend (the same Go wasm as `make bench`, run under node with Go's
// wasm_exec.js) against TensorFlow.js' webgpu backend, both on
// navigator.gpu from npm's `webgpu` package (Dawn for node), at 256² and
// 512², on the same work as tools/bench/bench.mjs; it writes the same table
// under "## On a GPU: crema vs TensorFlow.js (Dawn in node)" in BENCHMARKS.md.
//
//   node tools/bench/gpu.mjs [--sizes 256,512] [--rounds 3] [--iters 3]
//       [--warmup 1] [--pooling avg|max] [--no-profile] [--no-write]
//       [--dawn enable-dawn-features=allow_unsafe_apis,...]
//
// It needs a Vulkan loader (libvulkan.so.1) and an ICD: on an NVIDIA machine
// the driver's; here, for a smoke test on the CPU, Chromium's SwiftShader:
//
//   LD_LIBRARY_PATH=/usr/lib/chromium \
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
//   node tools/bench/gpu.mjs --sizes 64 --rounds 1 --iters 1 --no-write
//
// npm's webgpu ships prebuilt dawn.node binaries (dist/linux-x64/); its
// postinstall only clears a macOS quarantine flag, so nothing needs rebuilding.

import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, parseArgs, buildWasm, wasmExecPath, today } from "./common.mjs";
import { markdown, writeSection, machine } from "./report.mjs";
import { runSuite, cremaImpl, tfjsImpl } from "./harness.js";
import * as work from "./tfjswork.js";

const HEADING = "## On a GPU: crema vs TensorFlow.js (Dawn in node)";

const cfg = parseArgs(process.argv.slice(2), {
  sizes: [256, 512],
  rounds: 3,
  iters: 3,
  warmup: 1,
  pooling: "avg",
  profile: true,
  only: "",
  out: join(ROOT, "BENCHMARKS.md"),
  write: true,
  dawn: "enable-dawn-features=allow_unsafe_apis",
  timeout: 900,
});

const killer = setTimeout(() => {
  console.log(`gpu: timed out after ${cfg.timeout} s`);
  process.exit(124);
}, cfg.timeout * 1000);

// navigator.gpu from Dawn, before tfjs' webgpu backend looks for it.
const { create, globals } = await import("webgpu");
Object.assign(globalThis, globals);
const gpu = create(cfg.dawn ? cfg.dawn.split(",") : []);
if (globalThis.navigator) Object.defineProperty(globalThis.navigator, "gpu", { value: gpu, configurable: true });
else globalThis.navigator = { gpu };

const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
if (!adapter) {
  console.log("gpu: Dawn found no WebGPU adapter. It needs libvulkan.so.1 and a Vulkan ICD (the NVIDIA driver's, " +
    "or LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for SwiftShader).");
  process.exit(2);
}
const ai = adapter.info || {};
const adapterName = [ai.vendor, ai.architecture, ai.device, ai.description].filter(Boolean).join(" / ") || "unnamed adapter";
console.log(`gpu: adapter ${adapterName}`);

// crema's Go wasm, as in the browser.
const wasm = buildWasm((s) => console.log(s.replace(/^bench/, "gpu")));
await import(pathToFileURL(wasmExecPath()).href); // defines globalThis.Go
const go = new Go();
const { instance } = await WebAssembly.instantiate(readFileSync(wasm), go.importObject);
go.run(instance);
while (!globalThis.cremaBenchReady) await new Promise((r) => setTimeout(r, 10));

const tf = await import("@tensorflow/tfjs");
await import("@tensorflow/tfjs-backend-webgpu");

const impls = [
  cremaImpl("crema WebGPU", "webgpu", cfg),
  tfjsImpl("tfjs webgpu", tf, "webgpu", work, cfg),
].filter((i) => !cfg.only || cfg.only.split(",").some((o) => i.name.includes(o)));

let gpuName = "";
try {
  gpuName = execFileSync("nvidia-smi", ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], { encoding: "utf8" }).trim();
} catch {}

const t0 = Date.now();
console.log(`gpu: sizes ${cfg.sizes.join(", ")}; ${cfg.warmup} warm-up + ${cfg.rounds} rounds × ${cfg.iters} iteration(s); ${cfg.pooling} pooling`);
const res = await runSuite(impls, cfg, (s) => console.log(s.replace(/^bench/, "gpu")));
console.log(`gpu: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
const impl = res.impls;
const lines = [
  `Runtime: node ${process.version} with npm webgpu (Dawn) ${JSON.parse(readFileSync(join(ROOT, "node_modules", "webgpu", "package.json"), "utf8")).version}; ` +
    `WebGPU adapter: ${adapterName}${gpuName ? "; nvidia-smi: " + gpuName : ""}`,
  `TensorFlow.js ${impl["tfjs webgpu"]?.version || "?"}; webgpu timestamp queries ${impl["tfjs webgpu"]?.timestamp_query ? "on" : "off"}`,
  `crema: transfer.Run through model/session; WebGPU backend ${impl["crema WebGPU"]?.describe || impl["crema WebGPU"]?.error || "?"}`,
  `Backend start-up (not in the figures): ` + Object.entries(impl).map(([n, i]) => `${n} ${i.init_ms != null ? i.init_ms.toFixed(0) + " ms" : "n/a"}`).join(", "),
];
const md = markdown(res, {
  date: today(),
  command: "node tools/bench/gpu.mjs " + process.argv.slice(2).join(" "),
  machine: machine(),
  lines,
  note: process.env.BENCH_NOTE || "",
});
console.log("\n" + md);
if (cfg.write) {
  writeSection(cfg.out, HEADING, md);
  console.log(`gpu: wrote "${HEADING}" in ${cfg.out}`);
}
clearTimeout(killer);
process.exit(0);
