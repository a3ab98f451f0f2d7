// link.js: the page's URL, its link and the embed snippet. The query holds
// the page's own parameters (settings.js PAGE_PARAMS: the example images,
// embed, backend, weights or pack, the compared presets) and every
// setting's text (state.values), so a link reproduces a run.
//
// The embed snippet is light: a lazily loaded iframe of the compact page
// with poster=1, which shows a still picture and one button and fetches
// nothing heavy (no wasm, no weights) until the reader presses it (embed.js);
// the picture is the last result (a small JPEG in the URL's fragment, which
// is never sent to a server) when it was made from the example images the
// embed names, else the content example itself. A few lines of script
// beside the iframe let the embedded page set its height to its content
// (postMessage); without them (a host that strips scripts) it keeps the
// height it is given.

import { $, state, params, embed, backendParam, simdParam } from "./state.js";
import * as S from "./settings.js";
import { compareChoices } from "./runs.js";

/** The query of the page as it is now; extra overrides parameters. */
export function currentQuery(extra = {}) {
  const p = new URLSearchParams();
  if (embed) p.set("embed", "1");
  if (backendParam !== "auto") p.set("backend", backendParam);
  if (params.has("helpers")) p.set("helpers", params.get("helpers"));
  if (simdParam) p.set("simd", simdParam);
  if (params.has("weights")) p.set("weights", state.weightsURL);
  else if (params.has("pack")) p.set("pack", params.get("pack"));
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
  $("embed-code").value = embedSnippet(base);
  $("full-link").href = `${base}?${q}`.replace("embed=1&", "").replace("&poster=1", "");
}

/** A name for this page's embed, so that two embeds on one post each get
 * their own height. */
const embedID = `crema-${Math.random().toString(36).slice(2, 8)}`;

/** The embed snippet: the lazily loaded poster page and its resizer. */
export function embedSnippet(base) {
  const src = `${base}?${currentQuery({ embed: "1", poster: "1" })}`;
  const poster = posterData();
  const url = src.replace(/&/g, "&amp;") + (poster ? `#poster=${poster}` : "");
  return (
    `<iframe src="${url}" title="crema: neural style transfer" id="${embedID}" width="100%" height="480" loading="lazy" ` +
    `sandbox="allow-scripts allow-same-origin allow-downloads" style="border:0;max-width:100%"></iframe>\n` +
    `<script>addEventListener("message",function(e){var f=document.getElementById("${embedID}");` +
    `if(f&&e.source===f.contentWindow&&e.data&&e.data.type==="crema:height")f.style.height=e.data.height+"px"})</script>`
  );
}

/** The last result as a small JPEG data URL, when it was made from the
 * example images (which the embed loads too), else "". */
function posterData() {
  const f = state.lastFrame;
  if (!f || !state.content?.sample || !state.styles.length || !state.styles.every((x) => x.sample)) return "";
  const src = f.canvas;
  if (!src.width || !src.height) return "";
  const k = Math.min(1, 200 / Math.max(src.width, src.height));
  const c = document.createElement("canvas");
  c.width = Math.max(1, Math.round(src.width * k));
  c.height = Math.max(1, Math.round(src.height * k));
  c.getContext("2d").drawImage(src, 0, 0, c.width, c.height);
  try {
    return c.toDataURL("image/jpeg", 0.65);
  } catch {
    return ""; // a tainted canvas cannot be read
  }
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
    updateLink(); // the poster: the result as it is now
    $("embed-code").select();
    copyText($("embed-code").value, e.target);
  });
}
