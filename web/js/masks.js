// masks.js: spatial control (Gatys et al. 2017) in the page: the regions
// panel. It owns the controls of the schema's kinds masks and regions
// (controls.js ownKind):
//
//   content_masks  the regions: painted on the content image with a brush
//                  (pointer events: mouse, touch, pen; eraser; size; with
//                  the keyboard, arrows move the brush and Space paints), or
//                  from an uploaded label image (one flat colour per region:
//                  the worker's labels message splits it, PROTOCOL.md)
//   region_styles  per region: which style image(s) it takes, and a weight
//   style_masks    per style image: the part of it to use (an uploaded
//                  grey image), or all of it
//
// Masks are settings text like any other (a PNG in base64url per mask,
// comma separated; Go reads and checks them), so the link, a comparison and
// every run carry them. The page keeps one label per pixel (0: no region)
// at MASK_SIDE px on the long side (Go stretches masks to each stage's
// size) and writes each painted region as a 1-bit grey PNG, which deflate
// turns into a few hundred bytes: a link stays short. Masks that come from
// a link or the worker are kept as they are until the visitor paints.
// Unpainted parts take no style (content only); clearing every region
// returns to unguided transfer.

import { $, state } from "./state.js";
import { alertBox } from "./alerts.js";
import { send, on } from "./client.js";
import { ownKind } from "./controls.js";
import { decodeImage } from "./images.js";
import { REGION_COLORS } from "./chart.js";

/** The long side of painted masks, px. */
export const MASK_SIDE = 256;
/** The most regions (the worker's labels find at most 8 too). */
const MAX_REGIONS = 8;
const COLOR_NAMES = ["red", "blue", "green", "orange", "purple", "cyan", "magenta", "brown"];

const P = {
  w: 0,
  h: 0,
  labels: null, // Uint8Array [h, w]: 0 no region, i region i
  counts: [], // pixels per region (index 0: none)
  regions: [], // [{styles: "1" (style numbers joined by +), weight: "1"}]
  texts: null, // the regions' masks as text, when they came whole (a link, an upload) and were not painted since
  current: 1,
  eraser: false,
  size: 16,
  cursor: null, // the keyboard brush, {x, y} in mask px
  stroke: null, // the pointer stroke in progress: {id, last}
  written: null, // content_masks' text as last written or shown
  linkRegions: null, // region_styles as Go parsed it, for masks still decoding
  seq: 0,
  fields: {}, // content_masks, style_masks, region_styles → field
  changed: () => {},
  el: {},
  styleMasks: [], // style_masks' entries ("" = all of the image)
};

ownKind("masks", (f, ctx) => (f.name === "style_masks" ? buildStyleMasks(f, ctx) : buildRegions(f, ctx)));
ownKind("regions", buildRegionStyles);

/** The panel (a <details> in the images group) that holds the fields' boxes. */
function panel(ctx) {
  if (P.el.panel) return P.el.panel;
  const d = document.createElement("details");
  d.className = "regions";
  d.id = "regions";
  const s = document.createElement("summary");
  s.append("Regions: a style for each part ");
  const count = document.createElement("span");
  count.className = "hint";
  count.id = "regions-count";
  s.append(count);
  d.append(s);
  ctx.place().append(d);
  P.el.panel = d;
  P.el.count = count;
  return d;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("aria-") || k.startsWith("data-") || k === "role" || k === "for") e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

// ---- content_masks: the painting surface and the list of regions ----

function buildRegions(f, ctx) {
  P.fields.content = f;
  P.changed = ctx.changed;
  const d = panel(ctx);
  const hint = el("p", { class: "hint", id: "regions-hint" },
    "Paint where each region's style goes (mouse, touch or pen; keyboard: arrows move the brush, Shift+arrows paint, Space paints a dot). " +
      "Unpainted parts keep the content and take no style. Or upload a label image with one flat colour per region.");
  const brush = el("button", { type: "button", id: "regions-brush", "aria-pressed": "true" }, "Brush");
  const eraser = el("button", { type: "button", id: "regions-eraser", "aria-pressed": "false" }, "Eraser");
  const size = el("input", { type: "range", id: "regions-size", min: "2", max: "64", step: "1", value: String(P.size) });
  const sizeOut = el("output", { for: "regions-size" }, String(P.size));
  const tools = el("div", { class: "regions-tools", role: "toolbar", "aria-label": "Brush" },
    brush, eraser, el("span", { class: "size" }, el("label", { for: "regions-size" }, "Size"), size, sizeOut));
  const base = el("canvas", { id: "regions-content", "aria-hidden": "true" });
  const paint = el("canvas", { id: "regions-paint", tabIndex: 0, role: "img", "aria-describedby": "regions-hint", "aria-label": "Regions: none" });
  const stage = el("div", { class: "regions-stage" }, base, paint);
  const list = el("ol", { id: "regions-list", class: "regions-list" });
  const add = el("button", { type: "button", id: "regions-add" }, "Add region");
  const clear = el("button", { type: "button", id: "regions-clear" }, "Clear all");
  const file = el("input", { type: "file", id: "regions-file", accept: "image/*", class: "visually-hidden" });
  const upload = el("label", { class: "button file", for: "regions-file" }, "Upload label image", file);
  const status = el("p", { id: "regions-status", class: "hint", "aria-live": "polite" });
  const problem = el("p", { id: "regions-problem", class: "reason refused" });
  ctx.box.prepend(hint, tools, stage, list, el("div", { class: "row regions-actions" }, add, clear, upload), status, problem);
  d.append(ctx.box);
  Object.assign(P.el, { base, paint, list, add, clear, status, problem, brush, eraser, size, sizeOut, file });

  brush.addEventListener("click", () => setEraser(false));
  eraser.addEventListener("click", () => setEraser(true));
  size.addEventListener("input", () => {
    P.size = Number(size.value);
    sizeOut.textContent = size.value;
    render();
  });
  add.addEventListener("click", () => {
    addRegion();
    paint.focus();
  });
  clear.addEventListener("click", clearAll);
  file.addEventListener("change", () => {
    const f0 = file.files[0];
    file.value = "";
    if (f0) uploadLabels(f0);
  });
  wirePainting(paint);
  // The content and style images change in imagepanel.js, which redraws
  // them: the panel follows.
  new MutationObserver(() => contentChanged()).observe($("content-thumb"), { attributes: true, attributeFilter: ["aria-label"] });
  new MutationObserver(() => renderList()).observe($("styles"), { childList: true });
  contentChanged();
  return {
    show(values, settings) {
      const text = values[f.name] || "";
      P.linkRegions = settings?.[P.fields.regions?.name] || null;
      if (text === P.written) return applyRegionStyles();
      P.written = text;
      loadMasks(text ? text.split(",") : []).then(() => {
        if (text) d.open = true;
      });
    },
  };
}

function setEraser(on) {
  P.eraser = on;
  P.el.brush.setAttribute("aria-pressed", String(!on));
  P.el.eraser.setAttribute("aria-pressed", String(on));
}

/** A label map of the content's aspect, MASK_SIDE on its long side. */
function blankSize() {
  const c = state.content;
  if (!c) return [MASK_SIDE, MASK_SIDE];
  const k = Math.min(1, MASK_SIDE / Math.max(c.width, c.height));
  return [Math.max(1, Math.round(c.width * k)), Math.max(1, Math.round(c.height * k))];
}

function resize(w, h) {
  P.w = w;
  P.h = h;
  P.labels = new Uint8Array(w * h);
  for (const c of [P.el.base, P.el.paint]) {
    c.width = w;
    c.height = h;
  }
  P.el.base.parentElement.style.aspectRatio = `${w} / ${h}`;
  P.overlay = new ImageData(w, h);
}

/** The content image changed: drawn under the regions; with no region
 * yet, the label map takes its aspect. */
function contentChanged() {
  if (!P.el.base) return;
  if (!P.labels || (!P.texts && !P.counts.some((n, i) => i > 0 && n > 0))) {
    const [w, h] = blankSize();
    if (!P.labels || w !== P.w || h !== P.h) {
      resize(w, h);
      recount();
    }
  }
  drawBase();
  render();
}

function drawBase() {
  const c = state.content;
  const g = P.el.base.getContext("2d");
  g.clearRect(0, 0, P.w, P.h);
  if (!c) return;
  const src = document.createElement("canvas");
  src.width = c.width;
  src.height = c.height;
  src.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(c.pixels), c.width, c.height), 0, 0);
  g.imageSmoothingQuality = "high";
  g.drawImage(src, 0, 0, P.w, P.h);
}

/** Draws the regions over the content (and the keyboard brush). */
function render() {
  const paint = P.el.paint;
  if (!paint || !P.labels) return;
  const o = P.overlay.data;
  const rgb = REGION_COLORS.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  for (let p = 0; p < P.labels.length; p++) {
    const l = P.labels[p];
    if (l) {
      const c = rgb[(l - 1) % rgb.length];
      o[4 * p] = c[0];
      o[4 * p + 1] = c[1];
      o[4 * p + 2] = c[2];
      o[4 * p + 3] = 150;
    } else o[4 * p + 3] = 0;
  }
  const g = paint.getContext("2d");
  g.putImageData(P.overlay, 0, 0);
  if (P.cursor && document.activeElement === paint) {
    g.strokeStyle = "#fff";
    g.lineWidth = 2;
    g.beginPath();
    g.arc(P.cursor.x, P.cursor.y, Math.max(1, P.size / 2), 0, 2 * Math.PI);
    g.stroke();
    g.strokeStyle = "#000";
    g.lineWidth = 1;
    g.stroke();
  }
}

let frame = 0;
function renderSoon() {
  if (!frame) frame = requestAnimationFrame(() => ((frame = 0), render()));
}

function wirePainting(paint) {
  const pos = (e) => {
    const r = paint.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * P.w) / r.width, y: ((e.clientY - r.top) * P.h) / r.height };
  };
  paint.addEventListener("pointerdown", (e) => {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    paint.focus({ preventScroll: true });
    paint.setPointerCapture?.(e.pointerId);
    startStroke();
    const p = pos(e);
    P.cursor = { ...p };
    P.stroke = { id: e.pointerId, last: p };
    dab(p.x, p.y);
    renderSoon();
  });
  paint.addEventListener("pointermove", (e) => {
    if (!P.stroke || P.stroke.id !== e.pointerId) {
      P.cursor = pos(e); // the brush's outline follows the pointer
      if (document.activeElement === paint) renderSoon();
      return;
    }
    for (const ev of e.getCoalescedEvents?.() || [e]) {
      const p = pos(ev);
      line(P.stroke.last, p);
      P.stroke.last = p;
      P.cursor = { ...p };
    }
    renderSoon();
  });
  const end = (e) => {
    if (!P.stroke || P.stroke.id !== e.pointerId) return;
    P.stroke = null;
    strokeDone();
  };
  paint.addEventListener("pointerup", end);
  paint.addEventListener("pointercancel", end);
  paint.addEventListener("focus", () => {
    P.cursor ||= { x: P.w / 2, y: P.h / 2 };
    render();
  });
  paint.addEventListener("blur", render);
  paint.addEventListener("keydown", (e) => {
    const step = Math.max(1, P.size / 2);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    P.cursor ||= { x: P.w / 2, y: P.h / 2 };
    if (moves[e.key]) {
      e.preventDefault();
      const from = { ...P.cursor };
      P.cursor.x = Math.min(P.w - 1, Math.max(0, P.cursor.x + moves[e.key][0]));
      P.cursor.y = Math.min(P.h - 1, Math.max(0, P.cursor.y + moves[e.key][1]));
      if (e.shiftKey) {
        startStroke();
        line(from, P.cursor);
        strokeDone();
      }
      render();
    } else if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      startStroke();
      dab(P.cursor.x, P.cursor.y);
      strokeDone();
      render();
    }
  });
}

/** A stroke begins: with the brush and no region yet, region 1 is made. */
function startStroke() {
  if (!P.eraser && !P.regions.length) addRegion();
  P.current = Math.min(Math.max(1, P.current), P.regions.length);
}

/** One round dab of the brush (or eraser) at x, y (mask px). */
function dab(x, y) {
  if (!P.regions.length) return;
  const v = P.eraser ? 0 : P.current;
  const r = Math.max(0.5, P.size / 2);
  const x0 = Math.max(0, Math.floor(x - r)), x1 = Math.min(P.w - 1, Math.ceil(x + r));
  const y0 = Math.max(0, Math.floor(y - r)), y1 = Math.min(P.h - 1, Math.ceil(y + r));
  for (let yy = y0; yy <= y1; yy++) {
    for (let xx = x0; xx <= x1; xx++) {
      const dx = xx + 0.5 - x, dy = yy + 0.5 - y;
      if (dx * dx + dy * dy <= r * r) P.labels[yy * P.w + xx] = v;
    }
  }
  P.touched = true;
}

function line(a, b) {
  const n = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / Math.max(1, P.size / 4)));
  for (let i = 1; i <= n; i++) dab(a.x + ((b.x - a.x) * i) / n, a.y + ((b.y - a.y) * i) / n);
}

function strokeDone() {
  if (!P.touched) return;
  P.touched = false;
  P.texts = null; // painted: the masks are the label map's from now on
  recount();
  renderList();
  writeValues();
}

function recount() {
  P.counts = new Array(P.regions.length + 1).fill(0);
  if (!P.labels) return;
  for (const l of P.labels) if (l < P.counts.length) P.counts[l]++;
}

/** The default style of region i (from 1): style i, or the last one. */
function defaultStyle(i) {
  return String(Math.max(1, Math.min(i, state.styles.length || 1)));
}

function addRegion() {
  if (P.regions.length >= MAX_REGIONS) return;
  P.regions.push({ styles: defaultStyle(P.regions.length + 1), weight: "1" });
  P.texts?.push(""); // an unpainted region has no mask yet
  P.current = P.regions.length;
  setEraser(false);
  recount();
  renderList();
}

function removeRegion(i) {
  // Region i's pixels go back to no region; the later regions move up.
  for (let p = 0; p < P.labels.length; p++) {
    const l = P.labels[p];
    if (l === i) P.labels[p] = 0;
    else if (l > i) P.labels[p] = l - 1;
  }
  P.regions.splice(i - 1, 1);
  P.texts?.splice(i - 1, 1);
  if (P.current >= i) P.current = Math.max(1, P.current - 1);
  recount();
  render();
  renderList();
  writeValues();
}

function clearAll() {
  P.regions = [];
  P.texts = null;
  P.labels?.fill(0);
  contentChanged(); // back to the content's aspect
  recount();
  renderList();
  writeValues();
}

/** The regions as they go into the settings: only painted ones. */
function usedRegions() {
  return P.regions.map((r, k) => ({ ...r, i: k + 1 })).filter((r) => P.counts[r.i] > 0);
}

function regionText(r) {
  const w = String(r.weight).trim();
  return r.styles + (w && Number(w) !== 1 ? `:${w}` : "");
}

/** Writes the painted regions into content_masks and region_styles. */
async function writeValues() {
  const seq = ++P.seq;
  const used = usedRegions();
  let masks;
  try {
    masks = P.texts ? used.map((r) => P.texts[r.i - 1]) : await Promise.all(used.map((r) => encodeMask(P.labels, P.w, P.h, r.i)));
  } catch (e) {
    return alertBox(`The regions could not be encoded in this browser: ${e.message}`);
  }
  if (seq !== P.seq) return; // a newer stroke's values are on their way
  const cm = masks.join(",");
  P.written = cm;
  if (P.fields.regions) P.changed(P.fields.regions.name, used.map(regionText).join(","));
  P.changed(P.fields.content.name, cm);
  showStatus();
}

function showStatus() {
  const used = usedRegions();
  const n = P.written ? P.written.length : 0;
  P.el.count.textContent = used.length ? `(${used.length} region${used.length > 1 ? "s" : ""})` : "(none: the style covers everything)";
  P.el.status.textContent = used.length
    ? `${used.length} region${used.length > 1 ? "s" : ""} painted; their masks take ${n.toLocaleString("en")} characters of the link.`
    : "No region: the whole image takes the style (unguided transfer).";
  const pct = (c) => `${Math.round((100 * c) / Math.max(1, P.w * P.h))} %`;
  const parts = P.regions.map((r, k) => `region ${k + 1} (${COLOR_NAMES[k]}) ${pct(P.counts[k + 1] || 0)}, style ${r.styles}`);
  P.el.paint.setAttribute(
    "aria-label",
    parts.length ? `Regions painted on the content image: ${parts.join("; ")}; no region ${pct(P.counts[0] || 0)}.` : "Regions painted on the content image: none yet.",
  );
}

/** Says what will not run: a region that takes a style image that is not
 * there, more style masks than style images. */
function showProblems() {
  const n = state.styles.length;
  const out = [];
  P.regions.forEach((r, k) => {
    const missing = r.styles.split("+").filter((s) => Number(s) > n);
    if (missing.length && P.counts[k + 1] > 0) out.push(`Region ${k + 1} takes style ${missing.join(" and ")}, but there ${n === 1 ? "is 1 style image" : `are ${n} style images`}.`);
  });
  const masked = P.styleMasks.length;
  if (masked > n) out.push(`There are ${masked} style masks for ${n} style image${n === 1 ? "" : "s"}.`);
  if (P.el.problem) P.el.problem.textContent = out.join(" ");
}

/** The list of regions: pick (which one the brush paints), colour, style
 * picker, weight and Remove. */
function renderList() {
  const list = P.el.list;
  if (!list) return;
  list.replaceChildren();
  P.regions.forEach((r, k) => {
    const i = k + 1;
    const li = el("li", { class: "region", "data-region": String(i) });
    if (P.counts[i] > 0) li.dataset.mask = "";
    const pick = el("input", { type: "radio", name: "region-pick", id: `region-${i}-pick`, checked: P.current === i });
    pick.addEventListener("change", () => {
      P.current = i;
      setEraser(false);
    });
    const swatch = el("span", { class: "region-swatch", "aria-hidden": "true" });
    swatch.style.background = REGION_COLORS[k % REGION_COLORS.length];
    const name = el("label", { for: `region-${i}-pick`, class: "region-name" }, swatch, `Region ${i}`);
    const select = el("select", { id: `region-${i}-style`, "aria-label": `Style of region ${i}` });
    state.styles.forEach((s, j) => select.append(new Option(`${j + 1}: ${s.name}`, String(j + 1))));
    if (state.styles.length > 1) select.append(new Option("all, blended", state.styles.map((_, j) => j + 1).join("+")));
    if (![...select.options].some((o) => o.value === r.styles)) select.append(new Option(`${r.styles} (not loaded)`, r.styles));
    select.value = r.styles;
    select.addEventListener("change", () => {
      r.styles = select.value;
      writeValues();
    });
    const weight = el("input", { type: "number", id: `region-${i}-weight`, min: "0", step: "0.1", value: r.weight, inputMode: "decimal", title: "This region's style loss is multiplied by its weight" });
    weight.addEventListener("change", () => {
      r.weight = weight.value.trim() || "1";
      writeValues();
    });
    const rm = el("button", { type: "button", class: "remove", "aria-label": `Remove region ${i}` }, "Remove");
    rm.addEventListener("click", () => removeRegion(i));
    const note = el("span", { class: "reason" }, P.counts[i] > 0 ? "" : "not painted yet: not in the run");
    li.append(pick, name, el("span", { class: "region-style" }, select),
      el("label", { class: "region-weight", for: weight.id }, el("span", { "aria-hidden": "true" }, "weight"), el("span", { class: "visually-hidden" }, `Weight of region ${i}`), weight), rm, note);
    list.append(li);
  });
  P.el.add.disabled = P.regions.length >= MAX_REGIONS;
  P.el.clear.disabled = !P.regions.length;
  showStatus();
  showProblems();
  renderStyleMasks();
}

/** region_styles as Go parsed it ([{styles: [n], weight}]), onto the regions. */
function applyRegionStyles() {
  const list = P.linkRegions;
  P.regions.forEach((r, k) => {
    const x = list?.[k];
    r.styles = x ? x.styles.join("+") : String(k + 1);
    r.weight = x ? String(x.weight) : "1";
  });
  renderList();
}

/** Shows masks given as text (a link's, the worker's labels): each pixel
 * goes to the region whose mask is brightest there (at least half grey). */
async function loadMasks(texts) {
  const seq = ++P.seq;
  let imgs = [];
  try {
    imgs = await Promise.all(texts.map((t) => maskBitmap(t)));
  } catch (e) {
    P.el.status.textContent = `The masks could not be shown: ${e.message}`;
    return;
  }
  if (seq !== P.seq) return;
  if (imgs.length) {
    const k = Math.min(1, MASK_SIDE / Math.max(imgs[0].width, imgs[0].height));
    resize(Math.max(1, Math.round(imgs[0].width * k)), Math.max(1, Math.round(imgs[0].height * k)));
  } else {
    P.labels = null;
    contentChanged();
  }
  const best = new Float32Array(P.w * P.h);
  const c = document.createElement("canvas");
  c.width = P.w;
  c.height = P.h;
  const g = c.getContext("2d", { willReadFrequently: true });
  imgs.forEach((img, k) => {
    g.clearRect(0, 0, P.w, P.h);
    g.drawImage(img, 0, 0, P.w, P.h);
    const d = g.getImageData(0, 0, P.w, P.h).data;
    for (let p = 0; p < P.w * P.h; p++) {
      const v = ((0.299 * d[4 * p] + 0.587 * d[4 * p + 1] + 0.114 * d[4 * p + 2]) * d[4 * p + 3]) / 255;
      if (v >= 128 && v > best[p]) {
        best[p] = v;
        P.labels[p] = k + 1;
      }
    }
    img.close?.();
  });
  P.regions = texts.map((_, k) => ({ styles: String(k + 1), weight: "1" }));
  P.texts = texts.length ? texts.slice() : null;
  P.current = 1;
  recount();
  drawBase();
  render();
  applyRegionStyles();
}

// ---- the label image upload (the worker's labels message) ----

let labelsWanted = false;

async function uploadLabels(file) {
  try {
    const img = await decodeImage(file);
    // At most MASK_SIDE on the long side, without blending colours.
    const k = Math.min(1, MASK_SIDE / Math.max(img.width, img.height));
    const w = Math.max(1, Math.round(img.width * k)), h = Math.max(1, Math.round(img.height * k));
    const src = document.createElement("canvas");
    src.width = img.width;
    src.height = img.height;
    src.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(img.pixels), img.width, img.height), 0, 0);
    const c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    const g = c.getContext("2d", { willReadFrequently: true });
    g.imageSmoothingEnabled = false;
    g.drawImage(src, 0, 0, w, h);
    const pixels = g.getImageData(0, 0, w, h).data.buffer;
    labelsWanted = true;
    P.el.status.textContent = `Splitting ${img.name} into regions…`;
    send({ type: "labels", image: { width: w, height: h, pixels } }, [pixels]);
  } catch (e) {
    alertBox(e.message);
  }
}

on("labels", async (m) => {
  if (!labelsWanted) return;
  labelsWanted = false;
  P.el.panel.open = true;
  // Region i takes style i while there are enough, else the last one.
  P.linkRegions = m.masks.map((_, k) => ({ styles: [Number(defaultStyle(k + 1))], weight: 1 }));
  await loadMasks(m.masks);
  writeValues();
});

// ---- region_styles: drawn in the list of regions ----

function buildRegionStyles(f, ctx) {
  P.fields.regions = f;
  panel(ctx).append(ctx.box);
  return {
    show(values, settings) {
      P.linkRegions = settings?.[f.name] || null;
      applyRegionStyles();
    },
  };
}

// ---- style_masks: per style image, all of it or the part an uploaded mask says ----

function buildStyleMasks(f, ctx) {
  P.fields.style = f;
  const list = el("ul", { id: "style-masks", class: "style-masks" });
  const title = el("p", { class: "hint" }, "Style masks: the part of each style image to use (an image whose grey level is the weight; white uses it).");
  ctx.box.prepend(title, list);
  panel(ctx).append(ctx.box);
  P.el.styleMasks = list;
  P.styleChanged = ctx.changed;
  renderStyleMasks();
  return {
    show(values) {
      const text = values[f.name] || "";
      P.styleMasks = text ? text.split(",") : [];
      renderStyleMasks();
      showProblems();
    },
  };
}

function renderStyleMasks() {
  const list = P.el.styleMasks;
  if (!list) return;
  list.replaceChildren();
  const n = Math.max(state.styles.length, P.styleMasks.length);
  for (let i = 0; i < n; i++) {
    const text = P.styleMasks[i] || "";
    const name = state.styles[i]?.name || "(no such style image)";
    const li = el("li", {});
    if (text) li.dataset.mask = "";
    const thumb = el("img", { alt: text ? `Mask of style ${i + 1}` : "", class: "mask-thumb" });
    if (text) thumb.src = `data:image/png;base64,${toStd(text)}`;
    else thumb.hidden = true;
    const file = el("input", { type: "file", accept: "image/*", class: "visually-hidden", id: `style-mask-${i}-file` });
    file.addEventListener("change", async () => {
      const f0 = file.files[0];
      file.value = "";
      if (!f0) return;
      try {
        setStyleMask(i, await maskFromImage(await decodeImage(f0)));
      } catch (e) {
        alertBox(e.message);
      }
    });
    const up = el("label", { class: "button file small", for: file.id }, text ? "Replace" : "Upload mask", file);
    const clear = el("button", { type: "button", class: "remove", "aria-label": `Use all of style ${i + 1}`, hidden: !text }, "Use all of it");
    clear.addEventListener("click", () => setStyleMask(i, ""));
    li.append(thumb, el("span", {}, `${i + 1}: ${name} · ${text ? "masked" : "all of it"}`), up, clear);
    list.append(li);
  }
}

function setStyleMask(i, text) {
  const m = P.styleMasks.slice();
  while (m.length <= i) m.push("");
  m[i] = text;
  while (m.length && !m.at(-1)) m.pop();
  P.styleMasks = m;
  P.styleChanged(P.fields.style.name, m.join(","));
  renderStyleMasks();
  showProblems();
}

/** An image as mask text: its PNG (grey level × alpha is the weight),
 * at most MASK_SIDE on the long side. */
async function maskFromImage(img) {
  const k = Math.min(1, MASK_SIDE / Math.max(img.width, img.height));
  const src = document.createElement("canvas");
  src.width = img.width;
  src.height = img.height;
  src.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(img.pixels), img.width, img.height), 0, 0);
  const c = document.createElement("canvas");
  c.width = Math.max(1, Math.round(img.width * k));
  c.height = Math.max(1, Math.round(img.height * k));
  c.getContext("2d").drawImage(src, 0, 0, c.width, c.height);
  return c.toDataURL("image/png").split(",")[1].replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// ---- mask text: a PNG in base64url ----

/** base64url (or standard base64, padded or not) → standard, padded. */
function toStd(text) {
  const t = text.trim().replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  return t + "=".repeat((4 - (t.length % 4)) % 4);
}

/** Decodes one mask's text into an ImageBitmap. */
async function maskBitmap(text) {
  const bin = atob(toStd(text));
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return createImageBitmap(new Blob([bytes], { type: "image/png" }));
}

const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Region `region` of labels [h, w] as a mask's text: a 1-bit grey PNG
 * (white: the region), zlib-compressed by the browser's CompressionStream,
 * in base64url without padding (as Go's transfer.FormatMask writes). */
export async function encodeMask(labels, w, h, region) {
  const stride = (w + 7) >> 3;
  const raw = new Uint8Array((stride + 1) * h); // each row: filter 0, then the bits
  for (let y = 0; y < h; y++) {
    const row = y * (stride + 1) + 1;
    for (let x = 0; x < w; x++) if (labels[y * w + x] === region) raw[row + (x >> 3)] |= 0x80 >> (x & 7);
  }
  const z = new Uint8Array(await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"))).arrayBuffer());
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk("IHDR", ihdr), chunk("IDAT", z), chunk("IEND", new Uint8Array(0))];
  let bin = "";
  for (const p of parts) for (let i = 0; i < p.length; i += 0x8000) bin += String.fromCharCode(...p.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** For the browser tests: the panel's label map and regions. */
export function regionsState() {
  return { w: P.w, h: P.h, regions: P.regions.map((r) => ({ ...r })), counts: P.counts.slice(), fromText: !!P.texts };
}
