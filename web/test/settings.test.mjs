// Unit tests of web/js/settings.js (no browser): the URL round trip, layer
// lists, presets and captions.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as S from "../js/settings.js";

const defaults = {
  image_size: 256, num_iterations: 200, content_weight: 10, style_weight: 40, tv_weight: 0,
  content_layers: ["conv4_2"], preset: "",
  style_layers: ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"].map((layer) => ({ layer, weight: 0.2 })),
  style_stat: "gram", style_cost: "mse", style_blend_weights: null, style_scale: 1, original_colors: false,
  init: "image", optimizer: "lbfgs", learning_rate: 10, lbfgs_num_correction: 10, pooling: "max", seed: 0,
  coarse_to_fine: false, preview_every: 5,
};
const presets = {
  even: defaults.style_layers,
  early: [["conv1_1", 0.8], ["conv2_1", 0.2], ["conv3_1", 0], ["conv4_1", 0], ["conv5_1", 0]].map(([layer, weight]) => ({ layer, weight })),
  late: [["conv1_1", 0], ["conv2_1", 0], ["conv3_1", 0], ["conv4_1", 0.2], ["conv5_1", 0.8]].map(([layer, weight]) => ({ layer, weight })),
};

test("settings survive the URL round trip", () => {
  const s = S.clone(defaults);
  Object.assign(s, { image_size: 72, content_weight: 2.5, tv_weight: 0.001, seed: -3, original_colors: true, style_stat: "meanstd", content_layers: ["conv3_2"], style_blend_weights: [1, 0.25] });
  s.style_layers = [{ layer: "conv1_1", weight: 0.75 }, { layer: "conv3_1", weight: 0.125 }];
  const q = S.queryText(S.settingsToParams(s));
  assert.match(q, /style_layers=conv1_1:0\.75,conv3_1:0\.125/);
  assert.match(q, /original_colors=1/);
  const back = S.settingsFromParams(new URLSearchParams(q), defaults);
  assert.deepEqual(back.errors, []);
  assert.deepEqual(back.settings, s);
});

test("bad URL values are reported and skipped", () => {
  const { settings, errors } = S.settingsFromParams(new URLSearchParams("image_size=big&seed=1.5&style_layers=conv9_1:1&style_blend_weights=1,-2&tv_weight=0.5"), defaults);
  assert.equal(settings.image_size, 256);
  assert.equal(settings.seed, 0);
  assert.equal(settings.tv_weight, 0.5);
  assert.deepEqual(settings.style_layers, defaults.style_layers);
  assert.deepEqual(errors, [
    "image_size=big is not a whole number",
    "seed=1.5 is not a whole number",
    'style layer "conv9_1" is not a VGG-19 layer (conv1_1 … conv5_4)',
    "style_blend_weights=1,-2 is not a list of numbers ≥ 0",
  ]);
});

test("style layer lists: relu names, bare layers, zero weights kept when written", () => {
  assert.deepEqual(S.parseStyleLayers("relu1_1:0.5, conv2_1"), [{ layer: "conv1_1", weight: 0.5 }, { layer: "conv2_1", weight: 1 }]);
  assert.throws(() => S.parseStyleLayers("conv1_1:x"), /weight "x" is not a number/);
  assert.equal(S.formatStyleLayers([{ layer: "conv1_1", weight: 0 }, { layer: "conv2_1", weight: 2 }]), "conv1_1:0,conv2_1:2");
});

test("presets: layers the weights lack are set to 0, and recognised afterwards", () => {
  const unavailable = { conv4_1: "missing", conv5_1: "missing" };
  const s = S.withPreset(defaults, presets.early, unavailable);
  assert.equal(S.layerWeight(s, "conv1_1"), 0.8);
  assert.equal(S.presetName(s, presets, unavailable), "early");
  const e = S.withPreset(defaults, presets.even, unavailable);
  assert.equal(S.layerWeight(e, "conv4_1"), 0);
  assert.equal(S.presetName(e, presets, unavailable), "even");
  S.setLayerWeight(e, "conv2_1", 0.5);
  assert.equal(S.presetName(e, presets, unavailable), "");
  assert.deepEqual(e.style_layers.map((l) => l.layer), ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]);
});

test("captions name the layers and the main settings", () => {
  const s = S.withPreset(defaults, presets.early);
  assert.equal(S.caption(s, "early"), "early: style 1_1×0.8 2_1×0.2 · content 4_2 · α 10 β 40 TV 0 · gram/mse lbfgs 200 it 256 px");
});
