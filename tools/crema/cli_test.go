package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/weights"
)

// synthWeights writes random weights for conv1_1 … conv2_1 into a temp dir.
func synthWeights(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := model.NewSynthetic(3, "conv2_1")
	var named []weights.Named
	for _, spec := range weights.VGG19 {
		for _, part := range []string{".weight", ".bias"} {
			d, sh, ok := src.Tensor(spec.Name + part)
			if ok {
				named = append(named, weights.Named{Name: spec.Name + part, Shape: sh, Data: d})
			}
		}
	}
	m := weights.Manifest{Source: "synthetic (test)", License: "none", Preprocess: weights.Caffe}
	if err := weights.Write(dir, m, named, false); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, weights.ManifestFile)
}

func writePNG(t *testing.T, path string, w, h int, seed uint8) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*13) + seed, uint8(y*29) ^ seed, uint8(x*y) + 3*seed, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = cli(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestCLIRunWritesImageAndLog(t *testing.T) {
	dir := t.TempDir()
	w := synthWeights(t)
	content, style := filepath.Join(dir, "c.png"), filepath.Join(dir, "s.png")
	writePNG(t, content, 30, 20, 1)
	writePNG(t, style, 16, 16, 7)
	out, logf := filepath.Join(dir, "out.png"), filepath.Join(dir, "run.jsonl")
	code, stdout, stderr := runCLI("-weights", w, "-content_image", content, "-style_image", style,
		"-image_size", "20", "-num_iterations", "3", "-style_layers", "conv1_1:0.8,conv2_1:0.2",
		"-content_layers", "conv2_1", "-output_image", out, "-log", logf, "-print_iter", "1", "-save_iter", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != out {
		t.Fatalf("stdout %q, want the output path", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 20 || img.Bounds().Dy() != 13 {
		t.Fatalf("output %v %v", img.Bounds(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out_2.png")); err != nil {
		t.Fatalf("-save_iter 2: %v", err)
	}
	lf, _ := os.Open(logf)
	defer lf.Close()
	sc := bufio.NewScanner(lf)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %d: %v", n, err)
		}
		keys := []string{}
		for k := range m {
			keys = append(keys, k)
		}
		if !strings.HasPrefix(sc.Text(), `{"iter":`) || len(keys) != 5 || m["iter"].(float64) != float64(n) {
			t.Fatalf("log line %d = %s", n, sc.Text())
		}
		st := m["style"].(map[string]any)
		if len(st) != 2 || st["conv1_1"] == nil || st["conv2_1"] == nil {
			t.Fatalf("log line %d style %v", n, st)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d log lines, want 4 (iterations 0 … 3)", n)
	}
	if !strings.Contains(stderr, "3/3") {
		t.Fatalf("stderr has no progress: %s", stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	w := synthWeights(t)
	content := filepath.Join(dir, "c.png")
	writePNG(t, content, 20, 20, 1)
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not really a png"), 0o644)
	broken := filepath.Join(dir, "broken.png")
	data, _ := os.ReadFile(content)
	os.WriteFile(broken, data[:len(data)/2], 0o644)
	out := filepath.Join(dir, "keep.png")
	os.WriteFile(out, []byte("precious"), 0o644)
	base := []string{"-weights", w, "-image_size", "16", "-num_iterations", "1", "-output_image", out}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-style_image", content}, 2, "crema: missing -content_image"},
		{[]string{"-content_image", filepath.Join(dir, "nope.png"), "-style_image", content}, 1, "crema: content image: " + filepath.Join(dir, "nope.png") + ": no such file or directory"},
		{[]string{"-content_image", content, "-style_image", text}, 1, "crema: style image: " + text + ": not an image crema can read (want PNG, JPEG or GIF)"},
		{[]string{"-content_image", content, "-style_image", broken}, 1, "crema: style image: " + broken + ": corrupt png image: invalid format: not enough pixel data"},
		{[]string{"-content_image", content, "-style_image", content, "-style_layers", "conv9_1"}, 2, `crema: unknown style layer "conv9_1" (VGG-19 has conv1_1 … conv5_4, also called relu1_1 … relu5_4)`},
		{[]string{"-content_image", content, "-style_image", content, "-style_layers", "conv1_1,conv3_1", "-content_layers", "conv2_1"}, 1, "crema: style layer conv3_1 is not in the loaded weights (they hold conv1_1 … conv2_1)"},
		{[]string{"-content_image", content, "-style_image", content, "-style_layers", "conv1_1"}, 1, "crema: content layer conv4_2 is not in the loaded weights (they hold conv1_1 … conv2_1)"},
		{[]string{"-content_image", content, "-style_image", content, "-preset", "early", "-style_layers", "conv1_1"}, 2, "crema: give style_layers or preset, not both"},
		{[]string{"-content_image", content, "-style_image", content, "-init", "random", "-init_image", content}, 2, "crema: -init random contradicts -init_image " + content},
		{[]string{"-content_image", content, "-style_image", content, "-style_blend_weights", "1,2"}, 1, "crema: -style_blend_weights has 2 weights for 1 style images"},
		{[]string{"-content_image", content, "-style_image", content, "-style_cost", "swd", "-style_stat", "meanstd"}, 1, "crema: style_cost swd compares whole feature distributions and takes no style_stat (got meanstd; leave it gram)"},
		{[]string{"-content_image", content, "-style_image", content, "-image_size", "big"}, 2, `crema: -image_size: "big" is not a whole number`},
		{[]string{"-content_image", content, "-style_image", content, "-weights", filepath.Join(dir, "none.json"), "-style_layers", "conv1_1", "-content_layers", "conv1_2"}, 1, "crema: weights " + filepath.Join(dir, "none.json") + " not found: run `make weights` or pass -weights"},
		{[]string{"-content_image", content, "-style_image", content, "-output_image", filepath.Join(dir, "out.tiff")}, 2, "crema: -output_image " + filepath.Join(dir, "out.tiff") + ": want a .png, .jpg or .jpeg name"},
	} {
		args := append(append([]string{}, base...), c.args...)
		code, _, stderr := runCLI(args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != c.code || lines[len(lines)-1] != c.want {
			t.Errorf("%v:\n exit %d, stderr %q\n want %d, %q", c.args, code, stderr, c.code, c.want)
		}
	}
	if got, _ := os.ReadFile(out); string(got) != "precious" {
		t.Fatalf("an error damaged the existing output: %q", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".crema-*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestCLICancelSavesImage(t *testing.T) {
	dir := t.TempDir()
	w := synthWeights(t)
	content := filepath.Join(dir, "c.png")
	writePNG(t, content, 16, 16, 1)
	out := filepath.Join(dir, "out.png")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before the first update
	var o, e bytes.Buffer
	code := cli(ctx, []string{"-weights", w, "-content_image", content, "-style_image", content, "-image_size", "16",
		"-style_layers", "conv1_1", "-content_layers", "conv1_2", "-output_image", out}, &o, &e)
	if code != exitInterrupt || !strings.Contains(e.String(), "crema: interrupted at iteration 0; saved "+out) {
		t.Fatalf("exit %d, stderr %s", code, e.String())
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("no image saved on interrupt: %v", err)
	}
}

func TestParseVariants(t *testing.T) {
	v, err := parseVariants("preset=early; preset=late,style_stat=cov;style_layers=conv1_1:0.5,conv2_1:0.5,style_cost=swd")
	if err != nil {
		t.Fatal(err)
	}
	want := []variant{
		{[][2]string{{"preset", "early"}}},
		{[][2]string{{"preset", "late"}, {"style_stat", "cov"}}},
		{[][2]string{{"style_layers", "conv1_1:0.5,conv2_1:0.5"}, {"style_cost", "swd"}}},
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %v\nwant %v", v, want)
	}
	if _, err := parseVariants("early"); err == nil || err.Error() != `-settings: "early" is not key=value` {
		t.Fatalf("bad variant: %v", err)
	}
}

func TestCompareGrid(t *testing.T) {
	dir := t.TempDir()
	w := synthWeights(t)
	content, style := filepath.Join(dir, "c.png"), filepath.Join(dir, "s.png")
	writePNG(t, content, 24, 16, 1)
	writePNG(t, style, 16, 16, 5)
	out := filepath.Join(dir, "grid.png")
	code, _, stderr := runCLI("compare", "-weights", w, "-content_image", content, "-style_image", style,
		"-image_size", "24", "-num_iterations", "2", "-content_layers", "conv2_1",
		"-settings", "style_layers=conv1_1:0.8,conv2_1:0.2;style_layers=conv1_1,conv2_1,style_stat=meanstd", "-output_image", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, _ := os.Open(out)
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Four cells (content, style, two results) of 24×16 in one row, with
	// captions wrapped to 24/7 → 4 characters a line.
	if got := img.Bounds().Dx(); got != 4*24+5*gridPad {
		t.Fatalf("grid width %d, want %d", got, 4*24+5*gridPad)
	}
	code, _, stderr = runCLI("compare", "-weights", w, "-content_image", content, "-style_image", style, "-output_image", out,
		"-settings", "preset=early;preset=late")
	if code != 1 || !strings.HasSuffix(strings.TrimSpace(stderr), "\ncrema: preset=early: content layer conv4_2 is not in the loaded weights (they hold conv1_1 … conv2_1)") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
