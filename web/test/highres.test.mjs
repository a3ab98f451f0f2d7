// Browser tests of high resolution (issue 13): the memory model's figures
// under the image size, the refusal of a size that cannot fit (with the
// largest that does, before any work), and a tiled run (forced small tiles on a small image,
// on the CPU: a 2048 px run in a headless test would take hours here; the
// CLI makes the README's 2048 px result) that reports its tiles and passes
// and previews after every tile.
//
//   node --test web/test/highres.test.mjs   (part of `make test-browser`)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";
import { describe as describePlan, bytes } from "../js/memoryplan.js";

let env;

before(async () => {
  env = await H.start();
});

after(async () => {
  if (env) await env.stop();
});

const memoryLine = (page) => page.textContent("#image_size-memory");

test("the image size says what the run needs, and a size that cannot fit is refused with the largest that does", async () => {
  // The binary arrives a second after the manifest, as on a slow network:
  // the plan must still count the weights (it is checked again once they are in).
  const slow = (p) => p.route("**/vgg19.bin*", async (route) => {
    await new Promise((ok) => setTimeout(ok, 1500));
    await route.continue();
  });
  const page = await H.open(env, "?backend=cpu&image_size=64&num_iterations=4", { setup: slow });
  await H.waitWeights(page);
  const plan = await page.evaluate(() => window.crema.state.memory);
  assert.ok(plan && plan.fits && !plan.tile, `plan ${JSON.stringify(plan)}`);
  assert.equal(plan.memory.backend, "cpu");
  assert.equal(plan.budget, 1 << 30, "a tab's budget on the CPU");
  assert.ok(plan.memory.weights > 1e6, `weights counted: ${plan.memory.weights}`);
  assert.ok(plan.memory.tensors > 0 && plan.memory.total > plan.memory.tensors, JSON.stringify(plan.memory));
  assert.ok(plan.max_untiled >= 256 && plan.max_size > plan.max_untiled, `largest sizes ${plan.max_untiled}, ${plan.max_size}`);
  assert.match(await memoryLine(page), new RegExp(`^Memory: 64×\\d+ needs [\\d.]+ MiB of 1\\.0 GiB \\(a browser tab's budget on the CPU\\)\\. Untiled up to ${plan.max_untiled} px; in tiles up to ${plan.max_size} px\\.$`));
  assert.equal(await page.getAttribute("#image_size", "max"), "4096", "the limit is the memory model's, not a fixed 1024");

  // Past the largest untiled size: tiled, with the tile said.
  await H.setValue(page, "#image_size", String(Math.min(4096, plan.max_untiled + 256)));
  await H.settled(page);
  const tiled = await page.evaluate(() => window.crema.state.memory);
  assert.ok(tiled.fits && tiled.tile > 0 && tiled.untiled.total > tiled.budget && tiled.memory.total <= tiled.budget, JSON.stringify(tiled));
  assert.match(await memoryLine(page), new RegExp(`more than 1\\.0 GiB \\(a browser tab's budget on the CPU\\): it runs in ${tiled.tile} px tiles`));
  assert.equal(await page.isDisabled("#run"), false);

  // A memory limit too small for 4096 px even in tiles: refused, before any
  // run, with the largest size that fits; Run says why.
  await H.setValue(page, "#memory_limit", "256");
  await H.setValue(page, "#image_size", "4096");
  await H.settled(page);
  const refused = await page.evaluate(() => window.crema.state.memory);
  assert.ok(!refused.fits && refused.max_size > 0 && refused.max_size < 4096, JSON.stringify(refused));
  assert.match(await memoryLine(page), new RegExp(`does not fit in 256 MiB \\(the memory limit\\).*The largest size that fits is ${refused.max_size} px\\.`));
  assert.equal(await page.getAttribute("#image_size-memory", "class"), "reason memory refused");
  assert.match(await page.textContent("#run-reason"), new RegExp(`These settings will not run: transfer: a 4096×\\d+ image needs .* more than the budget of 256 MiB \\(memory_limit\\); the largest image_size that fits is ${refused.max_size}`));
  // Run (which the page leaves enabled, as for every refusal Go's check
  // finds) is refused before any work, with the reason.
  await page.evaluate(() => {
    window.worked = 0;
    window.crema.state.worker.addEventListener("message", (e) => {
      if (e.data.type === "progress" || e.data.type === "preview") window.worked++;
    });
  });
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#alerts").textContent.includes("the largest image_size that fits"));
  assert.match(await page.textContent("#alerts"), new RegExp(`The run failed: transfer: a 4096×\\d+ image needs .*; the largest image_size that fits is ${refused.max_size}`));
  await H.waitIdle(page);
  assert.equal(await page.evaluate(() => window.worked), 0, "no progress and no preview: refused before any work");
  // The largest size that fits does fit.
  await H.setValue(page, "#image_size", String(refused.max_size));
  await H.settled(page);
  assert.equal(await page.evaluate(() => window.crema.state.memory.fits), true);
  assert.equal(await page.textContent("#run-reason"), "");
  await page.context().close();
});

test("a tiled run reports its tiles and passes and previews after every tile", async () => {
  // One stage (coarse_to_fine=0): the page's default would add an untiled
  // half-size stage before the tiled one.
  const page = await H.open(env, "?backend=cpu&image_size=96&tile_size=48&coarse_to_fine=0&num_iterations=4&preview_every=1&style_layers=conv1_1:0.5,conv2_1:0.3,conv3_1:0.2&content_layers=conv3_2");
  await H.waitWeights(page);
  assert.equal(await page.evaluate(() => window.crema.state.memory.tile), 48);
  assert.match(await memoryLine(page), /Memory: 96×\d+ needs/);
  // Count what the worker sends: tile progress and previews.
  await page.evaluate(() => {
    window.seen = { tiles: new Set(), previews: 0, statuses: new Set() };
    window.crema.state.worker.addEventListener("message", (e) => {
      const m = e.data;
      if (m.type === "progress" && m.progress.tiles) window.seen.tiles.add(`${m.progress.pass}/${m.progress.tile}`);
      if (m.type === "preview") window.seen.previews++;
    });
    new MutationObserver(() => window.seen.statuses.add(document.getElementById("status").textContent)).observe(document.getElementById("status"), { childList: true, characterData: true, subtree: true });
  });
  await page.click("#run");
  await H.waitIdle(page);
  assert.match(await page.textContent("#status"), /done after 4 iterations/);
  const seen = await page.evaluate(() => ({ tiles: [...window.seen.tiles], previews: window.seen.previews, statuses: [...window.seen.statuses] }));
  assert.ok(seen.tiles.length >= 4, `tiles ${seen.tiles}`);
  assert.ok(seen.tiles.some((t) => t.startsWith("2/")), "a second pass");
  assert.equal(seen.previews, seen.tiles.length, "a preview after every tile");
  assert.ok(seen.statuses.some((s) => /iteration \d+ of 4 · tile \d+ of \d+, pass [12] of 2/.test(s)), `statuses ${seen.statuses.slice(0, 5)}`);
  assert.match(await H.canvasHash(page, "#preview"), /^96x64:/);
  await page.context().close();
});

test("the memory line's words", () => {
  const plan = { width: 2048, height: 1362, fits: true, tile: 512, budget: 1 << 30, budget_from: "webgpu", max_untiled: 700, max_size: 4096, memory: { total: 900 << 20 }, untiled: { total: 14 * 2 ** 30 } };
  assert.equal(describePlan(plan), "Memory: 2048×1362 needs 14.0 GiB untiled, more than 1.0 GiB (this GPU's budget): it runs in 512 px tiles, in 900 MiB. Untiled up to 700 px; at most 4096 px.");
  assert.equal(bytes(5 << 20), "5.0 MiB");
  assert.equal(describePlan(null), "");
});
