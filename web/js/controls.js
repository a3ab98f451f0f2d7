// controls.js: one control per setting, built from its schema field (the
// worker's ready message): the field's group picks the fieldset
// ([data-group] in index.html; a [data-slot] there, named after the control
// or kind, places it within), its kind the control, and its label, help,
// limits, step and choices come with it:
//
//   int, float        <input type=number> (min, max, step: settings.numberAttrs)
//   bool              checkbox ("1"/"0")
//   choice, layers    <select> over the page's choices
//   choice "buttons"  one button per choice (presets: they set the style layers)
//   layer_weights     one range slider per page layer (#layer-conv1_1 …)
//   floats            one range slider per style image (#blend-0 …; the
//                     image panel draws them with blendSlider)
//   masks, regions    the regions panel (masks.js, through ownKind)
//   anything else     a text input
//
// A control's id is its setting's name. A control writes its text through
// the changed(name, text) callback; showValues writes values into every
// control. Go's refusals show under the control they concern.

import { $ } from "./state.js";
import * as S from "./settings.js";

let schema = [];
let ready = null;
let changed = () => {};
let lastValues = null; // the values last shown
let unavailableNow = {}; // the loaded weights' missing layers
/** name → {field, el (the input or select, when one element), show(values, settings), buttons} */
const controls = new Map();

/** The first field of this kind (e.g. "layer_weights"), or undefined. */
export function fieldOfKind(kind) {
  return schema.find((f) => f.kind === kind);
}

/** Builds every field's control. changed(name, text) is called when the
 * visitor changes one. */
export function buildControls(readyMsg, onChange) {
  ready = readyMsg;
  schema = readyMsg.schema;
  changed = onChange;
  for (const f of schema) {
    if (f.control === "buttons") buildButtons(f);
    else if (OWNED[f.kind]) buildOwned(f);
    else (BUILDERS[f.kind] || buildText)(f);
  }
}

// ---- kinds other modules own (masks.js: masks, regions) ----
/** kind → build(field, {changed, box, place}) returning {show(values,
 * settings), el?}: the module draws the control (box is the field's div,
 * with its #name-help and #name-msg lines) and writes through changed. */
const OWNED = {};

/** Lets a module build the controls of a kind (see OWNED). */
export function ownKind(kind, build) {
  OWNED[kind] = build;
}

function buildOwned(f) {
  const box = fieldBox(f);
  const c = OWNED[f.kind](f, { changed: (name, text) => changed(name, text), box, place: () => place(f) });
  controls.set(f.name, { field: f, show() {}, ...c });
}
// ---- end of owned kinds ----

const BUILDERS = {
  int: buildNumber,
  float: buildNumber,
  bool: buildCheckbox,
  choice: buildSelect,
  layers: buildSelect,
  layer_weights: buildSliders,
  floats: buildFloats,
};

/** Where field's control goes: its group's slot for its control or kind,
 * else the end of its group (More settings when the page has no such group). */
function place(f) {
  const group = document.querySelector(`[data-group="${f.group}"]`) || document.querySelector('[data-group="more"]');
  return group.querySelector(`[data-slot="${f.control || f.kind}"]`) || group;
}

// ---- lines other modules add under a control (memory.js: image_size) ----
const EXTRAS = {};

/** Lets a module add an element under the control of the setting called
 * name: make(field) returns it. */
export function addExtra(name, make) {
  EXTRAS[name] = make;
}
// ---- end of extras ----

/** A div for one control, with the field's help (for screen readers; also
 * the label's tooltip), a line for Go's refusal of its value and what
 * another module adds (addExtra). */
function fieldBox(f) {
  const div = document.createElement("div");
  div.className = "field";
  div.dataset.field = f.name;
  div.append(...helpAndMessage(f));
  if (EXTRAS[f.name]) div.append(EXTRAS[f.name](f));
  place(f).append(div);
  return div;
}

/** The field's help (#name-help, read by screen readers) and the line for
 * Go's refusal of its value (#name-msg). */
function helpAndMessage(f) {
  const help = document.createElement("span");
  help.className = "visually-hidden";
  help.id = `${f.name}-help`;
  help.textContent = f.help;
  const msg = document.createElement("p");
  msg.className = "reason refused";
  msg.id = `${f.name}-msg`;
  return [help, msg];
}

function describe(el, f) {
  el.setAttribute("aria-describedby", `${f.name}-help ${f.name}-msg`);
}

function labelled(f, el, cls = "") {
  const label = document.createElement("label");
  if (cls) label.className = cls;
  label.title = f.help;
  if (cls === "check") label.append(el, ` ${f.label}`);
  else label.append(`${f.label} `, el);
  return label;
}

function buildNumber(f) {
  const box = fieldBox(f);
  const input = document.createElement("input");
  input.type = "number";
  input.id = f.name;
  for (const [k, v] of Object.entries(S.numberAttrs(f))) input.setAttribute(k, v);
  if (f.kind === "float") input.inputMode = "decimal";
  else if (f.has_min && f.min >= 0) input.inputMode = "numeric";
  describe(input, f);
  input.addEventListener("change", () => changed(f.name, input.value.trim()));
  box.prepend(labelled(f, input));
  controls.set(f.name, { field: f, el: input, show: (v) => (input.value = v[f.name] ?? "") });
}

function buildText(f) {
  const box = fieldBox(f);
  const input = document.createElement("input");
  input.type = "text";
  input.id = f.name;
  describe(input, f);
  input.addEventListener("change", () => changed(f.name, input.value.trim()));
  box.prepend(labelled(f, input));
  controls.set(f.name, { field: f, el: input, show: (v) => (input.value = v[f.name] ?? "") });
}

function buildCheckbox(f) {
  const box = fieldBox(f);
  const input = document.createElement("input");
  input.type = "checkbox";
  input.id = f.name;
  describe(input, f);
  input.addEventListener("change", () => changed(f.name, input.checked ? "1" : "0"));
  box.prepend(labelled(f, input, "check"));
  controls.set(f.name, { field: f, el: input, show: (v) => (input.checked = v[f.name] === "1") });
}

function buildSelect(f) {
  const box = fieldBox(f);
  const select = document.createElement("select");
  select.id = f.name;
  select.append(...S.choicesOf(f).map((c) => new Option(c, c)));
  describe(select, f);
  select.addEventListener("change", () => changed(f.name, select.value));
  box.prepend(labelled(f, select));
  controls.set(f.name, {
    field: f,
    el: select,
    show(v) {
      const text = v[f.name] ?? "";
      // A value the page does not offer (a link's init=given, a list of
      // content layers) is shown as it is.
      if (![...select.options].some((o) => o.value === text)) select.append(new Option(text, text));
      select.value = text;
    },
  });
}

// The sliders of a floats field are one per style image: the image panel
// draws them (listSlider); here is the line for Go's refusal of the list.
function buildFloats(f) {
  fieldBox(f);
  controls.set(f.name, { field: f, show() {} });
}

function buildSliders(f) {
  const box = place(f);
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", f.label);
  box.title = f.help;
  const max = f.page_max || (f.has_max ? f.max : 1);
  for (const layer of S.choicesOf(f)) {
    const row = document.createElement("div");
    row.className = "layer";
    row.dataset.layer = layer;
    const id = `layer-${layer}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = layer;
    const input = document.createElement("input");
    input.type = "range";
    input.id = id;
    input.min = String(f.has_min ? f.min : 0);
    input.max = String(max);
    input.step = String(f.step || "any");
    input.setAttribute("aria-describedby", `${id}-reason ${f.name}-help ${f.name}-msg`);
    const out = document.createElement("output");
    out.htmlFor = id;
    const reason = document.createElement("p");
    reason.className = "reason";
    reason.id = `${id}-reason`;
    reason.style.gridColumn = "1 / -1";
    row.append(label, input, out, reason);
    box.append(row);
    input.addEventListener("input", () => {
      out.textContent = Number(input.value).toFixed(2);
      changed(f.name, sliderText(f));
      showPressed();
    });
  }
  const extra = document.createElement("p");
  extra.className = "reason";
  extra.id = `${f.name}-extra`;
  box.append(extra, ...helpAndMessage(f));
  controls.set(f.name, {
    field: f,
    show(v, settings) {
      const list = settings?.[f.name] || [];
      setSliders(list);
      // Layers of the link that have no slider: said, and kept until a slider moves.
      const rows = new Set(S.choicesOf(f));
      const others = list.filter((l) => !rows.has(l.layer) && l.weight > 0);
      extra.textContent = others.length ? `Also ${S.formatLayerWeights(others)} (from the link; these layers have no slider, and moving one drops them).` : "";
    },
  });
}

/** The page layers' sliders as [{layer, weight}], in order. */
export function sliderLayers(f = fieldOfKind("layer_weights")) {
  if (!f) return [];
  return S.choicesOf(f).map((layer) => ({ layer, weight: Number($(`layer-${layer}`).value) }));
}

/** The sliders as the style layers' text: every page layer in order with
 * its weight (the slider's own text), zeros included. */
function sliderText(f) {
  return S.choicesOf(f)
    .map((layer) => `${layer}:${$(`layer-${layer}`).value}`)
    .join(",");
}

/** Puts a list of {layer, weight} on the sliders (layers it lacks at 0). */
export function setSliders(list) {
  const f = fieldOfKind("layer_weights");
  if (!f) return;
  for (const layer of S.choicesOf(f)) {
    const w = list.find((l) => l.layer === layer)?.weight || 0;
    $(`layer-${layer}`).value = String(w);
    document.querySelector(`.layer[data-layer="${layer}"] output`).textContent = w.toFixed(2);
  }
  showPressed();
}

function buildButtons(f) {
  const box = place(f);
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", f.label);
  box.title = f.help;
  for (const c of S.choicesOf(f)) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute(`data-${f.name}`, c);
    b.setAttribute("aria-describedby", `${f.name}-help`);
    b.textContent = c;
    b.addEventListener("click", () => {
      const preset = ready.presets?.[c];
      if (!preset) {
        changed(f.name, c);
        return showPressed();
      }
      // A preset sets the style layers: its weights on the sliders, those
      // the weights lack at 0.
      const lw = fieldOfKind("layer_weights");
      setSliders(S.presetLayers(preset, unavailableNow));
      changed(lw.name, sliderText(lw));
    });
    box.append(b);
  }
  box.append(helpAndMessage(f)[0]);
  controls.set(f.name, { field: f, show: () => showPressed(), buttons: box });
}

/** Whether field's choices are the presets. */
function isPresets(f) {
  return f.control === "buttons" && S.choicesOf(f).every((c) => ready.presets?.[c]);
}

/** The field whose buttons are the presets (undefined if none). */
export function presetsField() {
  return schema.find(isPresets);
}

/** The preset the sliders match (else ""). */
export function currentPreset() {
  const f = presetsField();
  return f ? S.presetName(sliderLayers(), ready.presets, S.choicesOf(f), unavailableNow) : "";
}

/** Marks the pressed button of each buttons control. */
function showPressed() {
  for (const c of controls.values()) {
    if (!c.buttons) continue;
    const f = c.field;
    const on = isPresets(f) ? currentPreset() : lastValues?.[f.name];
    for (const b of c.buttons.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.getAttribute(`data-${f.name}`) === on));
  }
}

/** Writes values (texts) into every control; sliders take their weights
 * from settings (Go's parse of the same values). */
export function showValues(values, settings) {
  lastValues = values;
  for (const c of controls.values()) c.show(values, settings);
}

/** Writes one setting's value into its control. */
export function showValue(name, values, settings) {
  lastValues = values;
  controls.get(name)?.show(values, settings);
}

/** Shows Go's refusals (from a check of the controls' values) under their
 * controls. */
export function showRefused(refused) {
  for (const [name, c] of controls) {
    const r = refused.find((x) => x.name === name);
    const msg = document.getElementById(`${name}-msg`);
    if (msg) msg.textContent = r ? r.message : "";
    if (!c.el) continue;
    if (r) c.el.setAttribute("aria-invalid", "true");
    else c.el.removeAttribute("aria-invalid");
  }
}

/** Disables what the loaded weights lack, saying why: the layer sliders,
 * the layer choices and the presets that use only such layers. blocked(name)
 * says why a preset cannot run ("" when it can). */
export function showAvailability(unavailable, blocked) {
  unavailableNow = unavailable;
  for (const row of document.querySelectorAll(".layer")) {
    const why = unavailable[row.dataset.layer] || "";
    row.querySelector("input").disabled = !!why;
    row.classList.toggle("off", !!why);
    row.querySelector(".reason").textContent = why;
  }
  for (const f of schema.filter((x) => x.kind === "layers")) {
    let reason = "";
    for (const o of $(f.name).options) {
      const why = unavailable[o.value];
      o.disabled = !!why;
      o.textContent = why ? `${o.value} (not in the weights)` : o.value;
      if (why && !reason) reason = `Layers from ${o.value} on are disabled: ${why}.`;
    }
    const p = $("content-layer-reason");
    if (p) p.textContent = reason;
  }
  const reasons = [];
  for (const c of controls.values()) {
    if (!c.buttons || !isPresets(c.field)) continue;
    for (const b of c.buttons.querySelectorAll("button")) {
      const why = blocked(b.getAttribute(`data-${c.field.name}`));
      b.disabled = !!why;
      if (why) reasons.push(why);
    }
  }
  const p = $("preset-reason");
  if (p) p.textContent = reasons.join(" ");
  showPressed();
}

/** A range slider for item i of a floats field (the blend of style image
 * i): min 0 (or the field's), max the page's. */
export function listSlider(f, i, value) {
  const range = document.createElement("input");
  range.type = "range";
  range.id = `blend-${i}`;
  range.min = String(f.has_min ? f.min : 0);
  range.max = String(f.page_max || (f.has_max ? f.max : 1));
  range.step = String(f.step || "any");
  range.value = String(value);
  range.title = f.help;
  range.setAttribute("aria-describedby", `${f.name}-msg`);
  return range;
}
