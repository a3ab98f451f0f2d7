// settings.js: the run settings as the page keeps them, and their round trip
// through the URL. Field names are transfer.Settings' JSON names (the worker
// protocol's), so a link is the settings object, flattened:
//
//   ?image_size=256&num_iterations=200&style_layers=conv1_1:1,conv2_1:0.5
//    &content_layers=conv4_2&style_blend_weights=1,2&original_colors=1 ...
//
// plus the page's own parameters (PAGE_PARAMS): the sample images, embed,
// backend, weights URL and the comparison's presets. Pure functions, no DOM:
// node --test web/test/ tests them directly.

/** Scalar settings and how their URL text is read. */
export const SCALARS = {
  image_size: "int",
  num_iterations: "int",
  content_weight: "num",
  style_weight: "num",
  tv_weight: "num",
  style_stat: "str",
  style_cost: "str",
  style_scale: "num",
  original_colors: "bool",
  init: "str",
  optimizer: "str",
  learning_rate: "num",
  lbfgs_num_correction: "int",
  pooling: "str",
  seed: "int",
  coarse_to_fine: "bool",
  preview_every: "int",
};

/** Parameters of the page itself, not of a run. */
export const PAGE_PARAMS = ["content", "style", "embed", "backend", "weights", "compare"];

/** The presets' names, in the order the page shows them. */
export const PRESETS = ["even", "early", "late"];

/** A deep copy of plain settings. */
export function clone(s) {
  return JSON.parse(JSON.stringify(s));
}

/** "conv1_1:1,conv2_1:0.5" → [{layer, weight}]. A layer without a weight gets 1. */
export function parseStyleLayers(text) {
  const out = [];
  for (const part of String(text).split(",")) {
    const p = part.trim();
    if (!p) continue;
    const [layer, w] = p.split(":");
    if (!/^(conv|relu)[1-5]_[1-4]$/.test(layer.trim())) throw new Error(`style layer "${layer}" is not a VGG-19 layer (conv1_1 … conv5_4)`);
    const weight = w === undefined ? 1 : Number(w);
    if (!Number.isFinite(weight) || weight < 0) throw new Error(`style layer ${layer}: weight "${w}" is not a number ≥ 0`);
    out.push({ layer: layer.trim().replace(/^relu/, "conv"), weight });
  }
  return out;
}

/** [{layer, weight}] → "conv1_1:1,conv2_1:0.5" (zero weights kept, so the
 * list reads back exactly). */
export function formatStyleLayers(list) {
  return list.map((l) => `${l.layer}:${num(l.weight)}`).join(",");
}

function num(x) {
  // Shortest text that reads back the same number.
  return String(Number(x));
}

/** Writes every setting (not only those that differ from the defaults, so a
 * link keeps reproducing its run if the defaults change) into params. */
export function settingsToParams(s, params = new URLSearchParams()) {
  for (const [k, kind] of Object.entries(SCALARS)) {
    if (s[k] === undefined) continue;
    params.set(k, kind === "bool" ? (s[k] ? "1" : "0") : kind === "str" ? s[k] : num(s[k]));
  }
  params.set("content_layers", (s.content_layers || []).join(","));
  params.set("style_layers", formatStyleLayers(s.style_layers || []));
  if (s.style_blend_weights && s.style_blend_weights.length) {
    params.set("style_blend_weights", s.style_blend_weights.map(num).join(","));
  } else {
    params.delete("style_blend_weights");
  }
  return params;
}

/** Reads settings from params over defaults. Bad values are skipped and
 * reported in errors (the page shows them), never thrown. */
export function settingsFromParams(params, defaults) {
  const s = clone(defaults);
  const errors = [];
  for (const [k, kind] of Object.entries(SCALARS)) {
    if (!params.has(k)) continue;
    const v = params.get(k);
    if (kind === "str") {
      s[k] = v;
    } else if (kind === "bool") {
      s[k] = v === "1" || v === "true";
    } else {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n) || (kind === "int" && !Number.isInteger(n))) {
        errors.push(`${k}=${v} is not ${kind === "int" ? "a whole number" : "a number"}`);
      } else {
        s[k] = n;
      }
    }
  }
  if (params.has("content_layers")) {
    const layers = params.get("content_layers").split(",").map((x) => x.trim().replace(/^relu/, "conv")).filter(Boolean);
    s.content_layers = layers;
  }
  if (params.has("style_layers")) {
    try {
      s.style_layers = parseStyleLayers(params.get("style_layers"));
    } catch (e) {
      errors.push(e.message);
    }
  }
  if (params.has("style_blend_weights")) {
    const w = params.get("style_blend_weights").split(",").map(Number);
    if (w.some((x) => !Number.isFinite(x) || x < 0)) errors.push(`style_blend_weights=${params.get("style_blend_weights")} is not a list of numbers ≥ 0`);
    else s.style_blend_weights = w;
  }
  return { settings: s, errors };
}

/** The weight of layer in s (0 when absent). */
export function layerWeight(s, layer) {
  const l = (s.style_layers || []).find((x) => x.layer === layer);
  return l ? l.weight : 0;
}

/** Sets the weight of one style layer, keeping the list in network order. */
export function setLayerWeight(s, layer, weight) {
  const list = (s.style_layers || []).filter((x) => x.layer !== layer);
  list.push({ layer, weight });
  list.sort((a, b) => a.layer.localeCompare(b.layer));
  s.style_layers = list;
}

/** Settings with a preset's style layers. Layers the weights lack get 0. */
export function withPreset(s, preset, unavailable = {}) {
  const out = clone(s);
  out.style_layers = preset.map((l) => ({ layer: l.layer, weight: unavailable[l.layer] ? 0 : l.weight }));
  return out;
}

/** Which preset (if any) the style layers equal. */
export function presetName(s, presets, unavailable = {}) {
  for (const name of PRESETS) {
    const p = presets[name];
    if (!p) continue;
    const want = withPreset(s, p, unavailable).style_layers.filter((l) => l.weight > 0);
    const have = (s.style_layers || []).filter((l) => l.weight > 0);
    if (want.length === have.length && want.every((l) => have.some((h) => h.layer === l.layer && Math.abs(h.weight - l.weight) < 1e-9))) {
      return name;
    }
  }
  return "";
}

/** A short human caption of a run's settings, for compare figures. */
export function caption(s, name = "") {
  const layers = (s.style_layers || [])
    .filter((l) => l.weight > 0)
    .map((l) => `${l.layer.replace("conv", "")}×${num(Number(l.weight.toFixed(2)))}`)
    .join(" ");
  const parts = [
    `style ${layers || "none"}`,
    `content ${(s.content_layers || []).join(",").replace(/conv/g, "")}`,
    `α ${num(s.content_weight)} β ${num(s.style_weight)} TV ${num(s.tv_weight)}`,
    `${s.style_stat}/${s.style_cost} ${s.optimizer} ${s.num_iterations} it ${s.image_size} px`,
  ];
  return (name ? name + ": " : "") + parts.join(" · ");
}

/** params as query text, keeping ":" and "," readable (both are allowed in
 * a query). */
export function queryText(params) {
  return params.toString().replace(/%3A/gi, ":").replace(/%2C/gi, ",");
}
