// worker.js starts crema's Go worker (the wasm/ command) inside this
// dedicated Web Worker, so that the page stays responsive during a run.
// The Go program then owns `onmessage`; the protocol is wasm/PROTOCOL.md.
//
// It prefers wasm/crema.wasm.gz (what `make dist` writes) and inflates it
// with DecompressionStream, falling back to wasm/crema.wasm (what the dev
// server builds, and what hosts without .gz get). A failed build on the dev
// server answers crema.wasm with the compiler's output, which is reported to
// the page as an error of stage "build".
"use strict";

// Messages that arrive before Go is running are kept for it.
self.cremaPending = [];
self.onmessage = (e) => self.cremaPending.push(e.data);

// The page's folder. A worker made from a Blob URL (the page in a sandboxed
// iframe) is told it in CREMA_BASE.
const base = self.CREMA_BASE || new URL(".", self.location.href).href;

// The page's ?simd=off|simd128, in this script's URL (or CREMA_SIMD in a
// Blob worker): the CPU backend's WebAssembly SIMD kernels turned off, or
// the relaxed ones (CREMA_WASM_SIMD: kernels/cpu/kernel_js.go).
const simd = self.CREMA_SIMD ?? new URL(self.location.href).searchParams.get("simd");

// The last lines Go printed, to explain an unexpected exit (a panic).
const lastLines = [];
const log = console.log.bind(console);
console.log = (...args) => {
  lastLines.push(args.join(" "));
  if (lastLines.length > 30) lastLines.shift();
  log(...args);
};

function fail(stage, message) {
  self.postMessage({ type: "error", stage, message });
}

async function wasmBytes() {
  if (typeof DecompressionStream === "function") {
    try {
      const r = await fetch(new URL("wasm/crema.wasm.gz", base));
      if (r.ok) {
        const buf = new Uint8Array(await r.arrayBuffer());
        if (buf[0] === 0x00 && buf[1] === 0x61) return buf; // the host already inflated it ("\0asm")
        if (buf[0] === 0x1f && buf[1] === 0x8b) {
          const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream("gzip"));
          return new Uint8Array(await new Response(stream).arrayBuffer());
        }
      }
    } catch {
      // fall through to the uncompressed file
    }
  }
  const r = await fetch(new URL("wasm/crema.wasm", base));
  if (!r.ok) {
    const text = await r.text().catch(() => "");
    const err = new Error(`wasm/crema.wasm: HTTP ${r.status}\n${text}`);
    err.stage = r.status === 500 ? "build" : "boot";
    throw err;
  }
  return new Uint8Array(await r.arrayBuffer());
}

(async () => {
  try {
    importScripts(new URL("wasm/wasm_exec.js", base).href);
  } catch (e) {
    fail("boot", `could not load wasm/wasm_exec.js: ${e.message}`);
    return;
  }
  let instance;
  const go = new Go();
  if (simd) go.env = { ...go.env, CREMA_WASM_SIMD: simd };
  let exitCode = "?";
  go.exit = (code) => {
    exitCode = code;
  };
  try {
    const bytes = await wasmBytes();
    ({ instance } = await WebAssembly.instantiate(bytes, go.importObject));
  } catch (e) {
    fail(e.stage || "boot", `could not start the worker: ${e.message}`);
    return;
  }
  // Go's memory, for the CPU backend's WebAssembly SIMD kernels
  // (kernels/cpu/wasmsimd): wasm_exec.js keeps the instance private.
  globalThis.cremaGoMemory = instance.exports.mem;
  try {
    await go.run(instance);
    fail("exit", `the Go worker exited (code ${exitCode}).\n${lastLines.join("\n")}`);
  } catch (e) {
    fail("exit", `the Go worker crashed: ${e.message}\n${lastLines.join("\n")}`);
  }
})();
