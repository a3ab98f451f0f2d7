package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/crema-app/crema/model/transfer"
)

// defaultCompare is the series' figure: the three presets.
const defaultCompare = "preset=even;preset=early;preset=late"

// variant is one cell of the comparison: settings given as key=value pairs.
type variant struct {
	pairs [][2]string
}

// parseVariants reads -settings: variants separated by ';', each a comma
// list of key=value (a comma-separated piece without '=' continues the
// previous value, so style_layers=conv1_1:0.5,conv2_1:0.5 works).
func parseVariants(spec string) ([]variant, error) {
	var out []variant
	for _, vs := range strings.Split(spec, ";") {
		vs = strings.TrimSpace(vs)
		if vs == "" {
			continue
		}
		var v variant
		for _, piece := range strings.Split(vs, ",") {
			piece = strings.TrimSpace(piece)
			k, val, ok := strings.Cut(piece, "=")
			switch {
			case ok:
				v.pairs = append(v.pairs, [2]string{strings.TrimSpace(k), strings.TrimSpace(val)})
			case len(v.pairs) > 0 && piece != "":
				v.pairs[len(v.pairs)-1][1] += "," + piece
			case piece != "":
				return nil, fmt.Errorf("-settings: %q is not key=value", piece)
			}
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("-settings names no variant")
	}
	return out, nil
}

// apply returns base with v's pairs set.
func (v variant) apply(base transfer.Settings) (transfer.Settings, error) {
	s := base
	s.StyleLayers = append([]transfer.LayerWeight(nil), base.StyleLayers...)
	for _, p := range v.pairs {
		if err := s.Set(p[0], p[1]); err != nil {
			return s, fmt.Errorf("-settings: %s", oneLine(err))
		}
	}
	return s, nil
}

// caption is one line per setting; a list value (style_layers=a:1,b:2)
// continues with one item a line.
func (v variant) caption() []string {
	var out []string
	for _, p := range v.pairs {
		items := strings.Split(p[1], ",")
		out = append(out, p[0]+"="+items[0])
		out = append(out, items[1:]...)
	}
	return out
}

// compareMain is `crema compare`: one content/style pair under several
// settings, written as one labelled grid image.
func compareMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommon("crema compare", stderr, "compare.png")
	spec := c.fs.String("settings", defaultCompare, "variants separated by ';', each a comma list of key=value settings")
	c.fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crema compare -content_image FILE -style_image FILE [-settings \"preset=early;preset=late,style_stat=cov\"] [flags]\nflags other than -settings apply to every variant")
		c.fs.PrintDefaults()
	}
	if err := c.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return usageFail(stderr, err)
	}
	variants, err := parseVariants(*spec)
	if err != nil {
		return usageFail(stderr, err)
	}
	base := c.settings
	var all []transfer.Settings
	for _, v := range variants {
		s, err := v.apply(base)
		if err != nil {
			return fail(stderr, fmt.Errorf("%s: %s", strings.Join(v.caption(), ","), oneLine(err)))
		}
		all = append(all, s)
	}
	job, err := loadJob(c, base, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	if len(job.Styles) == 0 {
		return fail(stderr, errors.New("missing -style_image"))
	}
	sess, err := openSession(*c.backend, *c.weights, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer sess.Close()
	// Every variant is checked before the first runs, so that the last one
	// cannot fail after minutes of work (Run checks its own again).
	for i, s := range all {
		if err := s.Validate(sess.Net()); err != nil {
			return fail(stderr, fmt.Errorf("%s: %s", strings.Join(variants[i].caption(), ","), oneLine(err)))
		}
	}
	var results []*image.RGBA
	for i, s := range all {
		fmt.Fprintf(stderr, "crema: compare %d/%d: %s\n", i+1, len(all), strings.Join(variants[i].caption(), ","))
		bar := newProgressBar(stderr, s.Iterations, 0)
		job.Settings = s
		img, err := sess.Run(ctx, job, transfer.Hooks{Progress: bar.update})
		bar.finish()
		if err != nil {
			return fail(stderr, fmt.Errorf("%s: %s", strings.Join(variants[i].caption(), ","), oneLine(err)))
		}
		results = append(results, img)
	}
	cells := []cell{{img: job.Content, caption: []string{"content"}}}
	for _, st := range job.Styles {
		cells = append(cells, cell{img: st, caption: []string{"style"}})
	}
	for i, img := range results {
		cells = append(cells, cell{img: img, caption: variants[i].caption()})
	}
	grid := renderGrid(cells, results[0].Bounds().Dx(), results[0].Bounds().Dy(), 5)
	if err := writeImage(*c.output, grid); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, *c.output)
	return exitOK
}

// wrap breaks l into lines of at most perLine characters: after a space,
// "key=" or "name:" rather than inside a word where it can.
func wrap(l string, perLine int) []string {
	var out []string
	for len(l) > perLine {
		cut := 0
		if k := strings.LastIndexAny(l[:perLine], "=:"); k > 0 {
			cut = k + 1
		}
		if k := strings.LastIndex(l[:perLine+1], " "); k > 0 && k >= cut {
			cut = k
		}
		if cut == 0 {
			cut = perLine // one long word: break inside it
		}
		out = append(out, l[:cut])
		l = strings.TrimLeft(l[cut:], " ")
	}
	return append(out, l)
}

// textCell is a w×h grey picture with lines of text on it (wrapped to its
// width): the grid's cell for something that could not be made.
func textCell(w, h int, text string) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.Gray{0xd8}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{0x40}), Face: basicfont.Face7x13}
	for j, l := range wrap(text, max(4, (w-4)/charWidth)) {
		y := 11 + j*(lineHeight-1)
		if y+2 > h {
			break // what does not fit is left out
		}
		d.Dot = fixed.P(3, y)
		d.DrawString(l)
	}
	return img
}

// cell is one picture of the grid and its caption lines.
type cell struct {
	img     image.Image
	caption []string
}

const (
	gridPad    = 6
	lineHeight = 14
	charWidth  = 7 // basicfont.Face7x13
)

// renderGrid lays cells out in balanced rows of at most cols, each picture
// scaled to fit a w×h box, with its caption (wrapped to the box) below it.
func renderGrid(cells []cell, w, h, cols int) *image.RGBA {
	rows := (len(cells) + cols - 1) / cols
	cols = (len(cells) + rows - 1) / rows
	perLine := max(4, w/charWidth)
	wrapped := make([][]string, len(cells))
	capLines := 1
	for i, c := range cells {
		for _, l := range c.caption {
			wrapped[i] = append(wrapped[i], wrap(l, perLine)...)
		}
		capLines = max(capLines, len(wrapped[i]))
	}
	cellH := h + gridPad + capLines*lineHeight
	W := cols*w + (cols+1)*gridPad
	H := rows*cellH + (rows+1)*gridPad
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	for i, c := range cells {
		x0 := gridPad + (i%cols)*(w+gridPad)
		y0 := gridPad + (i/cols)*(cellH+gridPad)
		b := c.img.Bounds()
		fw, fh := transfer.FitSize(b.Dx(), b.Dy(), max(w, h))
		if fw > w || fh > h { // fit the box, not just its long side
			if fw*h > fh*w {
				fw, fh = w, max(1, fh*w/fw)
			} else {
				fw, fh = max(1, fw*h/fh), h
			}
		}
		pic := transfer.Resize(c.img, fw, fh)
		at := image.Pt(x0+(w-fw)/2, y0+(h-fh)/2)
		draw.Draw(out, image.Rectangle{Min: at, Max: at.Add(image.Pt(fw, fh))}, pic, image.Point{}, draw.Src)
		d := font.Drawer{Dst: out, Src: image.NewUniform(color.Black), Face: face}
		for j, l := range wrapped[i] {
			d.Dot = fixed.P(x0, y0+h+gridPad+(j+1)*lineHeight-3)
			d.DrawString(l)
		}
	}
	return out
}
