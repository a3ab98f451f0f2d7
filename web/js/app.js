// app.js: crema's page, wired together. The Go worker (client.js; the
// protocol is wasm/PROTOCOL.md) sends the settings' schema, from which the
// page builds its controls (controls.js); the settings travel as text
// (values.js), from the link to Go and back, from the controls to Go for
// its check, into the link (link.js) and into each run (runs.js). The
// weights (weightspanel.js, layers.js) and the images (imagepanel.js) have
// their own modules, as have the regions panel (masks.js) and the layer
// explorer (explorer.js); settings.js holds the pure helpers.
//
// For the browser tests and the curious, window.crema = {state, chart}.

import { $, state, params, embed } from "./state.js";
import { initPool, stopHelpers } from "./pool.js";
import { alertBox, notice } from "./alerts.js";
import { backendInit, showBackend } from "./backend.js";
import { startWorker, send, on } from "./client.js";
import * as S from "./settings.js";
import { ask, adopt, setValue, onChecked } from "./values.js";
import { buildControls, showValues, showRefused, fieldOfKind } from "./controls.js";
import { loadWeights, weightsRefused, wireWeights } from "./weightspanel.js";
import { renderStyles, applyLinkBlend, wireImages, loadInitialImages, sampleFile } from "./imagepanel.js";
import { updateLink, wireShare } from "./link.js";
import { chart, setStatus, updateButtons, runFailed, workerGone, wireRuns, buildComparePicks } from "./runs.js";
import { build } from "./build.js";
import { packURL } from "./weights.js";
import { registerOffline } from "./offline.js";
import { poster, showPoster, reportHeight } from "./embed.js";
import { regionsState } from "./masks.js"; // the regions panel: the controls of content_masks, style_masks, region_styles
import { wireExplorer } from "./explorer.js";
import "./memory.js"; // the memory model's figures under the image size

window.crema = { state, chart, regions: regionsState };

let gotLinkAnswer;
/** Go's answer to the link's settings. */
const linkAnswer = new Promise((ok) => (gotLinkAnswer = ok));

on("ready", onReady);
on("backend", showBackend);
on("images", () => (state.imagesSent = true));
on("error", onError);
onChecked(() => {
  showRefused(state.check.refused);
  updateButtons();
});

/** The worker is up: build the controls from its schema, have Go read the
 * link's settings (only the URL's parameters that name settings; the
 * answer's values are the page's from then on, and each value it refused
 * is a notice), open the backend and load the weights. */
async function onReady(m) {
  state.ready = m;
  // ?weights=URL, else ?pack=NAME (one the site ships), else the build's
  // default pack.
  let pack = params.get("pack");
  if (pack && !build.packs.includes(pack)) {
    notice(`This site has no weight pack "${pack}" (it has ${build.packs.join(", ") || "none"}): using ${build.pack}.`, "pack-notice");
    pack = "";
  }
  state.weightsURL = params.get("weights") || packURL(pack) || packURL(build.pack) || m.weights_url;
  const answer = ask(S.linkValues(params, m.schema));
  send({ type: "init", ...(await backendInit()), ...initPool() });
  loadWeights();
  // The controls appear with the link's values, so none is changed before.
  const a = await answer;
  adopt(a);
  for (const r of a.refused || []) notice(`Ignored a setting from the link: ${r.message}.`);
  buildControls(m, controlChanged);
  buildComparePicks(params.has("compare") ? params.get("compare").split(",") : null);
  renderStyles();
  showValues(state.values, state.settings);
  updateLink();
  updateButtons();
  gotLinkAnswer(a);
}

/** A control's new text: into the values, the link, and to Go for its check. */
function controlChanged(name, text) {
  setValue(name, text);
  updateLink();
  updateButtons();
}

function onError(m) {
  switch (m.stage || "") {
    case "weights":
      return weightsRefused(m);
    case "build":
      alertBox("The worker's Go code does not build (the dev server's compiler output):", { detail: m.message.replace(/^[^\n]*\n/, "") });
      setStatus("Fix the build and reload.");
      return;
    case "boot":
    case "exit":
      alertBox(`The worker stopped: ${m.message.split("\n")[0]}`, { detail: m.message.split("\n").slice(1).join("\n") });
      stopHelpers();
      return workerGone();
    case "pause":
    case "resume":
    case "stop":
      return; // raced with the end of a run
    default:
      return runFailed(m);
  }
}

if (embed) {
  document.body.classList.add("embed");
  $("more").open = false;
}
$("controls").addEventListener("submit", (e) => e.preventDefault());
wireRuns();
wireWeights();
wireShare();
wireImages();
wireExplorer();
$("build").textContent = `crema ${build.label}${build.version !== build.label ? ` (${build.version})` : ""}`;
reportHeight();
if (poster) {
  // The embed snippet's poster: nothing heavy until the reader presses its
  // button, which then runs as soon as the page can.
  showPoster(() => {
    startWorker();
    registerOffline();
    const go = setInterval(() => {
      if (!$("run").disabled) {
        clearInterval(go);
        $("run").click();
      }
    }, 200);
  }, sampleFile(params.get("content")));
} else {
  startWorker();
  registerOffline();
}
// The link's blend weights go to the style images once both are in.
Promise.all([linkAnswer, loadInitialImages()]).then(([a]) => {
  const f = fieldOfKind("floats");
  applyLinkBlend(f ? a.settings[f.name] : null);
  updateButtons();
});
updateButtons();
