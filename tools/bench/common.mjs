// common.mjs: what bench.mjs (Chromium) and gpu.mjs (Dawn in node) share:
// arguments, building crema's benchmark wasm, finding Go's wasm_exec.js.

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function parseArgs(argv, defaults) {
  const cfg = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`bench: unexpected argument ${a}`);
    const key = m[1].replace(/-/g, "_");
    let v = m[2];
    if (key.startsWith("no_")) { cfg[key.slice(3)] = false; continue; }
    if (v === undefined) {
      if (typeof cfg[key] === "boolean") { cfg[key] = true; continue; }
      v = argv[++i];
    }
    if (!(key in cfg)) throw new Error(`bench: unknown option --${m[1]} (known: ${Object.keys(cfg).join(", ")})`);
    if (Array.isArray(cfg[key])) cfg[key] = String(v).split(",").map(Number);
    else if (typeof cfg[key] === "number") cfg[key] = Number(v);
    else cfg[key] = v;
  }
  return cfg;
}

export { goroot, wasmExecPath } from "../chromium.mjs";

// buildWasm builds tools/bench/cremawasm into a temporary folder (nothing is
// written into the repository) and returns its path.
export function buildWasm(log = console.log) {
  const dir = join(tmpdir(), "crema-bench");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, "cremabench.wasm");
  log(`bench: building ${out}`);
  execFileSync("go", ["build", "-o", out, "./tools/bench/cremawasm"], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, GOOS: "js", GOARCH: "wasm" },
  });
  return out;
}

export function today() {
  return new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";
}
