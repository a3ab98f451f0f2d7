// explorer.js: the layer explorer (Gatys et al. 2015, figure 1). One click
// renders, for the first style image, texture synthesis from noise with
// each style layer alone (conv1_1 … conv5_1) and with the cumulative sets
// (conv1_1; conv1_1 + conv2_1; …), content weight 0, in a grid captioned
// with the layers. The worker says which tiles there are, with their
// settings as text and why a tile cannot run on the loaded weights (its
// explore message: transfer.Explore); the tiles run one after another as a
// comparison's runs do (runs.js enqueue), each with content_from_style (the
// style image gives the output its shape). The tiles keep the current
// settings (statistic, cost, optimiser, seed, style weight…) at most
// EXPLORE_SIZE px and EXPLORE_ITERATIONS iterations, so that the eight
// runs stay quick. Each tile opens as a run (its settings become the
// page's, and it runs on the content image's shape); the grid downloads as
// one PNG; ?explore=1 with the settings (the explorer's link) re-opens it
// and renders it again (the seed makes it the same grid).

import { $, state, params } from "./state.js";
import { alertBox } from "./alerts.js";
import { send, on } from "./client.js";
import { ask, adopt, settled } from "./values.js";
import { showValues } from "./controls.js";
import { enqueue, updateButtons, setStatus } from "./runs.js";
import { currentQuery, updateLink } from "./link.js";
import { drawPixels } from "./images.js";

/** The explorer's tiles run at most this size (px, long side) … */
export const EXPLORE_SIZE = 128;
/** … and at most this many iterations. */
export const EXPLORE_ITERATIONS = 100;

const X = {
  wanted: false, // an explore message is on its way
  tiles: [], // the worker's tiles, each with its figure: {tile, fig, canvas, note, open, state}
  style: null, // the style image the grid was made for
  link: "",
};

on("explore", onTiles);

/** The explorer's settings: the page's, with the size and iterations capped. */
function baseValues() {
  const v = { ...state.values };
  const size = Number(v.image_size);
  const iters = Number(v.num_iterations);
  if (!(size <= EXPLORE_SIZE)) v.image_size = String(EXPLORE_SIZE);
  if (!(iters <= EXPLORE_ITERATIONS)) v.num_iterations = String(EXPLORE_ITERATIONS);
  return v;
}

function explore() {
  if (state.run || !state.values || !state.styles.length) return;
  X.wanted = true;
  X.style = state.styles[0];
  X.link = `${location.href.split(/[?#]/)[0]}?${currentQuery({ explore: "1" })}`;
  $("explore-status").textContent = "Asking the worker for the tiles…";
  send({ type: "explore", values: baseValues() });
}

/** The worker's tiles: the grid, then the runs. */
function onTiles(m) {
  if (!X.wanted) return;
  X.wanted = false;
  const alone = $("explore-alone");
  const cumulative = $("explore-cumulative");
  alone.replaceChildren();
  cumulative.replaceChildren();
  drawPixels($("explore-style"), X.style);
  $("explore-style").setAttribute("aria-label", `The style image: ${X.style.name}`);
  $("explore-grid").hidden = false;
  $("explore-link").value = X.link;
  X.tiles = m.tiles.map((tile, k) => {
    const label = tile.cumulative ? tile.caption : `${tile.caption} alone`;
    const fig = document.createElement("figure");
    fig.className = "tile";
    fig.dataset.layers = tile.layers.join(",");
    fig.dataset.cumulative = String(tile.cumulative);
    const canvas = document.createElement("canvas");
    canvas.id = `explore-tile-${k}`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `Texture from noise with ${label}`);
    const cap = document.createElement("figcaption");
    const b = document.createElement("b");
    b.textContent = label;
    const note = document.createElement("span");
    note.className = "note";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = "Open as a run";
    open.setAttribute("aria-label", `Open ${label} as a run`);
    open.disabled = true;
    cap.append(b, document.createElement("br"), note, document.createElement("br"), open);
    fig.append(canvas, cap);
    (tile.cumulative ? cumulative : alone).append(fig);
    const t = { tile, label, fig, canvas, note, open, state: "waiting" };
    open.addEventListener("click", () => openTile(t));
    if (tile.disabled) {
      fig.classList.add("disabled");
      open.hidden = true;
      t.state = "disabled";
      note.textContent = `disabled: ${tile.disabled}`;
    } else note.textContent = "waiting…";
    return t;
  });
  // The runs: one per layer set (conv1_1 alone is also the first
  // cumulative set: it runs once, and both tiles show it).
  const jobs = [];
  const byKey = new Map();
  for (const t of X.tiles) {
    if (t.state === "disabled") continue;
    const key = t.tile.layers.join("+");
    if (byKey.has(key)) {
      byKey.get(key).push(t);
      continue;
    }
    const same = [t];
    byKey.set(key, same);
    jobs.push({
      kind: "explore",
      values: t.tile.values,
      name: `explore ${t.label}`,
      target: t.canvas,
      figure: t.fig,
      caption: null,
      start: { content_from_style: true },
      onDone: (d) => tileDone(same, d),
    });
  }
  const n = jobs.length;
  $("explore-status").textContent = n
    ? `Rendering ${n} textures (${tileSettings(m)}), one after another…`
    : "None of the explorer's layers is in the loaded weights.";
  $("explore-download").disabled = true;
  if (m.refused?.length) alertBox(`The explorer ignored: ${m.refused.map((r) => r.message).join("; ")}`);
  enqueue(jobs);
  $("explore").scrollIntoView?.({ block: "nearest" });
}

/** What each tile runs, in words. */
function tileSettings(m) {
  const v = m.tiles[0]?.values || {};
  return `${v.image_size} px, ${v.num_iterations} iterations each, from noise, content weight 0`;
}

/** A tile's run ended (d: the done message, or {error}). */
function tileDone(same, d) {
  if (d.error || d.stopped) {
    for (const t of X.tiles) {
      if (t.state !== "waiting") continue;
      t.state = "not run";
      t.note.textContent = d.error ? "not run: the explorer stopped on an error" : "not run (stopped)";
    }
    if (d.stopped) same.forEach((t) => (t.note.textContent = `stopped after ${d.iter} iterations`));
    $("explore-status").textContent = d.error ? `The explorer stopped: ${d.error}` : "The explorer was stopped.";
  } else {
    for (const t of same) {
      if (t.canvas !== same[0].canvas) {
        t.canvas.width = same[0].canvas.width;
        t.canvas.height = same[0].canvas.height;
        t.canvas.getContext("2d").drawImage(same[0].canvas, 0, 0);
      }
      t.state = "done";
      t.note.textContent = `${d.iter} iterations`;
      t.open.disabled = false;
    }
  }
  const left = X.tiles.filter((t) => t.state === "waiting").length;
  if (!left) {
    const done = X.tiles.filter((t) => t.state === "done").length;
    if (!d.error && !d.stopped) $("explore-status").textContent = `Done: ${done} tiles${X.tiles.length > done ? `, ${X.tiles.length - done} disabled` : ""}.`;
    $("explore-download").disabled = !done;
  }
}

/** A tile's settings become the page's, and it runs (on the content
 * image's shape), or waits for Run when another run is going. */
async function openTile(t) {
  await settled();
  const a = await ask(t.tile.values);
  adopt(a);
  showValues(state.values, state.settings);
  updateLink();
  updateButtons();
  if (!state.run && !$("run").disabled) {
    $("run").click();
    $("output").focus?.({ preventScroll: false });
  } else setStatus(`The settings of the ${t.label} tile are loaded: press Run when the current run ends.`);
}

/** The grid as one PNG: the style image, then a row per kind of tile, each
 * captioned. */
function downloadGrid() {
  const tiles = X.tiles;
  if (!tiles.length) return;
  const any = tiles.find((t) => t.state === "done")?.canvas;
  const tw = any?.width || 64;
  const th = any?.height || 64;
  const cell = Math.max(tw, 140);
  const ch = Math.round((th * cell) / tw);
  const capH = 34;
  const cols = Math.max(...["false", "true"].map((c) => tiles.filter((t) => String(t.tile.cumulative) === c).length)) + 1;
  const c = document.createElement("canvas");
  const pad = 6;
  c.width = cols * (cell + pad) + pad;
  c.height = 2 * (ch + capH + pad) + pad;
  const g = c.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, c.width, c.height);
  g.imageSmoothingEnabled = tw >= cell;
  const font = "12px system-ui, sans-serif";
  const put = (col, row, draw, lines) => {
    const x = pad + col * (cell + pad);
    const y = pad + row * (ch + capH + pad);
    draw(x, y);
    g.fillStyle = "#1f1a17";
    g.font = font;
    g.textBaseline = "top";
    lines.forEach((line, i) => g.fillText(fit(g, line, cell), x, y + ch + 3 + 14 * i));
  };
  const style = $("explore-style");
  put(0, 0, (x, y) => g.drawImage(style, x, y, cell, ch), ["style", X.style?.name || ""]);
  put(0, 1, (x, y) => {
    g.fillStyle = "#f3efe9";
    g.fillRect(x, y, cell, ch);
    g.fillStyle = "#6b625b";
    g.font = font;
    g.fillText("cumulative:", x + 6, y + 6);
    g.fillText("conv1_1 up to", x + 6, y + 22);
  }, ["", ""]);
  for (const row of [0, 1]) {
    tiles
      .filter((t) => t.tile.cumulative === (row === 1))
      .forEach((t, i) => {
        put(i + 1, row, (x, y) => {
          if (t.state === "done") return g.drawImage(t.canvas, x, y, cell, ch);
          g.fillStyle = "#e3ddd6";
          g.fillRect(x, y, cell, ch);
          g.fillStyle = "#6b625b";
          g.font = font;
          wrap(g, t.state === "disabled" ? `disabled: ${t.tile.disabled}` : t.state, cell - 8).slice(0, Math.floor((ch - 8) / 14)).forEach((l, k) => g.fillText(l, x + 4, y + 4 + 14 * k));
        }, [t.label, t.state === "done" ? "" : t.state]);
      });
  }
  c.toBlob((blob) => {
    if (!blob) return alertBox("This browser could not make a PNG of the grid.");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `crema-layers-${(X.style?.sample || X.style?.name || "style").replace(/\.[^.]*$/, "").replace(/[^\w-]+/g, "_")}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }, "image/png");
}

/** text shortened with … to width px. */
function fit(g, text, width) {
  if (g.measureText(text).width <= width) return text;
  while (text.length > 1 && g.measureText(text + "…").width > width) text = text.slice(0, -1);
  return text + "…";
}

/** text in lines of at most width px. */
function wrap(g, text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (line && g.measureText(next).width > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** Wires the explorer's buttons; ?explore=1 renders it once the page can run. */
export function wireExplorer() {
  $("explore-run").addEventListener("click", explore);
  $("explore-download").addEventListener("click", downloadGrid);
  $("explore-copy").addEventListener("click", async (e) => {
    $("explore-link").select();
    try {
      await navigator.clipboard.writeText($("explore-link").value);
      e.target.textContent = "Copied";
    } catch {
      e.target.textContent = "Press Ctrl/⌘ C to copy";
    }
    setTimeout(() => (e.target.textContent = "Copy link"), 2000);
  });
  // The explorer's button follows Run's.
  new MutationObserver(() => ($("explore-run").disabled = $("run").disabled)).observe($("run"), { attributes: true, attributeFilter: ["disabled"] });
  $("explore-run").disabled = $("run").disabled;
  if (params.get("explore") === "1") {
    const go = setInterval(() => {
      if (state.loaded && !state.checking && !$("run").disabled) {
        clearInterval(go);
        $("explore").scrollIntoView?.();
        explore();
      }
    }, 250);
  }
}
