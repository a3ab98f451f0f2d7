// imagepanel.js: the Images section. The content and style images come
// from the examples (web/samples/), a file input, a drop or a paste
// (images.js decodes them); each style image has a blend slider when there
// are several (the schema's floats field, style_blend_weights: its text is
// the sliders' weights, comma separated, or empty with one style image).

import { $, state, params } from "./state.js";
import { alertBox, notice } from "./alerts.js";
import { decodeImage, loadSample, drawPixels } from "./images.js";
import { fieldOfKind, listSlider } from "./controls.js";
import { setValue, checkValues } from "./values.js";
import { updateLink } from "./link.js";
import { updateButtons } from "./runs.js";

/** The example images (web/samples/, attribution in its README). */
const SAMPLES = {
  chelsea: { file: "chelsea.jpg", label: "Cat (Chelsea)" },
  astronaut: { file: "astronaut.jpg", label: "Astronaut" },
  rocket: { file: "rocket.jpg", label: "Rocket launch" },
  coffee: { file: "coffee.jpg", label: "Espresso crema" },
  hubble_deep_field: { file: "hubble_deep_field.jpg", label: "Hubble deep field" },
  brick: { file: "brick.jpg", label: "Bricks" },
};
const DEFAULT_CONTENT = "chelsea";
const DEFAULT_STYLES = ["coffee"];

/** The file of the example called name (samples/…), else the default
 * content's. */
export function sampleFile(name) {
  return (SAMPLES[name] || SAMPLES[DEFAULT_CONTENT]).file;
}

async function setContent(promise) {
  try {
    const img = await promise;
    state.content = img;
    state.imagesSent = false;
    drawPixels($("content-thumb"), img);
    $("content-thumb").setAttribute("aria-label", `Content image: ${img.name}, ${img.width}×${img.height}`);
    $("content-sample").value = img.sample || "";
    if (img.notice) notice(img.notice);
    updateLink();
    checkValues(); // the memory model needs the images' sizes (memory.js)
  } catch (e) {
    alertBox(e.message);
  }
  updateButtons();
}

async function addStyle(promise) {
  try {
    const img = await promise;
    img.blend = 1;
    state.styles.push(img);
    state.imagesSent = false;
    if (img.notice) notice(img.notice);
    renderStyles();
    syncBlend();
    checkValues(); // the memory model needs the images' sizes (memory.js)
  } catch (e) {
    alertBox(e.message);
  }
  updateButtons();
}

/** Draws the style images, each with its blend slider (once the schema is
 * there) and a Remove button (both disabled with a single image). */
export function renderStyles() {
  const f = fieldOfKind("floats");
  const ul = $("styles");
  ul.replaceChildren();
  const several = state.styles.length > 1;
  state.styles.forEach((img, i) => {
    const li = document.createElement("li");
    const c = document.createElement("canvas");
    drawPixels(c, img);
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", `Style image ${i + 1}: ${img.name}`);
    const lab = document.createElement("label");
    const wrap = document.createElement("div");
    wrap.append(lab);
    if (f) {
      const range = listSlider(f, i, img.blend);
      range.disabled = !several;
      lab.htmlFor = range.id;
      lab.textContent = `${img.name} · blend ${img.blend.toFixed(2)}`;
      range.addEventListener("input", () => {
        img.blend = Number(range.value);
        lab.textContent = `${img.name} · blend ${img.blend.toFixed(2)}`;
        syncBlend();
      });
      wrap.append(range);
    } else {
      lab.textContent = img.name;
    }
    const rm = document.createElement("button");
    rm.type = "button";
    rm.className = "remove";
    rm.textContent = "Remove";
    rm.setAttribute("aria-label", `Remove style image ${img.name}`);
    rm.disabled = !several;
    rm.addEventListener("click", () => {
      state.styles.splice(i, 1);
      state.imagesSent = false;
      renderStyles();
      syncBlend();
      checkValues(); // the memory model needs the images' sizes (memory.js)
      updateButtons();
    });
    li.append(c, wrap, rm);
    ul.append(li);
  });
}

/** Writes the blend sliders into the values: one weight per style image,
 * or empty (equal) with one. Not before the link's values and the first
 * images are in (applyLinkBlend). */
function syncBlend() {
  const f = fieldOfKind("floats");
  if (f && state.loaded) setValue(f.name, state.styles.length > 1 ? state.styles.map((x) => String(x.blend)).join(",") : "");
  updateLink();
}

/** The link's blend weights (Go's parse: a list of numbers, or null) go to
 * the style images when there is one per image; from then on the sliders
 * write the values. */
export function applyLinkBlend(weights) {
  if (weights && weights.length === state.styles.length) state.styles.forEach((x, i) => (x.blend = weights[i]));
  state.loaded = true;
  renderStyles();
  syncBlend();
}

function sampleOptions(select, placeholder) {
  select.replaceChildren(new Option(placeholder, ""), ...Object.entries(SAMPLES).map(([k, v]) => new Option(v.label, k)));
}

function sample(name) {
  return loadSample(`samples/${SAMPLES[name].file}`, SAMPLES[name].label).then((img) => Object.assign(img, { sample: name }));
}

/** Wires the example menus, the file inputs, drops and pastes. */
export function wireImages() {
  sampleOptions($("content-sample"), "(your own image)");
  sampleOptions($("style-sample"), "Choose an example…");
  $("content-sample").addEventListener("change", (e) => e.target.value && setContent(sample(e.target.value)));
  $("style-sample").addEventListener("change", (e) => {
    if (e.target.value) addStyle(sample(e.target.value));
    e.target.value = "";
  });
  $("content-file").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (f) setContent(decodeImage(f));
    e.target.value = "";
  });
  $("style-file").addEventListener("change", (e) => {
    for (const f of e.target.files) addStyle(decodeImage(f));
    e.target.value = "";
  });
  for (const [zone, isContent] of [[$("content-drop"), true], [$("style-drop"), false]]) {
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const files = [...(e.dataTransfer?.files || [])];
      if (!files.length) return alertBox("Nothing to use in that drop: drop an image file.");
      if (isContent) setContent(decodeImage(files[0]));
      else files.forEach((f) => addStyle(decodeImage(f)));
    });
  }
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return; // ordinary text paste
    e.preventDefault();
    const toStyle = document.activeElement && ($("style-drop").contains(document.activeElement) || $("styles").contains(document.activeElement));
    if (toStyle) addStyle(decodeImage(files[0], "pasted image"));
    else setContent(decodeImage(files[0], "pasted image"));
  });
  // Keep files dropped outside the zones from navigating away.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}

/** Loads the link's example images (content=, style=), else the defaults. */
export async function loadInitialImages() {
  const c = params.get("content") || DEFAULT_CONTENT;
  const styleNames = (params.get("style") || DEFAULT_STYLES.join(",")).split(",").filter((n) => SAMPLES[n]);
  await setContent(SAMPLES[c] ? sample(c) : sample(DEFAULT_CONTENT));
  for (const n of styleNames.length ? styleNames : DEFAULT_STYLES) await addStyle(sample(n));
}
