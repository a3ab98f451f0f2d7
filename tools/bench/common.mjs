// common.mjs: what bench.mjs (Chromium), gpu.mjs (Dawn in node) and the
// other benchmark scripts share: arguments, building crema's benchmark wasm,
// finding Go's wasm_exec.js, serving the benchmark page.

import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join, dirname, extname, normalize } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { wasmExecPath } from "../chromium.mjs";

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

// serveBench serves the benchmark page (tools/bench/page.html), tfjs' dist
// files from node_modules and crema's benchmark wasm (the file wasm) on
// 127.0.0.1; isolated adds COOP and COEP (tfjs' threaded wasm build).
// It resolves to {server, origin}.
export async function serveBench({ wasm, isolated = false }) {
  const NM = join(ROOT, "node_modules", "@tensorflow");
  const mounts = {
    "/tfjs/": join(NM, "tfjs", "dist"),
    "/tfjs-webgpu/": join(NM, "tfjs-backend-webgpu", "dist"),
    "/tfjs-wasm/": join(NM, "tfjs-backend-wasm", "dist"),
    "/bench/": join(ROOT, "tools", "bench"),
  };
  const files = {
    "/": join(ROOT, "tools", "bench", "page.html"),
    "/wasm_exec.js": wasmExecPath(),
    "/cremabench.wasm": wasm,
  };
  const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".map": "application/json" };
  const resolve = (path) => {
    if (files[path]) return files[path];
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (path.startsWith(prefix)) {
        const rel = normalize(path.slice(prefix.length));
        return rel.startsWith("..") ? null : join(dir, rel);
      }
    }
    return null;
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = resolve(path);
    if (!file || !existsSync(file)) {
      if (path !== "/favicon.ico") console.log(`bench: 404 ${path}`);
      res.writeHead(404).end();
      return;
    }
    const headers = { "Content-Type": types[extname(file)] || "application/octet-stream", "Cache-Control": "no-store" };
    if (isolated) {
      headers["Cross-Origin-Opener-Policy"] = "same-origin";
      headers["Cross-Origin-Embedder-Policy"] = "require-corp";
    }
    res.writeHead(200, headers);
    res.end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}
