// Browser tests of control (Gatys et al. 2017) in the page: the regions
// panel (js/masks.js: a brush driven by real pointer events, a label image
// upload, the masks in the values, the link and a comparison, per-region
// losses) and the layer explorer (js/explorer.js). Headless Chromium
// against the dev server, on ?backend=cpu at 32 px and a few iterations
// (see harness.mjs for the weights: conv1_1 … conv3_4, real or synthetic).
//
//   node --test web/test/control.test.mjs
//   CREMA_SCREENSHOTS=1 node --test web/test/control.test.mjs   (also writes docs/page-regions.png)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as H from "./harness.mjs";

let env;
let page; // shared by the tests that build on each other
const SMALL = "?backend=cpu&style=coffee,brick&image_size=32&num_iterations=4&preview_every=2";

before(async () => {
  env = await H.start();
  page = await open(SMALL);
});

after(async () => {
  if (env) await env.stop();
});

/** Opens the page, waits for its weights and images, and records the
 * messages it sends the worker (in window.sent). */
async function open(query, options) {
  const p = await H.open(env, query, options);
  await H.waitWeights(p);
  await p.waitForFunction(() => window.crema.state.content && window.crema.state.styles.length && window.crema.state.worker);
  await p.evaluate(() => {
    window.sent = [];
    const w = window.crema.state.worker;
    const post = w.postMessage.bind(w);
    w.postMessage = (m, t) => {
      window.sent.push(JSON.parse(JSON.stringify({ ...m, pixels: undefined, binary: undefined, image: undefined, content: undefined, styles: undefined })));
      return post(m, t);
    };
  });
  return p;
}

/** Drags across the paint canvas from (fx0, fy0) to (fx1, fy1), fractions
 * of its size: with the mouse, or with touch (CDP touch events, which
 * Chromium turns into pointer events of type touch). */
async function drag(p, [fx0, fy0], [fx1, fy1], { touch = false, steps = 8 } = {}) {
  await p.locator("#regions-paint").scrollIntoViewIfNeeded();
  const box = await p.locator("#regions-paint").boundingBox();
  const at = (fx, fy) => ({ x: box.x + fx * box.width, y: box.y + fy * box.height });
  const a = at(fx0, fy0);
  const b = at(fx1, fy1);
  const mid = (k) => ({ x: a.x + ((b.x - a.x) * k) / steps, y: a.y + ((b.y - a.y) * k) / steps });
  if (!touch) {
    await p.mouse.move(a.x, a.y);
    await p.mouse.down();
    for (let k = 1; k <= steps; k++) await p.mouse.move(mid(k).x, mid(k).y);
    await p.mouse.up();
    return;
  }
  const cdp = await p.context().newCDPSession(p);
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [a] });
  for (let k = 1; k <= steps; k++) await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [mid(k)] });
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

/** docs/page-regions.png: the regions panel beside a result made with it:
 * the cat's mask (docs/masks/chelsea-cat.png: a white ellipse, the larger
 * part, so region 1) uploaded as a label image, the cat in espresso, the
 * rest in bricks (128 px, 60 iterations, β 0.01 so that the cat stays
 * visible with the real conv1_1 … conv3_4 weights). */
async function regionsScreenshot(p) {
  await p.click("#regions-clear");
  await p.setInputFiles("#regions-file", join(H.ROOT, "docs", "masks", "chelsea-cat.png"));
  await p.waitForFunction(() => window.crema.regions().regions.length === 2);
  await p.selectOption("#region-1-style", "1");
  await p.selectOption("#region-2-style", "2");
  await p.waitForFunction(() => window.crema.state.values.region_styles === "1,2");
  for (const [id, v] of [["#image_size", 128], ["#num_iterations", 60], ["#style_weight", 0.01]]) await H.setValue(p, id, v);
  await H.settled(p);
  await p.click("#run");
  await H.waitIdle(p, 600_000);
  const shots = [await p.locator("#regions").screenshot(), await p.locator(".preview-wrap").screenshot()];
  const ctx = await env.browser.newContext({ viewport: { width: 900, height: 300 } });
  const q = await ctx.newPage();
  await q.setContent(
    `<body style="margin:0;padding:8px;background:#faf8f5;display:flex;gap:12px;align-items:flex-start">` +
      shots.map((b) => `<img src="data:image/png;base64,${b.toString("base64")}" style="max-width:430px">`).join("") +
      "</body>",
  );
  await q.waitForFunction(() => [...document.images].every((i) => i.complete));
  await q.screenshot({ path: join(H.ROOT, "docs", "page-regions.png"), fullPage: true });
  await ctx.close();
  for (const [id, v] of [["#image_size", 32], ["#num_iterations", 4], ["#style_weight", 40]]) await H.setValue(p, id, v);
  await p.click("#regions-clear");
  await H.settled(p);
}

const regions = (p) => p.evaluate(() => window.crema.regions());
const values = (p) => p.evaluate(() => window.crema.state.values);

test("the brush paints two regions (mouse and touch), each takes its style, the run reports each region's losses, and the link restores them", async () => {
  await page.click("#regions summary");
  assert.equal(await page.isVisible("#regions-paint"), true);
  assert.equal(await page.getAttribute("#regions-paint", "aria-label"), "Regions painted on the content image: none yet.");
  // Region 1 with the mouse (the first stroke makes it), across the left part.
  await drag(page, [0.1, 0.2], [0.3, 0.8]);
  await page.waitForFunction(() => window.crema.regions().counts[1] > 0);
  // Region 2 by touch, across the right part; a pointer type the page does not special-case.
  await page.click("#regions-add");
  await drag(page, [0.9, 0.2], [0.7, 0.8], { touch: true });
  await page.waitForFunction(() => window.crema.regions().counts[2] > 0);
  // The eraser takes a bit of region 2 back.
  const before2 = (await regions(page)).counts[2];
  await page.click("#regions-eraser");
  await drag(page, [0.9, 0.2], [0.9, 0.4]);
  await page.waitForFunction((n) => window.crema.regions().counts[2] < n, before2);
  await page.click("#regions-brush");
  // Different styles: region 1 takes style 2 (bricks), region 2 style 1 (espresso) at half weight.
  await page.selectOption("#region-1-style", "2");
  await page.selectOption("#region-2-style", "1");
  await page.fill("#region-2-weight", "0.5");
  await page.dispatchEvent("#region-2-weight", "change");
  await page.waitForFunction(() => window.crema.state.values.region_styles === "2,1:0.5" && window.crema.state.values.content_masks.split(",").length === 2);
  await H.settled(page);
  const r = await regions(page);
  assert.equal(r.regions.length, 2);
  assert.ok(r.w === 256 || r.h === 256, `the masks are ${r.w}×${r.h}, want 256 on the long side`);
  assert.match(await page.getAttribute("#regions-paint", "aria-label"), /region 1 \(red\) \d+ %, style 2; region 2 \(blue\) \d+ %, style 1; no region \d+ %/);
  const v = await values(page);
  assert.deepEqual(await page.evaluate(() => window.crema.state.check), { refused: [], error: "" });
  const link = await page.inputValue("#link");
  const lp = new URL(link).searchParams;
  assert.equal(lp.get("content_masks"), v.content_masks);
  assert.equal(lp.get("region_styles"), "2,1:0.5");
  console.log(`# two painted regions at ${r.w}×${r.h}: content_masks is ${v.content_masks.length} characters; the whole link ${link.length}`);
  assert.ok(v.content_masks.length < 3000, `two brush strokes take ${v.content_masks.length} characters of the link`);
  assert.match(await page.textContent("#regions-status"), new RegExp(`2 regions painted; their masks take ${v.content_masks.length.toLocaleString("en")} characters of the link`));

  // A run with them: its progress has each region's losses.
  await page.click("#run");
  await H.waitIdle(page);
  assert.match(await page.textContent("#status"), /done after 4 iterations/);
  const start = await page.evaluate(() => window.sent.filter((m) => m.type === "start").at(-1));
  assert.equal(start.values.content_masks, v.content_masks);
  for (const name of ["region 1", "region 2"]) assert.ok(await page.evaluate((n) => window.crema.chart.ends(n), name), `the chart has no ${name} series`);
  assert.match(await page.textContent("#legend"), /region 1 .*region 2/);

  // A comparison runs with them too.
  await page.$$eval('input[name="compare"]', (xs) => xs.forEach((x) => (x.checked = x.value === "current")));
  await page.dispatchEvent('input[name="compare"][value="current"]', "change");
  await page.click("#compare-run");
  await H.waitIdle(page);
  const cmp = await page.evaluate(() => window.sent.filter((m) => m.type === "start").at(-1));
  assert.equal(cmp.values.content_masks, v.content_masks);
  assert.equal(cmp.values.region_styles, "2,1:0.5");

  // The link restores the regions (from the masks' text, unchanged).
  const p2 = await open(link.slice(env.url.length));
  await p2.waitForFunction(() => window.crema.regions().regions.length === 2);
  const r2 = await regions(p2);
  assert.deepEqual(r2.regions, [{ styles: "2", weight: "1" }, { styles: "1", weight: "0.5" }]);
  assert.ok(r2.fromText);
  for (const i of [1, 2]) assert.ok(Math.abs(r2.counts[i] - r.counts[i]) <= r.counts[i] * 0.02, `region ${i}: ${r2.counts[i]} pixels, painted ${r.counts[i]}`);
  assert.equal(await p2.evaluate(() => document.querySelector("#regions").open), true, "the panel opens when the link has regions");
  assert.equal(await p2.inputValue("#region-1-style"), "2");
  assert.equal(await p2.inputValue("#region-2-weight"), "0.5");
  const v2 = await values(p2);
  assert.equal(v2.content_masks, v.content_masks);
  assert.equal(v2.region_styles, v.region_styles);
  // Clearing them returns to unguided transfer.
  await p2.click("#regions-clear");
  await p2.waitForFunction(() => window.crema.state.values.content_masks === "" && window.crema.state.values.region_styles === "");
  assert.doesNotMatch(await p2.inputValue("#link"), /content_masks|region_styles/);
  assert.match(await p2.textContent("#regions-status"), /No region: the whole image takes the style/);
  await p2.context().close();
  if (H.SCREENSHOTS) await regionsScreenshot(page);
});

test("the keyboard paints too: arrows move the brush, Shift+arrows paint", async () => {
  await page.click("#regions-clear");
  await page.focus("#regions-paint");
  await page.keyboard.press("Space");
  for (let k = 0; k < 4; k++) await page.keyboard.press("Shift+ArrowRight");
  await page.waitForFunction(() => window.crema.regions().counts[1] > 0 && window.crema.state.values.content_masks.length > 0);
  assert.equal((await regions(page)).regions.length, 1);
  assert.match(await page.getAttribute("#regions-paint", "aria-label"), /region 1 \(red\) \d+ %/);
  await page.click("#regions-clear");
});

test("a label image (one colour per region) uploads as regions, split by the worker", async () => {
  // Three flat colours: a white background, a red square, a blue band.
  const png = await page.evaluate(async () => {
    const c = new OffscreenCanvas(60, 40);
    const g = c.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, 60, 40);
    g.fillStyle = "#f00";
    g.fillRect(0, 0, 30, 40);
    g.fillStyle = "#00f";
    g.fillRect(30, 30, 30, 10);
    const b = new Uint8Array(await (await c.convertToBlob({ type: "image/png" })).arrayBuffer());
    return btoa(String.fromCharCode(...b));
  });
  await page.setInputFiles("#regions-file", { name: "labels.png", mimeType: "image/png", buffer: Buffer.from(png, "base64") });
  await page.waitForFunction(() => window.crema.regions().regions.length === 3 && window.crema.state.values.content_masks.split(",").length === 3);
  const r = await regions(page);
  assert.ok(r.fromText, "the worker's masks are used as they are");
  assert.equal(r.w, 60);
  // Most common colour first: red (half), white, blue.
  assert.deepEqual(r.counts.slice(1), [1200, 900, 300]);
  assert.equal((await values(page)).region_styles, "1,2,2");
  // The background is a region too: remove it, and it takes no style.
  await page.click('#regions-list li[data-region="2"] .remove');
  await page.waitForFunction(() => window.crema.state.values.content_masks.split(",").length === 2);
  assert.deepEqual((await regions(page)).counts, [900, 1200, 300]);
  await H.settled(page);
  assert.equal(await page.textContent("#run-reason"), "");
  // Not a label image: the worker says why.
  const noise = await page.evaluate(async () => {
    const c = new OffscreenCanvas(40, 40);
    const g = c.getContext("2d");
    const d = g.createImageData(40, 40);
    for (let i = 0; i < d.data.length; i++) d.data[i] = i % 4 === 3 ? 255 : (i * 7919) % 251;
    g.putImageData(d, 0, 0);
    const b = new Uint8Array(await (await c.convertToBlob({ type: "image/png" })).arrayBuffer());
    return btoa(String.fromCharCode(...b));
  });
  await page.setInputFiles("#regions-file", { name: "noise.png", mimeType: "image/png", buffer: Buffer.from(noise, "base64") });
  await page.waitForFunction(() => document.querySelector("#alerts").textContent.includes("label image"));
  assert.match(await page.textContent("#alerts"), /the label image has no colour covering 1 % of it/);
  await page.$$eval("#alerts .alert .dismiss", (bs) => bs.forEach((b) => b.click()));
  await page.click("#regions-clear");
  await page.waitForFunction(() => window.crema.state.values.content_masks === "");
});

test("bad mask text in a link is Go's to refuse, with a notice; the panel fits a phone", async () => {
  const p = await open("?backend=cpu&content_masks=bm90IGEgUE5H&region_styles=1,x", { viewport: { width: 390, height: 844 } });
  const notices = await p.textContent("#notices");
  assert.match(notices, /Ignored a setting from the link: transfer: content_masks: mask 1: mask "bm90IGEgUE5H": [^.]*\./);
  assert.match(notices, /Ignored a setting from the link: transfer: region_styles: region 2 names style "x"/);
  const v = await values(p);
  assert.equal(v.content_masks, "");
  assert.equal((await regions(p)).regions.length, 0);
  // On a phone the panel is one column without sideways scrolling.
  await p.click("#regions summary");
  await drag(p, [0.2, 0.2], [0.8, 0.8]);
  await p.waitForFunction(() => window.crema.regions().counts[1] > 0);
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= 390), "the page is wider than the screen");
  const box = await p.locator("#regions-paint").boundingBox();
  assert.ok(box.width >= 200 && box.x >= 0 && box.x + box.width <= 390, `the paint canvas is ${JSON.stringify(box)}`);
  for (const id of ["#regions-add", "#regions-clear", "#regions-brush", "#regions-eraser"]) {
    assert.ok((await p.locator(id).boundingBox()).height >= 36, `${id} is too small to tap`);
  }
  await p.context().close();
});

test("the layer explorer renders a tile per layer and per cumulative set, disables those the weights lack, opens a tile as a run and downloads the grid", async () => {
  await page.click("#explore-run");
  await page.waitForFunction(() => document.querySelectorAll("#explore-grid .tile[data-layers]").length === 10);
  await H.waitIdle(page);
  assert.match(await page.textContent("#explore-status"), /^Done: 6 tiles, 4 disabled\.$/);
  const tiles = await page.$$eval("#explore-grid .tile[data-layers]", (fs) =>
    fs.map((f) => ({ layers: f.dataset.layers, cumulative: f.dataset.cumulative, disabled: f.classList.contains("disabled"), caption: f.querySelector("figcaption").textContent, size: [f.querySelector("canvas").width, f.querySelector("canvas").height] })),
  );
  assert.deepEqual(tiles.map((t) => t.layers), ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv1_1", "conv1_1,conv2_1", "conv1_1,conv2_1,conv3_1", "conv1_1,conv2_1,conv3_1,conv4_1", "conv1_1,conv2_1,conv3_1,conv4_1,conv5_1"]);
  assert.deepEqual(tiles.map((t) => t.disabled), [false, false, false, true, true, false, false, false, true, true]);
  assert.match(tiles[3].caption, /^conv4_1 alone\s*disabled: conv4_1 is not in the loaded weights \(they hold conv1_1 … conv3_4\); `make run` \(or `make weights`\) gets the full VGG-19/);
  assert.match(tiles[9].caption, /^conv1_1 … conv5_1\s*disabled: conv4_1 is not in the loaded weights/);
  assert.match(tiles[7].caption, /^conv1_1 … conv3_1\s*4 iterations/);
  // The tiles take the style image's shape (espresso: 400×… → 32 on the long side).
  const style = await page.evaluate(() => [window.crema.state.styles[0].width, window.crema.state.styles[0].height]);
  const want = style[0] >= style[1] ? [32, Math.round((32 * style[1]) / style[0])] : [Math.round((32 * style[0]) / style[1]), 32];
  for (const t of tiles.filter((t) => !t.disabled)) assert.deepEqual(t.size, want, `tile ${t.layers}`);
  const hashes = await Promise.all([0, 1, 2, 5].map((k) => H.canvasHash(page, `#explore-tile-${k}`)));
  assert.equal(hashes[0], hashes[3], "conv1_1 alone and the first cumulative set are one run");
  assert.equal(new Set(hashes.slice(0, 3)).size, 3, "the layers made the same texture");
  // Five runs (conv1_1 once), each on the style image, from noise, content weight 0.
  const starts = await page.evaluate(() => window.sent.filter((m) => m.type === "start" && m.content_from_style));
  assert.equal(starts.length, 5);
  for (const s of starts) assert.deepEqual([s.values.content_weight, s.values.init, s.values.image_size, s.values.num_iterations], ["0", "random", "32", "4"]);

  // The grid downloads as one PNG.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#explore-download")]);
  assert.match(download.suggestedFilename(), /^crema-layers-coffee\.png$/);
  const png = await (await import("node:fs/promises")).readFile(await download.path());
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  assert.ok(w > 6 * 140 && h > 2 * 40, `grid ${w}×${h}`);

  // A tile opens as a run with its settings.
  await page.click('#explore-grid .tile[data-layers="conv1_1,conv2_1"] .open');
  await page.waitForFunction(() => window.crema.state.values.style_layers === "conv1_1:0.5,conv2_1:0.5");
  await H.waitIdle(page);
  const v = await values(page);
  assert.deepEqual([v.content_weight, v.init, v.content_masks], ["0", "random", ""]);
  assert.equal(Number(await page.inputValue("#layer-conv1_1")), 0.5);
  assert.equal(Number(await page.inputValue("#layer-conv3_1")), 0);
  const run = await page.evaluate(() => window.sent.filter((m) => m.type === "start").at(-1));
  assert.ok(!run.content_from_style, "the opened tile runs on the content image");
  assert.equal(run.values.style_layers, "conv1_1:0.5,conv2_1:0.5");
  assert.match(await page.textContent("#status"), /done after 4 iterations/);
  assert.match(await page.inputValue("#link"), /content_weight=0&.*init=random/);
});

test("the explorer's link re-opens it and renders the same grid", async () => {
  const link = await page.inputValue("#explore-link");
  assert.match(link, /[?&]explore=1(&|$)/);
  const hash = await H.canvasHash(page, "#explore-tile-1");
  const p = await open(link.slice(env.url.length));
  await p.waitForFunction(() => /^Done: 6 tiles/.test(document.querySelector("#explore-status").textContent), null, { timeout: 180_000 });
  assert.equal(await H.canvasHash(p, "#explore-tile-1"), hash, "conv2_1's texture differs after the link");
  assert.deepEqual(H.outside(env, p.requests), []);
  await p.context().close();
});
