package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crema-app/crema/model/transfer"
)

// writeMask writes a w×h mask PNG, white where in(x, y).
func writeMask(t *testing.T, path string, w, h int, in func(x, y int) bool) {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if in(x, y) {
				m.SetGray(x, y, color.Gray{255})
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// -content_masks / -style_masks: one mask image per style image (white =
// where it applies), resized when their size differs, with a note; the
// settings carry them encoded, as a link does.
func TestCLIMasks(t *testing.T) {
	dir := t.TempDir()
	w := synthWeights(t)
	content, s1, s2 := filepath.Join(dir, "c.png"), filepath.Join(dir, "s1.png"), filepath.Join(dir, "s2.png")
	writePNG(t, content, 30, 20, 1)
	writePNG(t, s1, 16, 16, 7)
	writePNG(t, s2, 12, 16, 90)
	left, right, top := filepath.Join(dir, "left.png"), filepath.Join(dir, "right.png"), filepath.Join(dir, "top.png")
	writeMask(t, left, 15, 10, func(x, y int) bool { return x < 7 }) // another size than the content
	writeMask(t, right, 30, 20, func(x, y int) bool { return x >= 15 })
	writeMask(t, top, 16, 16, func(x, y int) bool { return y < 8 })
	base := []string{"-weights", w, "-content_image", content, "-style_image", s1 + "," + s2,
		"-image_size", "20", "-num_iterations", "3", "-style_layers", "conv1_1,conv2_1", "-content_layers", "conv2_1"}
	outs := map[string]string{}
	for _, c := range []struct {
		name string
		args []string
		note string
	}{
		{"plain", nil, ""},
		{"masked", []string{"-content_masks", left + "," + right, "-style_masks", top + ","}, "crema: content mask " + left + " is 15×10, the content image 30×20: resized to it"},
		{"swapped", []string{"-content_masks", left + "," + right, "-region_styles", "2,1"}, ""},
	} {
		out := filepath.Join(dir, c.name+".png")
		code, _, stderr := runCLI(append(append([]string{}, base...), append(c.args, "-output_image", out)...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		if c.note != "" && !strings.Contains(stderr, c.note+"\n") {
			t.Errorf("%s: stderr lacks %q:\n%s", c.name, c.note, stderr)
		}
		if strings.Contains(stderr, "right.png is") || strings.Contains(stderr, "top.png is") {
			t.Errorf("%s: a note for a mask of the right size:\n%s", c.name, stderr)
		}
		outs[c.name] = string(decodePNG(t, out).(*image.RGBA).Pix)
	}
	if outs["masked"] == outs["plain"] || outs["masked"] == outs["swapped"] {
		t.Error("the masks changed nothing")
	}

	// The flags give the settings the encoded masks (what a link carries).
	c := newCommon("crema", os.Stderr, "out.png")
	if err := c.parse([]string{"-content_image", content, "-content_masks", left + "," + right, "-style_masks", "," + top, "-image_size", "8"}); err != nil {
		t.Fatal(err)
	}
	if len(c.settings.ContentMasks) != 2 || !slices.Equal(c.settings.StyleMasks[:1], []string{""}) {
		t.Fatalf("settings %q %q", c.settings.ContentMasks, c.settings.StyleMasks)
	}
	m, err := transfer.ParseMask(c.settings.ContentMasks[1])
	if err != nil || m.Bounds().Dx() != 8 || m.Bounds().Dy() != 5 {
		t.Fatalf("the 30×20 mask at -image_size 8: %v %v", m.Bounds(), err)
	}
	// An encoded mask (a link's) is taken as it is.
	c2 := newCommon("crema", os.Stderr, "out.png")
	if err := c2.parse([]string{"-content_image", content, "-content_masks", c.settings.ContentMasks[0]}); err != nil || c2.settings.ContentMasks[0] != c.settings.ContentMasks[0] {
		t.Fatalf("encoded mask: %v", err)
	}
}

func TestCLIMaskErrors(t *testing.T) {
	dir := t.TempDir()
	w := synthWeights(t)
	content := filepath.Join(dir, "c.png")
	writePNG(t, content, 20, 20, 1)
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not really a png"), 0o644)
	black, half := filepath.Join(dir, "black.png"), filepath.Join(dir, "half.png")
	writeMask(t, black, 8, 8, func(x, y int) bool { return false })
	writeMask(t, half, 8, 8, func(x, y int) bool { return x < 4 })
	base := []string{"-weights", w, "-content_image", content, "-style_image", content, "-image_size", "16", "-num_iterations", "1",
		"-style_layers", "conv1_1", "-content_layers", "conv1_2", "-output_image", filepath.Join(dir, "out.png")}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-content_masks", text}, 2, "crema: content mask: " + text + ": not an image crema can read (want PNG, JPEG or GIF)"},
		{[]string{"-content_masks", filepath.Join(dir, "nope.png")}, 2, "crema: content mask: " + filepath.Join(dir, "nope.png") + ": no such file or directory"},
		{[]string{"-style_masks", text}, 2, "crema: style mask: " + text + ": not an image crema can read (want PNG, JPEG or GIF)"},
		{[]string{"-content_masks", black}, 2, "crema: content mask " + black + " is black everywhere (an empty region)"},
		{[]string{"-content_masks", half + "," + half}, 1, "crema: 2 content_masks for 1 style images (one mask per style image, or region_styles to say which style each region takes)"},
		{[]string{"-content_masks", half, "-style_cost", "swd"}, 1, "crema: swd cannot be guided: "},
		{[]string{"-content_masks", half, "-region_styles", "1,1"}, 1, "crema: 2 region_styles for 1 content_masks"},
	} {
		code, _, stderr := runCLI(append(append([]string{}, base...), c.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != c.code || !strings.HasPrefix(lines[len(lines)-1], c.want) {
			t.Errorf("%v:\n exit %d, stderr %q\n want %d, %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// crema explore: the style, the noise and each layer alone in the first
// row, the cumulative sets in the second; layers the weights lack (here
// conv3_1 and deeper) are grey cells, not runs.
func TestExploreGrid(t *testing.T) {
	dir := t.TempDir()
	w := synthWeights(t) // conv1_1 … conv2_1
	style := filepath.Join(dir, "s.png")
	writePNG(t, style, 24, 16, 5)
	out := filepath.Join(dir, "explore.png")
	code, stdout, stderr := runCLI("explore", "-weights", w, "-style_image", style, "-image_size", "24", "-num_iterations", "3", "-output_image", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != out {
		t.Fatalf("stdout %q", stdout)
	}
	// Two runs: conv1_1 (alone = the first cumulative set) and conv2_1
	// alone, then conv1_1 + conv2_1: three.
	for _, want := range []string{"explore 1/3: conv1_1 (-style_layers conv1_1:1 -content_weight 0 -init random)",
		"explore 3/3: conv1_1 … conv2_1 (-style_layers conv1_1:0.5,conv2_1:0.5",
		"explore conv3_1: disabled: conv3_1 is not in the loaded weights (they hold conv1_1 … conv2_1)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	grid := decodePNG(t, out)
	if got, want := grid.Bounds().Dx(), 6*24+7*gridPad; got != want {
		t.Fatalf("grid width %d, want %d (six 24-px cells a row)", got, want)
	}
	cellAt := func(row, col int) image.Point { // a cell's top-left corner
		capLines := (grid.Bounds().Dy() - 3*gridPad - 2*(16+gridPad)) / lineHeight / 2
		return image.Pt(gridPad+col*(24+gridPad), gridPad+row*(16+gridPad+capLines*lineHeight+gridPad))
	}
	uniform := func(p image.Point) bool {
		first := grid.At(p.X, p.Y)
		for y := 0; y < 16; y++ {
			for x := 0; x < 24; x++ {
				if grid.At(p.X+x, p.Y+y) != first {
					return false
				}
			}
		}
		return true
	}
	grey := func(p image.Point) bool {
		r, g, b, _ := grid.At(p.X+23, p.Y+15).RGBA()
		return r == g && g == b && r>>8 == 0xd8
	}
	for row := 0; row < 2; row++ {
		for col := 1; col < 6; col++ {
			p := cellAt(row, col)
			deep := (row == 0 && col >= 3) || (row == 1 && col >= 3)
			if deep != grey(p) || (!deep && uniform(p)) {
				t.Errorf("row %d, cell %d: grey %v, uniform %v; want a disabled cell: %v", row, col, grey(p), uniform(p), deep)
			}
		}
	}
	// Refusals.
	if code, _, stderr := runCLI("explore", "-weights", w, "-output_image", out); code != 2 || !strings.Contains(stderr, "crema: missing -style_image") {
		t.Errorf("no style: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI("explore", "-weights", w, "-style_image", style, "-content_image", style, "-output_image", out); code != 2 || !strings.Contains(stderr, "crema: -content_image: crema explore takes no content image") {
		t.Errorf("content: exit %d, %s", code, stderr)
	}
}

// Captions break after a space, "key=" or "name:", inside a word only when
// it is longer than a line.
func TestWrap(t *testing.T) {
	for _, c := range []struct {
		text string
		n    int
		want []string
	}{
		{"disabled: not in the loaded weights (they hold conv1_1 ... conv3_4)", 17,
			[]string{"disabled: not in", "the loaded", "weights (they", "hold conv1_1 ...", "conv3_4)"}},
		{"style_layers=conv1_1:0.8", 10, []string{"style_laye", "rs=", "conv1_1:", "0.8"}},
		{"short", 10, []string{"short"}},
	} {
		if got := wrap(c.text, c.n); !slices.Equal(got, c.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.text, c.n, got, c.want)
		}
	}
}
