// chromium.mjs: what every crema script that drives a browser or runs Go's
// wasm shares — Debian's Chromium (never a downloaded browser), the flags
// that give WebGPU through SwiftShader in a headless container, and where
// Go keeps wasm_exec.js.
//
// Environment: CHROMIUM (default /usr/bin/chromium), GOROOT (default
// `go env GOROOT`).

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The Chromium executable. */
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** WebGPU on SwiftShader (a CPU Vulkan), headless. disable_workgroup_init
 * turns off Dawn's zeroing of workgroup memory (a safety net for shaders
 * that read it before writing; crema's and TensorFlow.js' write it first):
 * SwiftShader compiles that zeroing so slowly — about 0.3 s per KiB of
 * workgroup memory, 5 s for a 16 KiB conv tile, against 0.2 s without it —
 * that creating crema's ~50 pipelines at start-up would take a minute.
 * Real GPUs compile it in microseconds. */
export function webgpuFlags(...dawnFeatures) {
  // Chromium keeps only the last --enable-dawn-features, so every Dawn
  // feature goes into one flag.
  return [
    "--enable-unsafe-webgpu",
    "--enable-features=Vulkan",
    "--use-vulkan=swiftshader",
    "--use-webgpu-adapter=swiftshader",
    "--use-angle=swiftshader",
    "--disable-vulkan-surface",
    `--enable-dawn-features=${["disable_workgroup_init", ...dawnFeatures].join(",")}`,
  ];
}

/** webgpuFlags() with no Dawn features of the caller's. */
export const WEBGPU_FLAGS = webgpuFlags();

/** Runs as root in a container and keeps Chromium off the (closed) network. */
export const QUIET_FLAGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

/** Launch options for playwright-core's chromium.launch. */
export function launchOptions({ webgpu = true, extra = [] } = {}) {
  return { executablePath: CHROMIUM, headless: true, args: [...(webgpu ? WEBGPU_FLAGS : []), ...QUIET_FLAGS, ...extra] };
}

/** Go's root, for lib/wasm/wasm_exec.js. */
export function goroot() {
  if (process.env.GOROOT) return process.env.GOROOT;
  try {
    return execFileSync("go", ["env", "GOROOT"], { encoding: "utf8" }).trim();
  } catch {
    return "/usr/local/go";
  }
}

/** The path of the installed Go's wasm_exec.js (lib/wasm since Go 1.24, misc/wasm before). */
export function wasmExecPath() {
  const root = goroot();
  for (const p of [join(root, "lib", "wasm", "wasm_exec.js"), join(root, "misc", "wasm", "wasm_exec.js")]) {
    if (existsSync(p)) return p;
  }
  throw new Error(`no wasm_exec.js under ${root}/lib/wasm or ${root}/misc/wasm`);
}
