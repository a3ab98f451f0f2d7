// Unit tests of web/js/settings.js (no browser): the generic helpers the
// page keeps (reading and parsing settings is Go's: the page tests walk the
// real schema through the worker). The fields here are shaped like the
// schema's JSON (transfer.Field).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as S from "../js/settings.js";

const field = (f) => ({ min: 0, max: 0, has_min: false, has_max: false, min_open: false, ...f });
const schema = [
  field({ name: "image_size", kind: "int", min: 8, max: 4096, has_min: true, has_max: true, page_max: 1024, step: 8 }),
  field({ name: "content_weight", kind: "float", has_min: true }),
  field({ name: "style_layers", kind: "layer_weights", choices: ["conv1_1", "conv1_2", "conv2_1"], page_choices: ["conv1_1", "conv2_1"] }),
  field({ name: "preset", kind: "choice", choices: ["even", "early", "late"], control: "buttons" }),
  field({ name: "style_blend_weights", kind: "floats", has_min: true, min_open: true, page_max: 1, step: 0.05 }),
  field({ name: "style_scale", kind: "float", has_min: true, min_open: true, max: 8, has_max: true, page_max: 4, step: 0.1 }),
  field({ name: "learning_rate", kind: "float", has_min: true, min_open: true }),
  field({ name: "seed", kind: "int" }),
];
const byName = Object.fromEntries(schema.map((f) => [f.name, f]));
const layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"];
const presets = {
  even: layers.map((layer) => ({ layer, weight: 0.2 })),
  early: [0.8, 0.2, 0, 0, 0].map((weight, i) => ({ layer: layers[i], weight })),
  late: [0, 0, 0, 0.2, 0.8].map((weight, i) => ({ layer: layers[i], weight })),
};

test("number inputs take their limits and step from the field", () => {
  assert.deepEqual(S.numberAttrs(byName.image_size), { min: 8, max: 1024, step: 8 }, "the page's maximum wins");
  assert.deepEqual(S.numberAttrs(byName.content_weight), { min: 0, step: "any" });
  assert.deepEqual(S.numberAttrs(byName.style_scale), { min: 0.1, max: 4, step: 0.1 }, "above an open minimum by one step");
  assert.deepEqual(S.numberAttrs(byName.learning_rate), { min: 0, step: "any" }, "no step: the minimum itself, which Go refuses");
  assert.deepEqual(S.numberAttrs(byName.seed), { step: 1 });
});

test("a control offers the page's choices, else all", () => {
  assert.deepEqual(S.choicesOf(byName.style_layers), ["conv1_1", "conv2_1"]);
  assert.deepEqual(S.choicesOf(byName.preset), ["even", "early", "late"]);
  assert.deepEqual(S.choicesOf(byName.seed), []);
});

test("a link's settings are its parameters that the schema names, as written", () => {
  const params = new URLSearchParams("image_size=big&style=coffee&embed=1&seed=-3&style_layers=relu1_1&unknown=1");
  assert.deepEqual(S.linkValues(params, schema), { image_size: "big", style_layers: "relu1_1", seed: "-3" });
});

test("values go into the link in the schema's order, empty ones left out, readable", () => {
  const params = new URLSearchParams("content=rocket&seed=9&preset=late");
  const values = { seed: "-3", image_size: "64", style_layers: "conv1_1:0.8,conv2_1:0.2", preset: "", style_blend_weights: "", content_weight: "0.5" };
  const q = S.queryText(S.valuesToParams(values, schema, params));
  assert.equal(q, "content=rocket&seed=-3&image_size=64&content_weight=0.5&style_layers=conv1_1:0.8,conv2_1:0.2");
  for (const p of S.PAGE_PARAMS) assert.ok(!schema.some((f) => f.name === p), `${p} is both a page parameter and a setting`);
});

test("layer weights are written with every weight, zeros included", () => {
  assert.equal(S.formatLayerWeights([{ layer: "conv1_1", weight: 0 }, { layer: "conv2_1", weight: 2 }, { layer: "conv3_1", weight: 0.30000000000000004 }]), "conv1_1:0,conv2_1:2,conv3_1:0.30000000000000004");
});

test("presets: layers the weights lack are set to 0, and recognised afterwards", () => {
  const unavailable = { conv4_1: "missing", conv5_1: "missing" };
  const early = S.presetLayers(presets.early, unavailable);
  assert.equal(S.presetName(early, presets, ["even", "early", "late"], unavailable), "early");
  const even = S.presetLayers(presets.even, unavailable);
  assert.deepEqual(even.map((l) => l.weight), [0.2, 0.2, 0.2, 0, 0]);
  assert.equal(S.presetName(even, presets, ["even", "early", "late"], unavailable), "even");
  assert.equal(S.presetName(even, presets, ["even", "early", "late"]), "", "with every layer, even weighs conv4_1 and conv5_1");
  even[1].weight = 0.5;
  assert.equal(S.presetName(even, presets, ["even", "early", "late"], unavailable), "");
  assert.equal(S.formatLayerWeights(S.presetLayers(presets.late, unavailable)), "conv1_1:0,conv2_1:0,conv3_1:0,conv4_1:0,conv5_1:0");
});

test("captions name the layers and the main settings", () => {
  const s = {
    image_size: 256, num_iterations: 200, content_weight: 10, style_weight: 40, tv_weight: 0,
    content_layers: ["conv4_2"], style_layers: presets.early, style_stat: "gram", style_cost: "mse", optimizer: "lbfgs",
  };
  assert.equal(S.caption(s, "early"), "early: style 1_1×0.8 2_1×0.2 · content 4_2 · α 10 β 40 TV 0 · gram/mse lbfgs 200 it 256 px");
});
