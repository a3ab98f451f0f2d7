// Browser tests of the helper pool (kernels/pool, web/js/pool.js): the CPU
// backend's convolutions split over helper Web Workers. A small run on two
// helpers finishes, its loss falls, the badge says 2 helpers, the helpers
// computed shares, and its image is the same run's on the worker alone
// (helpers=0) within float rounding; a helper that stops mid-run
// (helper_fault=exit@5: the first helper exits at its 5th share) costs
// speed, not the run: it finishes, and the page says so. Both on the dev
// server as it is (cross-origin isolated: the helpers share memory) and
// as a plain static host serves the page (no COOP/COEP: transferred
// buffers).
//
//   node --test web/test/pool.test.mjs
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

const RUN = "?backend=cpu&image_size=32&num_iterations=3&preview_every=3";

/** Opens the page with query, waits for the weights and, when helpers are
 * asked for, for the pool to have settled (none starting). */
async function ready(env, query) {
  const page = await H.open(env, query);
  await H.waitWeights(page);
  if (!/helpers=0/.test(query)) {
    await page.waitForFunction(() => window.crema.state.pool && window.crema.state.pool.starting === 0, null, { timeout: 120_000, polling: 100 });
  }
  return page;
}

/** Runs the page's settings to the end; returns the final image's RGBA
 * bytes and the total loss's first and last values. */
async function run(page) {
  await page.click("#run");
  await H.waitIdle(page);
  assert.match(await page.textContent("#status"), /done after 3 iterations/);
  const pixels = await page.evaluate(() => {
    const c = document.querySelector("#preview");
    return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data);
  });
  const [first, last] = await page.evaluate(() => window.crema.chart.ends("total"));
  return { pixels, first, last };
}

for (const isolated of [true, false]) {
  const mode = isolated ? "cross-origin isolated (shared memory)" : "a plain static host (transferred buffers)";
  const via = isolated ? "shared memory" : "transferred buffers";
  describe(`on ${mode}`, () => {
    let env;
    before(async () => {
      env = await H.start({ webgpu: false, isolated });
    });
    after(async () => {
      if (env) await env.stop();
    });

    test("a run on two helper workers: the badge says so, the helpers compute shares, the image is the single worker's", async () => {
      const page = await ready(env, RUN + "&helpers=2");
      assert.equal(await page.evaluate(() => window.crossOriginIsolated), isolated);
      assert.equal(await page.evaluate(() => window.crema.state.pool.running), 2);
      assert.equal(await page.textContent("#pool"), `Helpers: 2 workers · ${via}`);
      const pooled = await run(page);
      assert.ok(pooled.last < pooled.first, `total loss ${pooled.first} → ${pooled.last} did not fall`);
      const pool = await page.evaluate(() => window.crema.state.pool);
      assert.equal(pool.running, 2);
      assert.equal(pool.lost, 0);
      assert.equal(pool.transport, isolated ? "shared" : "transfer");
      assert.ok(pool.tasks >= 2 * 3, `the helpers computed ${pool.tasks} shares, want at least 2 per iteration`);
      // The weights went once: a slice of each of the 8 layers for each
      // direction to each helper, at most.
      assert.ok(pool.loads > 0 && pool.loads <= 2 * 8 * 2, `${pool.loads} weight slices sent, want at most 32`);
      assert.equal(await page.$("#pool-notice"), null);
      assert.deepEqual(H.outside(env, page.requests), []);

      const alone = await ready(env, RUN + "&helpers=0");
      assert.equal(await alone.evaluate(() => window.crema.state.pool), null, "helpers=0 starts no pool");
      assert.equal(await alone.isHidden("#pool"), true);
      const single = await run(alone);
      assert.equal(single.pixels.length, pooled.pixels.length);
      let worst = 0;
      for (let i = 0; i < single.pixels.length; i++) worst = Math.max(worst, Math.abs(single.pixels[i] - pooled.pixels[i]));
      assert.ok(worst <= 2, `pooled and single-worker images differ by up to ${worst} levels`);
      assert.ok(Math.abs(single.last - pooled.last) <= 1e-3 * Math.abs(single.last), `final loss ${pooled.last} pooled, ${single.last} alone`);
      await page.context().close();
      await alone.context().close();
    });

    test("a helper that stops mid-run: the run finishes on the others, and the page says so", async () => {
      const page = await ready(env, RUN + "&helpers=2&helper_fault=exit@5");
      assert.equal(await page.evaluate(() => window.crema.state.pool.running), 2);
      // The page starts the helpers (pool.js), so they are its workers.
      assert.equal(page.workers().length, 3, "the page runs the worker and its 2 helpers");
      const r = await run(page);
      assert.ok(r.last < r.first, `total loss ${r.first} → ${r.last} did not fall`);
      await page.waitForSelector("#pool-notice");
      assert.match(
        await page.textContent("#pool-notice"),
        /A helper worker is gone: helper 1 stopped \(crema helper: pool: helper fault: exit at task 5 \(helper_fault\)\); crema continues with 1 helper, a little slower\./,
      );
      assert.equal(await page.textContent("#pool"), `Helpers: 1 worker of 2 asked for · ${via}`);
      const pool = await page.evaluate(() => window.crema.state.pool);
      assert.deepEqual([pool.running, pool.lost], [1, 1]);
      // The worker told the page to end the helper that stopped (helper_stop).
      for (let i = 0; i < 100 && page.workers().length > 2; i++) await new Promise((ok) => setTimeout(ok, 100));
      assert.equal(page.workers().length, 2, "the page terminated the helper that stopped");
      assert.equal(await page.$(".alert"), null, "no alert: a lost helper is not a failure");
      await page.context().close();
    });
  });
}
