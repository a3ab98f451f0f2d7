// chart.js: the live loss chart, drawn on a canvas: total, content, TV and
// each style layer's loss against the iteration, on a log scale. The legend
// is HTML (readable by screen readers), and the canvas' aria-label carries
// the latest values.

const COLORS = {
  total: "#111827",
  content: "#2563eb",
  tv: "#9ca3af",
  conv1_1: "#dc2626",
  conv2_1: "#ea580c",
  conv3_1: "#ca8a04",
  conv4_1: "#16a34a",
  conv5_1: "#9333ea",
};
const EXTRA = ["#db2777", "#0891b2", "#65a30d", "#7c3aed", "#b45309"];
/** The colours of regions 1, 2, … (the regions panel, masks.js, paints
 * with them; the chart's "region i" series, the sum of that region's style
 * losses over the layers, is drawn in them). */
export const REGION_COLORS = ["#e6194b", "#4363d8", "#3cb44b", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324"];

export class LossChart {
  /** canvas: the chart; legend: an element the legend is written into. */
  constructor(canvas, legend) {
    this.canvas = canvas;
    this.legend = legend;
    this.reset();
  }

  reset() {
    this.series = new Map(); // name → [[iter, value]]
    this.lastIter = 0;
    this.maxIter = 1;
    this.schedule();
  }

  /** Adds one transfer.Progress; maxIter is the run's iteration count. */
  add(p, maxIter) {
    this.maxIter = Math.max(1, maxIter || this.maxIter);
    this.lastIter = p.iter;
    const put = (name, v) => {
      if (!(v > 0) || !Number.isFinite(v)) return; // log scale: positive values only
      if (!this.series.has(name)) this.series.set(name, []);
      this.series.get(name).push([p.iter, v]);
    };
    put("total", p.total);
    put("content", p.content);
    for (const [layer, v] of Object.entries(p.style || {}).sort()) put(layer, v);
    put("tv", p.tv);
    // With content masks: each region's style loss, summed over the layers.
    const regions = [];
    for (const list of Object.values(p.regions || {})) list.forEach((v, i) => (regions[i] = (regions[i] || 0) + v));
    regions.forEach((v, i) => put(`region ${i + 1}`, v));
    this.schedule();
  }

  /** The first and latest value of a series, for tests and summaries. */
  ends(name) {
    const s = this.series.get(name);
    return s && s.length ? [s[0][1], s[s.length - 1][1]] : null;
  }

  color(name) {
    if (COLORS[name]) return COLORS[name];
    const region = /^region (\d+)$/.exec(name);
    if (region) return REGION_COLORS[(Number(region[1]) - 1) % REGION_COLORS.length];
    const i = [...this.series.keys()].indexOf(name);
    return EXTRA[i % EXTRA.length];
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    const run = () => {
      this.pending = false;
      this.draw();
    };
    if (typeof requestAnimationFrame === "function" && !document.hidden) requestAnimationFrame(run);
    else setTimeout(run, 0);
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const cssW = c.clientWidth || 320;
    const cssH = c.clientHeight || 180;
    c.width = Math.round(cssW * dpr);
    c.height = Math.round(cssH * dpr);
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const styles = getComputedStyle(c);
    const fg = styles.color || "#111";
    g.font = "11px system-ui, sans-serif";
    const left = 46, right = 8, top = 8, bottom = 22;
    const w = cssW - left - right;
    const h = cssH - top - bottom;

    let lo = Infinity, hi = -Infinity;
    for (const s of this.series.values()) {
      for (const [, v] of s) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    g.strokeStyle = "rgba(128,128,128,0.35)";
    g.fillStyle = fg;
    g.lineWidth = 1;
    if (!Number.isFinite(lo)) {
      g.fillText("losses appear here during a run", left + 8, top + h / 2);
      this.writeLegend();
      return;
    }
    let l0 = Math.floor(Math.log10(lo));
    let l1 = Math.ceil(Math.log10(hi));
    if (l1 === l0) l1 = l0 + 1;
    const xOf = (it) => left + (w * it) / this.maxIter;
    const yOf = (v) => top + h - (h * (Math.log10(v) - l0)) / (l1 - l0);
    // Grid: one line a decade, labelled 1e±k.
    const step = Math.max(1, Math.ceil((l1 - l0) / 6));
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (let e = l0; e <= l1; e += step) {
      const y = yOf(10 ** e);
      g.beginPath();
      g.moveTo(left, y);
      g.lineTo(left + w, y);
      g.stroke();
      g.fillText(`1e${e}`, left - 4, y);
    }
    g.textAlign = "center";
    g.textBaseline = "top";
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      const it = Math.round(t * this.maxIter);
      g.fillText(String(it), xOf(it), top + h + 6);
    }
    for (const [name, s] of this.series) {
      g.strokeStyle = this.color(name);
      g.lineWidth = name === "total" ? 2.25 : 1.5;
      g.setLineDash(name === "content" ? [5, 3] : name === "tv" ? [2, 3] : name.startsWith("region ") ? [6, 2, 2, 2] : []);
      g.beginPath();
      s.forEach(([it, v], i) => (i ? g.lineTo(xOf(it), yOf(v)) : g.moveTo(xOf(it), yOf(v))));
      g.stroke();
    }
    g.setLineDash([]);
    this.writeLegend();
  }

  writeLegend() {
    const parts = [];
    const label = [];
    this.legend.replaceChildren();
    for (const [name, s] of this.series) {
      const v = s[s.length - 1][1];
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = this.color(name);
      li.append(sw, `${name} ${fmt(v)}`);
      this.legend.append(li);
      parts.push(`${name} ${fmt(v)}`);
    }
    label.push(parts.length ? `Loss at iteration ${this.lastIter}: ${parts.join(", ")}` : "Loss chart: no run yet");
    this.canvas.setAttribute("aria-label", label.join(""));
  }
}

/** A loss value in 3 significant digits. */
export function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(2) : v.toPrecision(3);
}
