// settings.js: the settings as the page handles them: text. A setting's
// value is its text exactly as the URL and the CLI spell it, under its
// schema name (transfer.Schema, which the worker's ready message carries):
//
//   ?image_size=256&num_iterations=200&style_layers=conv1_1:1,conv2_1:0.5
//    &content_layers=conv4_2&style_blend_weights=1,2&original_colors=1 ...
//
// The page keeps no rules about settings: Go parses and checks every value
// (the worker's settings and start messages) and the schema says what each
// control offers. What is here is generic, driven by a field's kind and
// limits, plus the page's own parameters (PAGE_PARAMS), the presets (lists
// of {layer, weight} that the worker sends), captions and the query text.
// Pure functions, no DOM: node --test web/test/ tests them directly.

/** Parameters of the page itself, not of a run. */
export const PAGE_PARAMS = ["content", "style", "embed", "backend", "weights", "compare", "pack", "poster", "explore", "helpers", "helper_fault", "helper_main", "simd"];

/** The choices a field's control offers: the page's, else all. */
export function choicesOf(field) {
  return field.page_choices?.length ? field.page_choices : field.choices || [];
}

/** The attributes of a number input for field (kind int or float): min
 * (above an open minimum: one step above it when there is a step, else the
 * minimum itself, which Go then refuses), max (the page's, else the
 * field's), step (the field's, else 1 for whole numbers and "any"). */
export function numberAttrs(field) {
  const a = {};
  if (field.has_min) a.min = field.min_open && field.step ? Number((field.min + field.step).toPrecision(12)) : field.min;
  if (field.page_max) a.max = field.page_max;
  else if (field.has_max) a.max = field.max;
  a.step = field.step || (field.kind === "int" ? 1 : "any");
  return a;
}

/** The values of a URL's parameters that name settings (name → text, as
 * written: Go reads them). */
export function linkValues(params, schema) {
  const out = {};
  for (const f of schema) if (params.has(f.name)) out[f.name] = params.get(f.name);
  return out;
}

/** Writes values into params in the schema's order. Every setting is
 * written (not only those that differ from the defaults), so that a link
 * keeps reproducing its run if the defaults change; an empty text (no
 * preset, equal blend weights) is left out. */
export function valuesToParams(values, schema, params = new URLSearchParams()) {
  for (const f of schema) {
    const v = values[f.name];
    if (v === undefined || v === null || v === "") params.delete(f.name);
    else params.set(f.name, v);
  }
  return params;
}

/** [{layer, weight}] → "conv1_1:1,conv2_1:0.5" (zero weights kept). */
export function formatLayerWeights(list) {
  return list.map((l) => `${l.layer}:${num(l.weight)}`).join(",");
}

/** Shortest text that reads back the same number. */
function num(x) {
  return String(Number(x));
}

/** A preset's layers, with the layers the weights lack at 0. */
export function presetLayers(preset, unavailable = {}) {
  return preset.map((l) => ({ layer: l.layer, weight: unavailable[l.layer] ? 0 : l.weight }));
}

/** Which preset (if any, else "") the style layers equal, comparing the
 * layers of weight above 0. names: the presets in the order to try. */
export function presetName(layers, presets, names, unavailable = {}) {
  const have = layers.filter((l) => l.weight > 0);
  for (const name of names) {
    const p = presets[name];
    if (!p) continue;
    const want = presetLayers(p, unavailable).filter((l) => l.weight > 0);
    if (want.length === have.length && want.every((l) => have.some((h) => h.layer === l.layer && Math.abs(h.weight - l.weight) < 1e-9))) {
      return name;
    }
  }
  return "";
}

/** A short human caption of a run's settings (as Go parsed them: the
 * worker's started message), for compare figures. */
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
