// layers.js: the settings against the loaded weights. Layers the weights
// lack (the worker's weights message lists why, per layer) are disabled in
// the controls; a link's or the defaults' settings that use them are moved
// off them, saying so: style layers set to 0, the content layer moved to the
// deepest available layer of the same rank (conv4_2 → conv3_2).

import { state } from "./state.js";
import { notice } from "./alerts.js";
import * as S from "./settings.js";
import { fieldOfKind, setSliders, showValue } from "./controls.js";
import { settled, checkValues, loaded } from "./values.js";

/** Why a preset cannot run on the loaded weights ("" if it can): every
 * layer it weighs is missing. */
export function presetBlocked(name) {
  const p = state.ready?.presets[name];
  if (!p) return "";
  const used = p.filter((l) => l.weight > 0);
  if (!used.length || used.some((l) => !state.unavailable[l.layer])) return "";
  return `The ${name} preset uses ${used.map((l) => l.layer).join(" and ")}, which the loaded weights lack.`;
}

/** Moves the values off the layers that the weights (the worker's weights
 * message w) lack, with a notice for each change, then has Go check them
 * against the weights. */
export async function adaptToWeights(w) {
  await loaded;
  await settled();
  const un = state.unavailable;
  const s = state.settings;
  const v = state.values;
  const style = fieldOfKind("layer_weights");
  if (style) {
    const list = (s[style.name] || []).map((l) => ({ ...l }));
    const dropped = list.filter((l) => l.weight > 0 && un[l.layer]).map((l) => l.layer);
    if (dropped.length) {
      for (const l of list) if (un[l.layer]) l.weight = 0;
      if (!list.some((l) => l.weight > 0)) {
        // Nothing left: the first layer the weights have, at 1.
        const first = S.choicesOf(style).find((l) => !un[l]);
        const entry = list.find((l) => l.layer === first);
        if (entry) entry.weight = 1;
        else if (first) list.push({ layer: first, weight: 1 });
      }
      v[style.name] = S.formatLayerWeights(list);
      setSliders(list);
      notice(`The loaded weights hold ${w.layers[0]} … ${w.layers.at(-1)} only, so style layers ${dropped.join(", ")} are off (\`make run\` or \`make weights\` gets the full VGG-19).`, "layers-notice");
    }
  }
  const content = fieldOfKind("layers");
  if (content) {
    const layers = s[content.name] || [];
    const bad = layers.filter((l) => un[l]);
    if (bad.length) {
      const avail = S.choicesOf(content).filter((l) => !un[l]);
      const rank = (l) => l.slice(l.lastIndexOf("_"));
      const pick = avail.filter((l) => rank(l) === rank(bad[0])).at(-1) || avail.at(-1);
      v[content.name] = [...new Set(layers.map((l) => (un[l] ? pick : l)))].join(",");
      showValue(content.name, v, s);
      notice(`Content layer ${bad.join(", ")} is not in the loaded weights: using ${pick}.`, "content-notice");
    }
  }
  await checkValues();
}
