// Browser tests of the page: headless Chromium (playwright-core) against the
// dev server, with weights up to conv3_4 (the real partial VGG-19 from
// ../shared when it is there, else synthetic: see harness.mjs), runs at
// 40 px on ?backend=cpu for speed.
//
//   node --test web/test/*.test.mjs          (part of `make test-browser`)
//   CREMA_SCREENSHOTS=1 node --test web/test/page.test.mjs   (also rewrites docs/*.png)
import { launchOptions } from "../../tools/chromium.mjs";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { execFileSync } from "node:child_process";
import { join, extname, normalize } from "node:path";
import { chromium } from "playwright-core";
import * as H from "./harness.mjs";

let env;
let page; // the main page, shared by the tests that build on each other
const SMALL = "?backend=cpu&image_size=40&num_iterations=8&preview_every=2";

before(async () => {
  env = await H.start();
  page = await H.open(env, SMALL);
  await H.waitWeights(page);
});

after(async () => {
  if (env) await env.stop();
});

const t = test;

t("the page loads the weights and disables the layers they lack, saying why", async () => {
  assert.match(await page.textContent("#weights-label"), /8 layers \(conv1_1 … conv3_4\)/);
  assert.match(await page.textContent("#backend"), /CPU/);
  for (const layer of ["conv4_1", "conv5_1"]) {
    assert.equal(await page.isDisabled(`#layer-${layer}`), true, `${layer} slider enabled`);
    assert.match(await page.textContent(`#layer-${layer}-reason`), new RegExp(`${layer} is not in the loaded weights \\(they hold conv1_1 … conv3_4\\); \`make run\` \\(or \`make weights\`\\) gets the full VGG-19`));
  }
  for (const layer of ["conv1_1", "conv2_1", "conv3_1"]) assert.equal(await page.isDisabled(`#layer-${layer}`), false);
  assert.equal(await page.$eval('#content_layers option[value="conv4_2"]', (o) => o.disabled), true);
  assert.equal(await page.inputValue("#content_layers"), "conv3_2"); // moved off conv4_2, with a notice
  assert.equal(await page.evaluate(() => window.crema.state.values.content_layers), "conv3_2");
  assert.match(await page.inputValue("#link"), /content_layers=conv3_2&/);
  assert.match(await page.textContent("#notices"), /Content layer conv4_2 is not in the loaded weights: using conv3_2/);
  assert.equal(await page.isDisabled('[data-preset="late"]'), true);
  assert.match(await page.textContent("#preset-reason"), /late preset uses conv4_1 and conv5_1, which the loaded weights lack/);
  assert.equal(await page.isDisabled("#run"), false);
});

t("every setting in the schema has a control that shows a link's value and writes it back", async () => {
  const ready = await page.evaluate(() => window.crema.state.ready);
  const layers = ready.schema.find((f) => f.kind === "layer_weights");
  const choices = (f) => (f.page_choices?.length ? f.page_choices : f.choices);
  // Each field's example, on weights of every layer the page offers (so that
  // no setting is moved off a missing layer) with two style images (so that
  // the blend weights have their sliders). A preset and explicit style
  // layers say the same thing twice (Go refuses both), so the fields with
  // buttons (the presets) get a page of their own.
  const pages = [ready.schema.filter((f) => f.control !== "buttons"), ready.schema.filter((f) => f.control === "buttons")];
  assert.equal(pages.flat().length, ready.schema.length);
  for (const fields of pages) {
    const q = new URLSearchParams({ backend: "cpu", style: "coffee,brick", weights: H.FULL_WEIGHTS });
    for (const f of fields) q.set(f.name, f.example);
    const p = await H.open(env, `?${q}`);
    await H.waitWeights(p);
    assert.match(await p.textContent("#weights-label"), new RegExp(`\\(conv1_1 … ${H.FULL_DEEPEST}\\)`));
    const values = await p.evaluate(() => window.crema.state.values);
    const link = new URL(await p.inputValue("#link")).searchParams;
    for (const f of fields) {
      const what = `${f.name}=${f.example}`;
      const sel = `#${f.name}`;
      switch (f.control || f.kind) {
        case "int":
        case "float":
        case "choice":
        case "layers":
          assert.ok(await p.$(sel), `${f.name} has no control`);
          assert.equal(await p.inputValue(sel), f.example, `${what}: the control shows ${await p.inputValue(sel)}`);
          break;
        case "bool":
          assert.ok(await p.$(sel), `${f.name} has no control`);
          assert.equal(await p.isChecked(sel), f.example === "1", what);
          break;
        case "layer_weights": {
          const want = Object.fromEntries(f.example.split(",").map((x) => x.split(":")));
          for (const l of choices(f)) {
            assert.ok(await p.$(`#layer-${l}`), `${f.name} has no slider for ${l}`);
            assert.equal(Number(await p.inputValue(`#layer-${l}`)), Number(want[l] || 0), `${what}: slider ${l}`);
          }
          break;
        }
        case "floats": {
          const want = f.example.split(",");
          assert.equal(await p.evaluate(() => window.crema.state.styles.length), want.length, `${what} needs one style image per weight`);
          for (const [i, w] of want.entries()) assert.equal(Number(await p.inputValue(`#blend-${i}`)), Number(w), `${what}: blend slider ${i}`);
          break;
        }
        case "buttons": {
          const button = `[data-${f.name}="${f.example}"]`;
          assert.ok(await p.$(button), `${f.name} has no button for ${f.example}`);
          assert.equal(await p.getAttribute(button, "aria-pressed"), "true", `${what}: not pressed`);
          const preset = ready.presets[f.example];
          assert.ok(preset, `${what}: buttons other than presets are not checked here`);
          for (const l of preset) assert.equal(Number(await p.inputValue(`#layer-${l.layer}`)), l.weight, `${what}: slider ${l.layer}`);
          // A preset comes back as the style layers it stands for.
          const text = preset.map((l) => `${l.layer}:${l.weight}`).join(",");
          assert.equal(values[layers.name], text, what);
          assert.equal(link.get(layers.name), text, `${what}: the link has ${layers.name}=${link.get(layers.name)}`);
          assert.ok(!link.get(f.name), `${what}: the link still has ${f.name}`);
          continue;
        }
        // The regions panel (js/masks.js): content masks are regions, style
        // masks one line per style image; each shown mask is [data-mask].
        case "masks": {
          const n = f.example.split(",").length;
          await p.waitForFunction(([name, n]) => document.querySelectorAll(`[data-field="${name}"] [data-mask]`).length === n, [f.name, n]);
          break;
        }
        case "regions": {
          // Region i's style picker and weight: "2+3:0.5" → 2+3 and 0.5.
          for (const [i, r] of f.example.split(",").entries()) {
            const [styles, weight = "1"] = r.split(":");
            await p.waitForSelector(`#region-${i + 1}-style`);
            assert.equal(await p.inputValue(`#region-${i + 1}-style`), styles, `${what}: region ${i + 1}'s style`);
            assert.equal(Number(await p.inputValue(`#region-${i + 1}-weight`)), Number(weight), `${what}: region ${i + 1}'s weight`);
          }
          break;
        }
        default:
          assert.fail(`no check for a field of kind ${f.kind} (${f.name})`);
      }
      assert.equal(values[f.name], f.example, `${what}: the page's value is ${values[f.name]}`);
      assert.equal(link.get(f.name), f.example, `${what}: the link has ${f.name}=${link.get(f.name)}`);
    }
    assert.doesNotMatch(await p.textContent("#notices"), /Ignored a setting/);
    // What Go's check finds (these examples together need not run) is shown.
    const error = await p.evaluate(() => window.crema.state.check.error);
    if (error) assert.ok((await p.textContent("#run-reason")).includes(error), `#run-reason does not say ${error}`);
    await p.context().close();
  }
});

t("a link's bad values are Go's to refuse: each is a notice, and keeps its default", async () => {
  const defaults = await page.evaluate(() => window.crema.state.ready.defaults);
  const p = await H.open(env, "?backend=cpu&image_size=big&style_stat=hist&num_iterations=7");
  await p.waitForFunction(() => window.crema?.state.values);
  const notices = await p.textContent("#notices");
  assert.match(notices, /Ignored a setting from the link: [^.]*image_size[^.]*"big"[^.]*\./);
  assert.match(notices, /Ignored a setting from the link: [^.]*style_stat "hist"/);
  assert.equal(await p.locator("#notices .notice", { hasText: "Ignored a setting" }).count(), 2);
  assert.equal(await p.inputValue("#image_size"), defaults.image_size);
  assert.equal(await p.inputValue("#style_stat"), defaults.style_stat);
  assert.equal(await p.inputValue("#num_iterations"), "7", "a good value of the same link is kept");
  const link = new URL(await p.inputValue("#link")).searchParams;
  assert.deepEqual([link.get("image_size"), link.get("style_stat"), link.get("num_iterations")], [defaults.image_size, defaults.style_stat, "7"]);
  await p.context().close();
});

t("images come in through the file inputs; bad files are refused with a message", async () => {
  await page.setInputFiles("#content-file", join(H.SAMPLES, "astronaut.jpg"));
  await page.waitForFunction(() => window.crema.state.content.name === "astronaut.jpg");
  await page.setInputFiles("#style-file", join(H.SAMPLES, "hubble_deep_field.jpg"));
  await page.waitForFunction(() => window.crema.state.styles.length === 2);
  assert.deepEqual(await page.evaluate(() => window.crema.state.styles.map((s) => s.name)), ["Espresso crema", "hubble_deep_field.jpg"]);
  assert.equal(await page.isDisabled("#blend-1"), false, "blend sliders work with two styles");
  await page.$eval("#blend-1", (el) => {
    el.value = "0.5";
    el.dispatchEvent(new Event("input"));
  });
  assert.equal(await page.evaluate(() => window.crema.state.values.style_blend_weights), "1,0.5");
  await H.settled(page);
  assert.deepEqual(await page.evaluate(() => window.crema.state.settings.style_blend_weights), [1, 0.5]);

  await page.setInputFiles("#content-file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await page.waitForSelector("#alerts .alert");
  assert.match(await page.textContent("#alerts"), /notes\.txt is not an image \(its type is text\/plain\)/);
  await page.setInputFiles("#content-file", { name: "broken.png", mimeType: "image/png", buffer: Buffer.concat([readFileSync(join(H.SAMPLES, "chelsea.jpg")).subarray(0, 40), Buffer.alloc(200, 7)]) });
  await page.waitForFunction(() => document.querySelector("#alerts").textContent.includes("broken.png"));
  assert.match(await page.textContent("#alerts"), /broken\.png could not be read as an image: the file is corrupt/);
  assert.equal(await page.evaluate(() => window.crema.state.content.name), "astronaut.jpg", "a bad file keeps the image already there");

  // A large photo is downscaled in the page, and the visitor is told.
  const big = await page.evaluate(async () => {
    const c = new OffscreenCanvas(2400, 1600);
    const g = c.getContext("2d");
    g.fillStyle = "#c86";
    g.fillRect(0, 0, 2400, 1600);
    const b = await c.convertToBlob({ type: "image/png" });
    return [...new Uint8Array(await b.arrayBuffer())];
  });
  await page.setInputFiles("#style-file", { name: "huge.png", mimeType: "image/png", buffer: Buffer.from(big) });
  await page.waitForFunction(() => window.crema.state.styles.length === 3);
  assert.match(await page.textContent("#notices"), /huge\.png is 2400×1600 \(3\.8 megapixels\); it was downscaled to 1024×683/);
  await page.click('#styles li:nth-child(3) button.remove');
  assert.equal(await page.evaluate(() => window.crema.state.styles.length), 2);
  await page.$$eval("#alerts .alert .dismiss", (bs) => bs.forEach((b) => b.click()));
});

t("sliders move by keyboard, and a run previews, pauses, resumes and lowers the loss", async () => {
  const before = await page.evaluate(() => window.crema.state.settings.style_layers.find((l) => l.layer === "conv1_1").weight);
  await page.focus("#layer-conv1_1");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  assert.match(await page.evaluate(() => window.crema.state.values.style_layers), /^conv1_1:0\.3,conv2_1:0\.2,/);
  await H.settled(page);
  const afterKeys = await page.evaluate(() => window.crema.state.settings.style_layers.find((l) => l.layer === "conv1_1").weight);
  assert.ok(Math.abs(afterKeys - (before + 0.1)) < 1e-9, `conv1_1 ${before} → ${afterKeys}, want +0.1`);
  assert.equal(await page.getAttribute('[data-preset="even"]', "aria-pressed"), "false");

  await page.click("#run");
  await page.waitForFunction(() => window.crema.state.lastFrame, null, { timeout: 120_000 });
  await page.click("#pause");
  await page.waitForFunction(() => window.crema.state.run?.paused);
  assert.equal(await page.textContent("#pause"), "Resume");
  await page.waitForTimeout(1500); // the iteration in flight may still report
  const pausedAt = await page.evaluate(() => window.crema.state.run.lastIter);
  const early = await H.canvasHash(page, "#preview");
  await page.waitForTimeout(1500);
  assert.equal(await page.evaluate(() => window.crema.state.run.lastIter), pausedAt, "no progress while paused");
  assert.match(await page.textContent("#status"), /Paused/);
  await page.click("#pause");
  await H.waitIdle(page);
  const status = await page.textContent("#status");
  assert.match(status, /done after 8 iterations/);
  const late = await H.canvasHash(page, "#preview");
  assert.notEqual(late, early, "the preview changed");
  assert.match(late, /^40x40:/);
  const [first, last] = await page.evaluate(() => window.crema.chart.ends("total"));
  assert.ok(last < first, `total loss ${first} → ${last} did not fall`);
  for (const layer of ["conv1_1", "conv2_1", "conv3_1"]) assert.ok(await page.evaluate((l) => window.crema.chart.ends(l), layer), `no ${layer} series`);
  assert.match(await page.getAttribute("#chart", "aria-label"), /Loss at iteration 8: total/);
  if (H.SCREENSHOTS) {
    await page.$$eval("#notices .dismiss", (bs) => bs.forEach((b) => b.click()));
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(H.ROOT, "docs", "page.png") });
  }
});

t("the result downloads as a PNG of the preview's size", async () => {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  assert.match(dl.suggestedFilename(), /^crema-astronaut.*-8\.png$/);
  const png = readFileSync(await dl.path());
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [40, 40]);
});

t("stop ends a run early and keeps its image; a failed run keeps the last preview downloadable", async () => {
  await H.setValue(page, "#num_iterations", 500);
  await page.click("#run");
  await page.waitForFunction(() => window.crema.state.run?.lastIter >= 1, null, { timeout: 120_000 });
  await page.click("#stop");
  await H.waitIdle(page);
  assert.match(await page.textContent("#status"), /stopped after \d+ iterations/);
  assert.equal(await page.isDisabled("#download"), false);

  // Settings the engine refuses: the error is shown and the last image stays.
  await H.setValue(page, "#num_iterations", 8);
  await H.setValue(page, "#style_weight", 0);
  await H.setValue(page, "#content_weight", 0);
  await H.settled(page);
  assert.match(await page.textContent("#run-reason"), /These settings will not run: .*nothing to optimise/, "Go's check is shown before the run");
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#alerts").textContent.includes("nothing to optimise"));
  assert.match(await page.textContent("#alerts"), /The run failed: transfer: content_weight, style_weight and tv_weight are all 0: nothing to optimise\. The last preview is kept/);
  assert.equal(await page.isDisabled("#download"), false);
  await H.setValue(page, "#style_weight", 40);
  await H.setValue(page, "#content_weight", 10);
  await page.$$eval("#alerts .alert .dismiss", (bs) => bs.forEach((b) => b.click()));

  // A value Go refuses is said under its control.
  await H.setValue(page, "#style_scale", 0);
  await H.settled(page);
  assert.match(await page.textContent("#style_scale-msg"), /style_scale 0 is out of range/);
  assert.equal(await page.getAttribute("#style_scale", "aria-invalid"), "true");
  await H.setValue(page, "#style_scale", 1);
  await H.settled(page);
  assert.equal(await page.textContent("#style_scale-msg"), "");
  assert.equal(await page.getAttribute("#style_scale", "aria-invalid"), null);
  assert.equal(await page.textContent("#run-reason"), "");
});

t("compare runs the presets one after another, side by side with captions", async () => {
  await H.setValue(page, "#num_iterations", 3);
  await page.click("#compare-run");
  await page.waitForFunction(() => document.querySelectorAll("#compare-grid figure").length === 3);
  await H.waitIdle(page);
  const caps = await page.$$eval("#compare-grid figcaption", (fs) => fs.map((f) => f.textContent));
  assert.match(caps[0], /^even\s*style 1_1×0\.2 2_1×0\.2 3_1×0\.2 · content 3_2 · α 10 β 40/);
  assert.match(caps[1], /^early\s*style 1_1×0\.8 2_1×0\.2 · /);
  assert.match(caps[2], /^late\s*skipped: The late preset uses conv4_1 and conv5_1, which the loaded weights lack/);
  const hashes = await Promise.all([1, 2].map((i) => H.canvasHash(page, `#compare-grid figure:nth-child(${i}) canvas`)));
  assert.ok(hashes.every((h) => /^40x40:/.test(h)), `compare images: ${hashes}`);
  assert.notEqual(hashes[0], hashes[1], "even and early made the same image");
  assert.match(page.url(), /compare=even,early,late/);
  if (H.SCREENSHOTS) await page.locator(".compare").screenshot({ path: join(H.ROOT, "docs", "page-compare.png") });
});

t("settings round-trip through the URL", async () => {
  await page.click('[data-preset="early"]');
  await H.setValue(page, "#content_weight", 3);
  await page.$eval("#more", (d) => (d.open = true));
  await H.setValue(page, "#seed", 42);
  await page.selectOption("#style_stat", "meanstd");
  await page.check("#original_colors");
  await page.selectOption("#content-sample", "rocket");
  await page.waitForFunction(() => window.crema.state.content.sample === "rocket");
  await H.settled(page);
  const link = await page.inputValue("#link");
  assert.match(link, /content=rocket/);
  assert.match(link, /style_layers=conv1_1:0\.8,conv2_1:0\.2,conv3_1:0,conv4_1:0,conv5_1:0(&|$)/);
  const want = await page.evaluate(() => window.crema.state.settings);
  const p2 = await H.open(env, link.slice(env.url.length));
  await H.waitWeights(p2);
  await p2.waitForFunction(() => window.crema.state.content?.sample === "rocket" && window.crema.state.styles.length === 1);
  await H.settled(p2);
  assert.deepEqual(await p2.evaluate(() => window.crema.state.settings), { ...want, style_blend_weights: null });
  assert.equal(await p2.inputValue("#seed"), "42");
  assert.equal(await p2.isChecked("#original_colors"), true);
  assert.equal(await p2.getAttribute('[data-preset="early"]', "aria-pressed"), "true");
  await p2.context().close();
});

t("the weights are kept in the Cache API for the next visit", async () => {
  const ctx = page.context();
  const p2 = await H.open(env, "?backend=cpu", { context: ctx });
  await H.waitWeights(p2);
  assert.match(await p2.textContent("#weights-label"), /from this browser's cache/);
  assert.ok(!p2.requests.some((u) => u.includes("vgg19.bin")), "the binary was downloaded again");
  await p2.close();
});

t("embed mode renders a compact page, with a copyable snippet on the full page", async () => {
  const code = await page.inputValue("#embed-code");
  assert.match(code, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/\?[^"]*embed=1[^"]*" title="crema: neural style transfer"/);
  assert.match(code, /sandbox="allow-scripts allow-same-origin allow-downloads"/);
  const p = await H.open(env, "?embed=1&backend=cpu&image_size=40", { viewport: { width: 640, height: 600 } });
  await H.waitWeights(p);
  assert.equal(await p.evaluate(() => document.body.classList.contains("embed")), true);
  assert.equal(await p.isVisible("header.top"), false);
  assert.equal(await p.isVisible(".share"), false);
  assert.equal(await p.isVisible("#run"), true);
  assert.equal(await p.isVisible("#embed-credit"), true);
  if (H.SCREENSHOTS) await p.screenshot({ path: join(H.ROOT, "docs", "page-embed.png") });
  await p.context().close();
});

t("the page works inside a sandboxed iframe (opaque origin: no Cache API, worker from a Blob)", async () => {
  const ctx = await env.browser.newContext();
  const p = await ctx.newPage();
  const requests = [];
  ctx.on("request", (r) => requests.push(r.url()));
  // The host page is the dev server's own 404 page, so it has an http origin.
  await p.goto(env.url + "host-for-test");
  await p.setContent(`<iframe sandbox="allow-scripts" src="${env.url}?embed=1&backend=cpu&image_size=32&num_iterations=2&preview_every=1" width="600" height="500"></iframe>`);
  const frame = await (await p.waitForSelector("iframe")).contentFrame();
  await frame.waitForFunction(() => window.crema?.state.weights, null, { timeout: 120_000, polling: 250 });
  assert.equal(await frame.evaluate(() => window.origin), "null");
  await frame.waitForFunction(() => window.crema.state.content && window.crema.state.styles.length);
  await frame.click("#run");
  await H.waitIdle(frame);
  assert.match(await frame.textContent("#status"), /done after 2 iterations/);
  assert.deepEqual(H.outside(env, requests), []);
  await ctx.close();
});

t("a corrupted weights download fails its SHA-256 check, says so, and Retry recovers", async () => {
  const ctx = await env.browser.newContext();
  const p = await ctx.newPage();
  let corrupt = true;
  await p.route("**/vgg19.bin*", async (route) => {
    const resp = await route.fetch();
    const body = await resp.body();
    if (corrupt) body[1000] ^= 0xff;
    await route.fulfill({ response: resp, body });
  });
  await p.goto(env.url + "?backend=cpu");
  await p.waitForFunction(() => document.querySelector("#alerts").textContent.includes("SHA-256"), null, { timeout: 120_000 });
  assert.match(await p.textContent("#alerts"), /The weights failed their check: weights: binary vgg19\.bin has SHA-256 [0-9a-f]{64} but the manifest says [0-9a-f]{64}: the file is corrupted/);
  assert.equal(await p.isDisabled("#run"), true);
  assert.match(await p.textContent("#run-reason"), /Waiting for the network weights/);
  assert.equal(await p.isVisible("#weights-retry"), true);
  corrupt = false;
  await p.click("#weights-retry");
  await p.waitForFunction(() => window.crema.state.weights, null, { timeout: 120_000 });
  assert.equal(await p.isDisabled("#run"), false);
  await ctx.close();
});

t("missing weights say how to get them", async () => {
  // On another host: the general advice.
  const p = await H.open(env, "?backend=cpu&weights=nowhere/vgg19.json");
  await p.waitForFunction(() => document.querySelector("#alerts").textContent.includes("make run"), null, { timeout: 120_000 });
  assert.match(await p.textContent("#alerts"), /no weights at nowhere\/vgg19\.json \(HTTP 404\)\. In the crema folder, `make run` downloads them \(or `make weights`\)/);
  // From the dev server: its own explanation (why make run has none).
  const q = await H.open(env, "?backend=cpu&weights=weights/none/vgg19.json");
  await q.waitForFunction(() => document.querySelector("#alerts").textContent.includes("crema has no network weights"), null, { timeout: 120_000 });
  assert.match(await q.textContent("#alerts"), /crema has no network weights in .*: \/weights\/none\/vgg19\.json is not there\. The page runs once they are there: run `make run` again \(or `make weights`\)/);
  await p.context().close();
  await q.context().close();
});

t("the backend in use is shown: WebGPU on SwiftShader, and it runs", async () => {
  // ?backend=webgpu: "auto" measures, and on SwiftShader the CPU wins.
  const p = await H.open(env, "?backend=webgpu&image_size=24&num_iterations=1&preview_every=1");
  await p.waitForFunction(() => window.crema?.state.backend, null, { timeout: 120_000 });
  const be = await p.evaluate(() => window.crema.state.backend);
  assert.equal(be.name, "webgpu", `the flags give WebGPU on SwiftShader, but the page chose ${be.name}: ${be.reason}`);
  assert.equal(be.choice, undefined, "?backend=webgpu measured");
  assert.match(await p.textContent("#backend"), /^Backend: WebGPU · \S/);
  // One iteration at 24 px: SwiftShader is slow.
  await H.waitWeights(p);
  await p.click("#run");
  await H.waitIdle(p, 300_000);
  assert.match(await p.textContent("#status"), /done after 1 iterations/);
  const [first, last] = await p.evaluate(() => window.crema.chart.ends("total"));
  assert.ok(last < first, `WebGPU: total loss ${first} → ${last} did not fall`);
  await p.context().close();
});

t("without WebGPU the page falls back to the CPU and says so", async () => {
  const plain = await chromium.launch(launchOptions({ webgpu: false }));
  try {
    const p = await H.open({ ...env, browser: plain }, "");
    await p.waitForFunction(() => window.crema?.state.backend, null, { timeout: 120_000 });
    const be = await p.evaluate(() => window.crema.state.backend);
    assert.equal(be.name, "cpu");
    assert.equal(be.fallback, true);
    assert.match(await p.textContent("#backend"), /CPU \(fallback\)/);
    assert.match(await p.textContent("#notices"), /WebGPU is not available here \(.+\), so crema runs on the CPU/);
  } finally {
    await plain.close();
  }
});

/** The page's backend message, once there. */
async function backendOf(p) {
  await p.waitForFunction(() => window.crema?.state.backend, null, { timeout: 120_000, polling: 250 });
  return p.evaluate(() => window.crema.state.backend);
}

/** The localStorage item where the page remembers measured choices. */
const CHOICES = "crema.backend-choice";

let measuredCtx; // the browser context of the first visit below, for the second
let measured; // its backend message

t("auto measures WebGPU against the CPU at start, keeps the faster, and the badge says both figures", async () => {
  measuredCtx = await env.browser.newContext();
  const p = await H.open(env, "?image_size=24&num_iterations=1", { context: measuredCtx });
  const be = (measured = await backendOf(p));
  assert.equal(be.requested, "auto");
  assert.equal(be.fallback, false, `auto fell back: ${be.reason}`);
  assert.ok(be.choice && !be.choice.remembered, `no measurement: ${JSON.stringify(be)}`);
  const [cpu, gpu] = be.choice.times;
  assert.deepEqual([cpu.name, gpu.name], ["cpu", "webgpu"]);
  assert.ok(cpu.ms > 0 && gpu.ms > 0, JSON.stringify(be.choice.times));
  assert.equal(be.name, cpu.ms <= gpu.ms ? "cpu" : "webgpu", `chose ${be.name} with ${JSON.stringify(be.choice.times)}`);
  assert.equal(be.choice.name, be.name);
  assert.match(be.reason, /^measured at start: CPU [\d.]+ ms, WebGPU [\d.]+ ms for one conv$/);
  const badge = await p.textContent("#backend");
  assert.ok(badge.endsWith(` — ${be.reason}`), `badge: ${badge}`);
  assert.match(badge, be.name === "cpu" ? /^Backend: CPU · WebAssembly SIMD/ : /^Backend: WebGPU · \S/);
  console.log(`# SwiftShader, at start: ${be.reason} → ${be.name}`);
  const kept = await p.evaluate((k) => JSON.parse(localStorage.getItem(k)), CHOICES);
  const entries = Object.values(kept || {});
  assert.equal(entries.length, 1, `remembered: ${JSON.stringify(kept)}`);
  assert.deepEqual({ name: entries[0].name, times: entries[0].times }, { name: be.choice.name, times: be.choice.times });
  await p.close();
});

t("a second visit uses the remembered choice without measuring, and ?backend=auto measures again", async () => {
  assert.ok(measured, "the first visit (the test before) did not measure");
  const p = await H.open(env, "?image_size=24&num_iterations=1", { context: measuredCtx });
  const be = await backendOf(p);
  assert.equal(be.name, measured.name);
  assert.equal(be.fallback, false);
  assert.equal(be.choice?.remembered, true, `the worker measured again: ${JSON.stringify(be)}`);
  assert.deepEqual(be.choice.times, measured.choice.times);
  assert.equal(be.reason, measured.reason.replace(/^measured at start/, "remembered from an earlier measurement on this device"));
  assert.match(await p.textContent("#backend"), /— remembered from an earlier measurement on this device: CPU [\d.]+ ms, WebGPU [\d.]+ ms for one conv \(measure again\)$/);
  const again = await p.getAttribute("#measure-again", "href");
  assert.equal(new URL(again).searchParams.get("backend"), "auto");
  // The link measures again.
  await p.click("#measure-again");
  await p.waitForURL(/backend=auto/);
  const be2 = await backendOf(p);
  assert.ok(be2.choice && !be2.choice.remembered, `?backend=auto did not measure: ${JSON.stringify(be2)}`);
  assert.match(be2.reason, /^measured at start: /);
  await measuredCtx.close();
});

t("?backend=auto,fault=slow: WebGPU measures slow, the CPU wins, the badge says why, and nothing is remembered", async () => {
  const p = await H.open(env, "?backend=auto,fault=slow&image_size=24&num_iterations=1");
  const be = await backendOf(p);
  assert.equal(be.name, "cpu", `fault=slow left the page on ${be.name}: ${be.reason}`);
  assert.equal(be.fallback, false);
  assert.equal(be.choice.name, "cpu");
  assert.equal(be.choice.times[1].penalty_ms, 1000);
  assert.ok(be.choice.times[1].ms >= 1000, JSON.stringify(be.choice.times));
  assert.match(await p.textContent("#backend"), /^Backend: CPU · WebAssembly SIMD.* — measured at start: CPU [\d.]+ ms, WebGPU \d+ ms \(1000 ms of it added by fault=slow\) for one conv$/);
  assert.equal(await p.isVisible("#fallback-notice"), false, "a measured choice is no fallback");
  assert.equal(await p.evaluate((k) => localStorage.getItem(k), CHOICES), null);
  await p.context().close();
});

t("auto in a sandboxed iframe (opaque origin: no localStorage, no WebGPU) opens the CPU without an error", async () => {
  const ctx = await env.browser.newContext();
  const p = await ctx.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(e.message));
  await p.goto(env.url + "host-for-test");
  await p.setContent(`<iframe sandbox="allow-scripts" src="${env.url}?embed=1&image_size=24&num_iterations=1" width="600" height="500"></iframe>`);
  const frame = await (await p.waitForSelector("iframe")).contentFrame();
  await frame.waitForFunction(() => window.crema?.state.backend, null, { timeout: 120_000, polling: 250 });
  assert.equal(
    await frame.evaluate(() => {
      try {
        return typeof localStorage.getItem("x");
      } catch {
        return "refused";
      }
    }),
    "refused",
  );
  const be = await frame.evaluate(() => window.crema.state.backend);
  assert.equal(be.name, "cpu");
  assert.equal(be.fallback, true);
  assert.match(be.reason, /^webgpu: this browser has no navigator\.gpu/);
  assert.match(await frame.textContent("#backend"), /^Backend: CPU \(fallback\) · WebAssembly SIMD/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

t("?simd=off: the CPU runs the Go kernel, the badge says so, and the loss falls", async () => {
  // The main page (?backend=cpu) runs the SIMD kernels.
  assert.match(await page.textContent("#backend"), /^Backend: CPU · WebAssembly SIMD/);
  const p = await H.open(env, "?backend=cpu&simd=off&image_size=32&num_iterations=2&preview_every=1");
  const be = await backendOf(p);
  assert.equal(be.kernel, "Go kernel (SIMD off)");
  assert.match(await p.textContent("#backend"), /^Backend: CPU · Go kernel \(SIMD off\)$/);
  assert.match(await p.getAttribute("#backend", "title"), /no SIMD: wasmsimd: turned off \(CREMA_WASM_SIMD=off\)/);
  await H.waitWeights(p);
  assert.match(await p.inputValue("#link"), /[?&]simd=off(&|$)/);
  await p.click("#run");
  await H.waitIdle(p);
  assert.match(await p.textContent("#status"), /done after 2 iterations/);
  const [first, last] = await p.evaluate(() => window.crema.chart.ends("total"));
  assert.ok(last < first, `Go kernel: total loss ${first} → ${last} did not fall`);
  await p.context().close();
});

t("images also come by drag-and-drop and by paste (into the focused slot)", async () => {
  const bytes = [...readFileSync(join(H.SAMPLES, "rocket.jpg"))];
  const nStyles = await page.evaluate(() => window.crema.state.styles.length);
  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], "dropped.jpg", { type: "image/jpeg" }));
    document.querySelector("#content-drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await page.waitForFunction(() => window.crema.state.content.name === "dropped.jpg");
  await page.focus("#style-file");
  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], "clip.jpg", { type: "image/jpeg" }));
    document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await page.waitForFunction((n) => window.crema.state.styles.length === n + 1, nStyles);
  assert.equal(await page.evaluate(() => window.crema.state.styles.at(-1).name), "pasted image");
  assert.equal(await page.evaluate(() => window.crema.state.content.name), "dropped.jpg", "the paste went to the focused style slot");
});

t("closing the tab during a run asks first", async () => {
  await H.setValue(page, "#num_iterations", 500);
  await page.click("#run");
  await page.waitForFunction(() => window.crema.state.run?.lastIter >= 1, null, { timeout: 120_000 });
  const dialog = new Promise((ok) =>
    page.once("dialog", async (d) => {
      ok(d.type());
      await d.accept();
    }),
  );
  await page.close({ runBeforeUnload: true });
  assert.equal(await dialog, "beforeunload");
});

t("on a phone-sized screen the page is one column without sideways scrolling", async () => {
  const p = await H.open(env, "?backend=cpu", { viewport: { width: 390, height: 844 } });
  await H.waitWeights(p);
  await p.waitForFunction(() => window.crema.state.content && window.crema.state.styles.length);
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= 390), "the page is wider than the screen");
  const [controls, output] = await Promise.all([".controls", ".output"].map((s) => p.locator(s).boundingBox()));
  assert.ok(controls.y >= output.y + output.height - 1, "the result (with Run) is not above the controls");
  for (const id of ["#run", "#pause", "#stop", "#download"]) {
    const box = await p.locator(id).boundingBox();
    assert.ok(box.height >= 40, `${id} is ${box.height}px tall, too small to tap`);
  }
  if (H.SCREENSHOTS) await p.screenshot({ path: join(H.ROOT, "docs", "page-phone.png") });
  await p.context().close();
});

t("make dist's folder runs from a plain static server, with the gzipped wasm", async () => {
  const dir = join(env.tmp, "dist");
  execFileSync("go", ["run", "./tools/serve", "-dist", dir, "-weights", env.weights], { cwd: H.ROOT, stdio: ["ignore", "ignore", "inherit"] });
  for (const f of ["index.html", "worker.js", "js/app.js", "samples/chelsea.jpg", "samples/README.md", "wasm/crema.wasm", "wasm/crema.wasm.gz", "wasm/wasm_exec.js", "weights/pack-f16/vgg19.json", "weights/pack-f16/vgg19.bin"]) {
    assert.ok(existsSync(join(dir, f)), `dist lacks ${f}`);
  }
  assert.ok(!existsSync(join(dir, "test")), "dist holds the tests");
  // A static host that knows nothing of crema: files with a MIME type, no special headers.
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".jpg": "image/jpeg" };
  const served = [];
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dir, path.endsWith("/") ? path + "index.html" : path);
    served.push(path);
    if (!existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": types[extname(file)] || "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  try {
    const url = `http://127.0.0.1:${server.address().port}/`;
    const p = await H.open({ ...env, url }, "?backend=cpu&image_size=24&num_iterations=1");
    await H.waitWeights(p);
    await p.waitForFunction(() => window.crema.state.content && window.crema.state.styles.length);
    await p.click("#run");
    await H.waitIdle(p);
    assert.match(await p.textContent("#status"), /done after 1 iterations/);
    assert.ok(served.includes("/wasm/crema.wasm.gz") && !served.includes("/wasm/crema.wasm"), `served: ${served.filter((x) => x.includes("wasm"))}`);
    await p.context().close();
  } finally {
    server.close();
  }
});

t("no request left the origin", async () => {
  assert.deepEqual(H.outside(env, page.requests), []);
  assert.ok(page.requests.some((u) => u.endsWith("/wasm/crema.wasm")));
});
