// run.mjs runs a Go js/wasm program (typically a test binary built by
// `GOOS=js GOARCH=wasm go test`) inside a headless browser with WebGPU
// enabled, so that syscall/js code meets a real navigator.gpu: Chromium
// (Dawn on SwiftShader, through playwright-core) by default, or Firefox
// (wgpu/Naga on Vulkan, lavapipe here, through puppeteer-core over WebDriver
// BiDi) with WASMTEST_BROWSER=firefox — two independent WebGPU
// implementations and shader compilers.
//
//   node tools/wasmtest/run.mjs prog.wasm [args...]
//
// It is meant as go test's -exec program (see tools/wasmtest/gowasm-browser
// and gowasm-firefox): go passes the binary path, then the -test.* arguments.
// The runner serves the binary and Go's wasm_exec.js on localhost (a secure
// context, which WebGPU requires), loads a tiny page that starts the program
// with those arguments, streams the program's stdout/stderr (which
// wasm_exec.js sends to the console) to this process' stdout, and exits with
// the program's exit code. It never downloads a browser: it uses CHROMIUM
// (default /usr/bin/chromium) or FIREFOX (default /usr/bin/firefox-esr).
//
// Environment:
//   WASMTEST_BROWSER  chromium (default) or firefox
//   CHROMIUM          Chromium's executable (default /usr/bin/chromium)
//   FIREFOX           Firefox's executable (default /usr/bin/firefox-esr)
//   WASMTEST_TIMEOUT  seconds before the run is killed (default: -test.timeout + 60, else 900)
//   WASMTEST_HEADFUL  set to 1 to show the browser window
//   GOROOT            where to find lib/wasm/wasm_exec.js (default: `go env GOROOT`)

import { chromium } from "playwright-core";
import { launchOptions, wasmExecPath } from "../chromium.mjs";
import { launchFirefox } from "../firefox.mjs";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";

const [, , wasmPath, ...progArgs] = process.argv;
if (!wasmPath) {
  console.error("wasmtest: usage: run.mjs prog.wasm [args...]");
  process.exit(2);
}

// Timeout: the test's own -test.timeout plus a minute, else 15 minutes.
function timeoutSeconds() {
  if (process.env.WASMTEST_TIMEOUT) return Number(process.env.WASMTEST_TIMEOUT);
  for (const a of progArgs) {
    const m = /^-{1,2}test\.timeout=(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(a);
    if (m) {
      const mult = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
      const t = Number(m[1]) * mult;
      if (t > 0) return t + 60;
    }
  }
  return 900;
}


const BROWSER = process.env.WASMTEST_BROWSER || "chromium";
if (BROWSER !== "chromium" && BROWSER !== "firefox") {
  console.error(`wasmtest: WASMTEST_BROWSER=${BROWSER}: want chromium or firefox`);
  process.exit(2);
}

// The page: wasm_exec.js's stdout/stderr go to console.log line by line;
// the exit code is reported through window.__goExit (a binding the browser
// driver exposes).
const PAGE = `<!doctype html><meta charset="utf-8"><title>wasmtest</title>
<script src="/wasm_exec.js"></script>
<script type="module">
const args = await (await fetch("/args.json")).json();
const go = new Go();
go.argv = ["prog.wasm", ...args.argv];
go.env = Object.assign({}, go.env, args.env);
go.exit = (code) => { window.__goExit(code); };
try {
  const { instance } = await WebAssembly.instantiateStreaming(fetch("/prog.wasm"), go.importObject);
  // Go's memory, for kernels/cpu/wasmsimd's SIMD module (wasm_exec.js keeps the instance private).
  globalThis.cremaGoMemory = instance.exports.mem;
  await go.run(instance);
} catch (e) {
  console.error("wasmtest: " + (e && e.stack || e));
  window.__goExit(3);
}
</script>`;

// Environment passed to the Go program (go test sets a few that matter).
function progEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(CREMA_|GODEBUG$|GOTRACEBACK$|GOWASM$)/.test(k)) env[k] = v;
  }
  return env;
}

const wasm = readFileSync(wasmPath);
const files = {
  "/": ["text/html", Buffer.from(PAGE)],
  "/wasm_exec.js": ["text/javascript", readFileSync(wasmExecPath())],
  "/prog.wasm": ["application/wasm", wasm],
  "/args.json": ["application/json", Buffer.from(JSON.stringify({ argv: progArgs, env: progEnv() }))],
};
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (path === "/favicon.ico") {
    res.writeHead(204).end();
    return;
  }
  const f = files[path];
  if (!f) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "Content-Type": f[0], "Cache-Control": "no-store" }).end(f[1]);
});
await new Promise((ok) => server.listen(0, "localhost", ok));
const url = `http://localhost:${server.address().port}/`;

let browser;
let exitCode = 1;
const timer = setTimeout(async () => {
  process.stdout.write(`\nwasmtest: timed out after ${timeoutSeconds()}s\n`);
  await finish(124);
}, timeoutSeconds() * 1000);

let finished = false;
async function finish(code) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  try {
    if (browser) await browser.close();
  } catch {}
  server.close();
  process.exit(code);
}

try {
  const headless = process.env.WASMTEST_HEADFUL !== "1";
  browser = BROWSER === "firefox" ? await launchFirefox({ headless }) : await chromium.launch({ ...launchOptions(), headless });
  const page = await browser.newPage();
  let done;
  const exited = new Promise((ok) => (done = ok));
  await page.exposeFunction("__goExit", (code) => done(code));
  page.on("console", (msg) => {
    // wasm_exec.js prints each line of Go's output with console.log, without
    // the trailing newline.
    process.stdout.write(msg.text() + "\n");
  });
  page.on("pageerror", (err) => process.stdout.write(`wasmtest: page error: ${err}\n`));
  page.on(BROWSER === "firefox" ? "error" : "crash", () => {
    process.stdout.write("wasmtest: page crashed\n");
    done(4);
  });
  await page.goto(url);
  exitCode = await exited;
  // Let the last console messages arrive.
  await new Promise((ok) => setTimeout(ok, 50));
} catch (e) {
  process.stdout.write(`wasmtest: ${e && e.stack || e}\n`);
  exitCode = 5;
}
await finish(exitCode);
