// run.mjs runs a Go js/wasm program (a `go test` binary of ./kernels/webgpu/
// or ./model/transfer/) in node with navigator.gpu from Dawn (npm package
// "webgpu"), so the WebGPU backend meets a native GPU without a browser: on
// a machine with a GPU driver it uses the real GPU (Vulkan/Metal/D3D12);
// here it can use Chromium's SwiftShader with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.
//
//   node tools/gpubench/run.mjs prog.wasm [args...]
//
// It is go test's -exec program through tools/gpubench/gowasm-dawn.
// Environment: DAWN_OPTIONS, space-separated options for webgpu's create()
// (e.g. "backend=vulkan" or "adapter=NVIDIA H200"); GOROOT as for go.

import { create, globals } from "webgpu";
import fs from "node:fs";
import path from "node:path";
import { wasmExecPath } from "../chromium.mjs";
import { pathToFileURL } from "node:url";

const [, , wasmPath, ...progArgs] = process.argv;
if (!wasmPath) {
  console.error("gpubench: usage: run.mjs prog.wasm [args...]");
  process.exit(2);
}


Object.assign(globalThis, globals);
const gpu = create(process.env.DAWN_OPTIONS ? process.env.DAWN_OPTIONS.split(" ").filter(Boolean) : []);
Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
globalThis.fs = fs;
globalThis.path = path;

let execJS;
try {
  execJS = wasmExecPath();
} catch (e) {
  console.error(`gpubench: ${e.message}`);
  process.exit(2);
}
await import(pathToFileURL(execJS).href);

const go = new globalThis.Go();
go.argv = [wasmPath, ...progArgs];
go.env = Object.assign({ TMPDIR: process.env.TMPDIR || "/tmp" }, process.env);
go.exit = (code) => process.exit(code);
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), go.importObject);
await go.run(instance);
