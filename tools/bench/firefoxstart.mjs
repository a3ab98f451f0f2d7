// firefoxstart.mjs counts how often the page in Firefox (firefox-esr,
// headless, tools/firefox.mjs) never reports its backend: it opens pages
// one after another, alternately ?backend=auto,fault=selftest (the GPU
// opened, found faulty, the CPU and its default pool taken instead) and
// ?backend=cpu&helpers=4, and waits up to --limit seconds for each page's
// backend and weights. This is how the CI failures of the Firefox page tests
// were reproduced: with the helpers started by the worker itself (nested
// workers), under load, some pages never got past starting the pool
// (BENCHMARKS.md, "Who starts the helpers"). --burn N runs N busy loops
// (node) beside it, as a CI machine's other test files load it.
//
//   node tools/bench/firefoxstart.mjs [--pages 25] [--limit 60] [--burn 2]

import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { launchFirefox } from "../firefox.mjs";
import { serve } from "../../web/test/harness.mjs";
import { parseArgs } from "./common.mjs";

const cfg = parseArgs(process.argv.slice(2), { pages: 25, limit: 60, burn: 2 });
const QUERIES = ["?backend=auto,fault=selftest&image_size=24", "?backend=cpu&helpers=4&image_size=32"];

const burners = [];
let served, browser;
try {
  served = await serve({ full: false });
  const url = served.url.replace("//127.0.0.1:", "//localhost:");
  browser = await launchFirefox();
  for (let i = 0; i < cfg.burn; i++) burners.push(spawn(process.execPath, ["-e", "for(;;);"], { stdio: "ignore" }));
  const load0 = loadavg()[0].toFixed(2);
  const stuck = [];
  const times = [];
  for (let i = 0; i < cfg.pages; i++) {
    const query = QUERIES[i % 2];
    const page = await browser.newPage();
    const t0 = Date.now();
    await page.goto(url + query);
    try {
      await page.waitForFunction(() => window.crema?.state.backend && window.crema.state.weights, { timeout: cfg.limit * 1000, polling: 250 });
      times.push(Date.now() - t0);
    } catch {
      const shown = await page.evaluate(() => JSON.stringify({ pool: window.crema?.state.pool ?? null, messages: window.crema?.state.trace ?? "(not kept)" })).catch((e) => e.message);
      stuck.push(`page ${i + 1} (${query}): ${shown}`);
    }
    await page.close();
  }
  times.sort((a, b) => a - b);
  console.log(`firefoxstart: ${cfg.pages} pages, ${cfg.burn} busy loops beside (load average ${load0} → ${loadavg()[0].toFixed(2)}): ${stuck.length} never reported a backend within ${cfg.limit} s; the others in a median ${times[times.length >> 1] ?? "-"} ms`);
  for (const s of stuck) console.log(`  ${s}`);
} finally {
  for (const b of burners) b.kill();
  await browser?.close().catch(() => {});
  served?.stop();
}
