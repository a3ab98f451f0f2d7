// roundtrip.mjs measures the browser's own floor for one helper-pool share
// (kernels/pool, transferred buffers): in plain JavaScript, with no Go, a
// worker copies n bytes out of its memory into a staging buffer, transfers
// it to a helper worker, which copies it into its memory and copies n bytes
// back out into a buffer it transfers back, and the worker copies that into
// its memory — the four copies and two messages of one crema share, with
// the staging buffers given back and reused as crema does. --via port (the
// default, as crema does: kernels/pool, web/js/pool.js) has the page start
// the helper and connect the two workers by a MessageChannel; --via nested
// has the worker start the helper itself and message it directly.
// BENCHMARKS.md ("Every core") sets crema's per-share overhead against it.
//
//   node tools/bench/roundtrip.mjs [--sizes 262144,1048576,4194304] [--reps 40]
//       [--compute 0] [--serial 0] [--via port|nested]
//
// --compute MS makes the helper spin for MS ms per share before answering
// (as it would compute), so that the worker sleeps while it waits, as in a
// run; the round trip printed is then less those MS. --serial MS makes the
// worker spin for MS ms before each share (the iteration's serial work
// between two split calls), so that the helper sleeps between shares.
// (Times are taken on the worker's clock only: two threads' clocks, each
// performance.timeOrigin + now(), differ by up to milliseconds.)

import { chromium } from "playwright-core";
import { launchOptions } from "../chromium.mjs";
import { parseArgs } from "./common.mjs";

const cfg = parseArgs(process.argv.slice(2), { sizes: [1 << 18, 1 << 20, 1 << 22], reps: 40, compute: 0, serial: 0, via: "port" });
if (!["port", "nested"].includes(cfg.via)) throw new Error(`roundtrip: --via ${cfg.via}: want port or nested`);

const helper = `
const mem = new Uint8Array(64 << 20);
let to = self; // or the port the page sends first
const share = (e) => {
  const { in: ib, n, out, compute } = e.data;
  mem.set(new Uint8Array(ib, 0, n), 0);
  for (const t = performance.now(); performance.now() - t < compute; );
  const ob = out && out.byteLength >= n ? out : new ArrayBuffer(n);
  new Uint8Array(ob, 0, n).set(mem.subarray(0, n));
  to.postMessage({ out: ob, spare: ib }, [ob, ib]);
};
onmessage = (e) => {
  if (!e.data.port) return share(e);
  to = e.data.port;
  to.onmessage = share;
};`;

const worker = `
const mem = new Uint8Array(64 << 20);
let h; // the helper, or the port to it
let spare = null, spareO = null;
let compute = 0, serial = 0;
const one = (n) => new Promise((ok) => {
  for (const t = performance.now(); performance.now() - t < serial; );
  const t0 = performance.now();
  const ib = spare && spare.byteLength >= n ? spare : new ArrayBuffer(n);
  new Uint8Array(ib, 0, n).set(mem.subarray(0, n));
  const t1 = performance.now();
  h.onmessage = (e) => {
    mem.set(new Uint8Array(e.data.out, 0, n), 0);
    spare = e.data.spare;
    spareO = e.data.out;
    ok([t1 - t0, performance.now() - t0 - compute]);
  };
  const msg = { in: ib, n, compute };
  const tr = [ib];
  if (spareO) { msg.out = spareO; tr.push(spareO); spareO = null; }
  h.postMessage(msg, tr);
});
onmessage = async (e) => {
  const { sizes, reps } = e.data;
  h = e.data.port || new Worker(URL.createObjectURL(new Blob([${JSON.stringify(helper)}])));
  compute = e.data.compute;
  serial = e.data.serial;
  const res = [];
  for (const n of sizes) {
    for (let i = 0; i < 5; i++) await one(n);
    let send = 0, rt = 0;
    for (let i = 0; i < reps; i++) {
      const [a, b] = await one(n);
      send += a;
      rt += b;
    }
    res.push({ bytes: n, send_ms: send / reps, roundtrip_ms: rt / reps });
  }
  postMessage(res);
};`;

const browser = await chromium.launch(launchOptions({ webgpu: false }));
try {
  const page = await browser.newPage();
  await page.goto("about:blank");
  const res = await page.evaluate(
    ({ worker, helper, via, sizes, reps, compute, serial }) =>
      new Promise((ok, fail) => {
        const w = new Worker(URL.createObjectURL(new Blob([worker])));
        w.onmessage = (e) => ok(e.data);
        w.onerror = (e) => fail(new Error(e.message));
        if (via === "nested") return w.postMessage({ sizes, reps, compute, serial });
        const h = new Worker(URL.createObjectURL(new Blob([helper])));
        h.onerror = (e) => fail(new Error(e.message));
        const c = new MessageChannel();
        h.postMessage({ port: c.port2 }, [c.port2]);
        w.postMessage({ sizes, reps, compute, serial, port: c.port1 }, [c.port1]);
      }),
    { worker, helper, via: cfg.via, sizes: cfg.sizes, reps: cfg.reps, compute: cfg.compute, serial: cfg.serial },
  );
  if (!Array.isArray(res) || res.length !== cfg.sizes.length) throw new Error(`roundtrip: unexpected answer ${JSON.stringify(res)}`);
  console.log(`helper ${cfg.via === "port" ? "started by the page, through a MessageChannel" : "nested, started by the worker"}, computing ${cfg.compute} ms a share, worker ${cfg.serial} ms between shares`);
  console.log(`| bytes | copy into the staging buffer (ms) | round trip less the compute (ms) |`);
  console.log(`|---:|---:|---:|`);
  for (const r of res) console.log(`| ${r.bytes} | ${r.send_ms.toFixed(2)} | ${r.roundtrip_ms.toFixed(2)} |`);
} finally {
  await browser.close();
}
