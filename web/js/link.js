// link.js: the page's URL, its link and the embed snippet. The query holds
// the page's own parameters (settings.js PAGE_PARAMS: the example images,
// embed, backend, weights, the compared presets) and every setting's text
// (state.values), so a link reproduces a run.

import { $, state, params, embed, backendParam } from "./state.js";
import * as S from "./settings.js";
import { compareChoices } from "./runs.js";

/** The query of the page as it is now; extra overrides parameters. */
export function currentQuery(extra = {}) {
  const p = new URLSearchParams();
  if (embed) p.set("embed", "1");
  if (backendParam !== "auto") p.set("backend", backendParam);
  if (params.has("weights")) p.set("weights", state.weightsURL);
  if (state.content && state.content.sample) p.set("content", state.content.sample);
  if (state.styles.length && state.styles.every((x) => x.sample)) p.set("style", state.styles.map((x) => x.sample).join(","));
  if (params.has("compare") || state.compared) p.set("compare", compareChoices().join(","));
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  S.valuesToParams(state.values, state.ready.schema, p);
  return S.queryText(p);
}

/** Writes the current query into the address bar, the link, the embed
 * snippet and the embedded page's link to the full page. */
export function updateLink() {
  if (!state.values) return;
  const q = currentQuery();
  try {
    history.replaceState(null, "", `?${q}`);
  } catch {
    // some sandboxes forbid it: the link field still has the URL
  }
  const base = location.href.split(/[?#]/)[0];
  $("link").value = `${base}?${q}`;
  const src = `${base}?${currentQuery({ embed: "1" })}`;
  $("embed-code").value =
    `<iframe src="${src.replace(/&/g, "&amp;")}" title="crema: neural style transfer" width="100%" height="640" loading="lazy" ` +
    `sandbox="allow-scripts allow-same-origin allow-downloads" style="border:0"></iframe>`;
  $("full-link").href = `${base}?${q}`.replace("embed=1&", "");
}

async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // Clipboard API refused (e.g. in a sandbox): select the text instead.
  }
  const old = button.textContent;
  button.textContent = ok ? "Copied" : "Press Ctrl/⌘ C to copy";
  setTimeout(() => (button.textContent = old), 2000);
}

/** Wires the Copy buttons. */
export function wireShare() {
  $("copy-link").addEventListener("click", (e) => {
    $("link").select();
    copyText($("link").value, e.target);
  });
  $("copy-embed").addEventListener("click", (e) => {
    $("embed-code").select();
    copyText($("embed-code").value, e.target);
  });
}
