// Command schedplot turns the measurements of tools/bench/schedule.mjs
// (time to a picture: candidate schedules run in the page) into an SVG plot
// of the loss at the final size against the seconds since Run was pressed,
// and a Markdown table for BENCHMARKS.md.
//
//	go run ./tools/bench/schedplot -ref /tmp/sched/ref.json -o docs/schedule-cpu.svg /tmp/sched/cands.json ...
//
// The reference is the run named -ref_name (the page's old default: 200
// L-BFGS iterations at the final size from the start). The goal is "90 % of
// the reference's drop in log10(total loss)": log10 L(0) − 0.9·(log10 L(0) −
// log10 L(end)) of that run, where L(0) is the loss of the first image and
// L(end) the loss after its last iteration. A coarse-to-fine run's first
// stage is at half the size, whose losses are not comparable: its curve
// starts where the final stage begins (the point whose note says so).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// result is one schedule's run, as schedule.mjs writes it.
type result struct {
	Name         string                `json:"name"`
	Query        string                `json:"query"`
	ImageSize    int                   `json:"image_size"`
	Iterations   int                   `json:"iterations"`
	CoarseToFine bool                  `json:"coarse_to_fine"`
	Optimizer    string                `json:"optimizer"`
	StoppedAtCap bool                  `json:"stopped_at_cap"`
	Load         []float64             `json:"load"`
	Points       [][4]any              `json:"points"` // [seconds, iteration, total loss, note]
	Backend      struct{ Name string } `json:"backend"`
}

type file struct {
	Date    string   `json:"date"`
	Weights string   `json:"weights"`
	Results []result `json:"results"`
}

// point is one progress message at the final size.
type point struct {
	sec, loss float64
	iter      int
}

// finalStage returns r's points at the final size.
func finalStage(r result) []point {
	var out []point
	in := !r.CoarseToFine
	for _, p := range r.Points {
		sec, _ := p[0].(float64)
		it, _ := p[1].(float64)
		loss, _ := p[2].(float64)
		note, _ := p[3].(string)
		if !in && strings.Contains(note, "coarse-to-fine: continuing") {
			in = true
		}
		if in && loss > 0 {
			out = append(out, point{sec, loss, int(it)})
		}
	}
	return out
}

func main() {
	refFile := flag.String("ref", "", "the measurements holding the reference run")
	refName := flag.String("ref_name", "lbfgs-200", "the reference run's schedule name")
	out := flag.String("o", "", "the SVG to write")
	budget := flag.Float64("budget", 60, "the seconds a visitor waits for a picture")
	title := flag.String("title", "", "the plot's title")
	flag.Parse()
	if err := run(*refFile, *refName, *out, *title, *budget, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "schedplot:", err)
		os.Exit(1)
	}
}

func load(path string) (file, error) {
	var f file
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func run(refFile, refName, out, title string, budget float64, files []string, w io.Writer) error {
	if refFile == "" || out == "" {
		return errors.New("-ref and -o are required")
	}
	var all []result
	var ref *result
	for _, path := range append([]string{refFile}, files...) {
		f, err := load(path)
		if err != nil {
			return err
		}
		for i := range f.Results {
			r := f.Results[i]
			if path == refFile && r.Name == refName && ref == nil {
				ref = &r
				continue
			}
			all = append(all, r)
		}
	}
	if ref == nil {
		return fmt.Errorf("%s has no run named %s", refFile, refName)
	}
	rp := finalStage(*ref)
	if len(rp) < 2 || rp[0].iter != 0 {
		return fmt.Errorf("the reference %s has no curve from iteration 0", refName)
	}
	if ref.StoppedAtCap {
		return fmt.Errorf("the reference %s was stopped before its last iteration", refName)
	}
	l0, lend := math.Log10(rp[0].loss), math.Log10(rp[len(rp)-1].loss)
	goal := l0 - 0.9*(l0-lend)
	series := append([]result{*ref}, all...)

	fmt.Fprintf(w, "Goal: log10(total loss) ≤ %.3f (reference %s: %.3g → %.3g in %d iterations, %.0f s)\n\n",
		goal, refName, rp[0].loss, rp[len(rp)-1].loss, rp[len(rp)-1].iter, rp[len(rp)-1].sec)
	fmt.Fprintf(w, "| schedule | settings | reaches the goal | loss at %.0f s | last loss (s) | load |\n|---|---|---:|---:|---:|---|\n", budget)
	for _, r := range series {
		ps := finalStage(r)
		reach := "not within the run"
		for _, p := range ps {
			if math.Log10(p.loss) <= goal {
				reach = fmt.Sprintf("%.0f s (iteration %d)", p.sec, p.iter)
				break
			}
		}
		at := "–"
		for _, p := range ps {
			if p.sec <= budget {
				at = fmt.Sprintf("%.3g", p.loss)
			}
		}
		last := "–"
		if len(ps) > 0 {
			l := ps[len(ps)-1]
			last = fmt.Sprintf("%.3g (%.0f s, iteration %d)", l.loss, l.sec, l.iter)
		}
		lo := make([]string, len(r.Load))
		for i, x := range r.Load {
			lo[i] = fmt.Sprintf("%.1f", x)
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | %s | %s | %s |\n", r.Name, strings.TrimPrefix(r.Query, "?"), reach, at, last, strings.Join(lo, " "))
	}
	svg := plot(series, goal, budget, title)
	return os.WriteFile(out, []byte(svg), 0o644)
}

// plot draws log10(loss) against seconds for each series.
func plot(series []result, goal, budget float64, title string) string {
	const W, Hh, left, right, top, bottom = 760.0, 440.0, 70.0, 200.0, 40.0, 50.0
	pw, ph := W-left-right, Hh-top-bottom
	xmax, ymin, ymax := budget*2, goal, goal
	for _, r := range series {
		for _, p := range finalStage(r) {
			xmax = math.Max(xmax, p.sec)
			ymin = math.Min(ymin, math.Log10(p.loss))
			ymax = math.Max(ymax, math.Log10(p.loss))
		}
	}
	xmax = math.Ceil(xmax/30) * 30
	ymin, ymax = math.Floor(ymin*2)/2, math.Ceil(ymax*2)/2
	x := func(s float64) float64 { return left + pw*s/xmax }
	y := func(l float64) float64 { return top + ph*(ymax-l)/(ymax-ymin) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", W, Hh)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="14">%s</text>`+"\n", left, esc(title))
	for s := 0.0; s <= xmax; s += 30 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`+"\n", x(s), top, x(s), top+ph, x(s), top+ph+16, s)
	}
	for l := ymin; l <= ymax+1e-9; l += 0.5 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" text-anchor="end">%.1f</text>`+"\n", left, y(l), left+pw, y(l), left-6, y(l)+4, l)
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds since Run</text>`+"\n", left+pw/2, Hh-12)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">log10(total loss) at the final size</text>`+"\n", top+ph/2)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="4 3"/><text x="%.1f" y="%.1f">90 %% of the reference's drop</text>`+"\n", left, y(goal), left+pw, y(goal), left+4, y(goal)-4)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="2 3"/><text x="%.1f" y="%.1f" fill="#c00">%.0f s</text>`+"\n", x(budget), top, x(budget), top+ph, x(budget)+4, top+14, budget)
	colors := []string{"#000000", "#e6194b", "#4363d8", "#3cb44b", "#f58231", "#911eb4", "#42d4f4", "#9a6324"}
	for i, r := range series {
		ps := finalStage(r)
		if len(ps) == 0 {
			continue
		}
		c := colors[i%len(colors)]
		var pts []string
		for _, p := range ps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.sec), y(math.Log10(p.loss))))
		}
		width := 1.5
		if i == 0 {
			width = 2.5
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%.1f" points="%s"/>`+"\n", c, width, strings.Join(pts, " "))
		ly := top + 10 + 18*float64(i)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"/><text x="%.1f" y="%.1f">%s</text>`+"\n", W-right+10, ly, W-right+30, ly, c, width, W-right+34, ly+4, esc(r.Name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
