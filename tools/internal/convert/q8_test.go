package convert

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/shared"
)

// What 8 bits cost, on the real weights conv1_1 … conv3_4 in ../shared:
// the relative error of every layer's features (chelsea at 64 px) against
// float32, and the losses of a 10-step run (chelsea in coffee's style) under
// the 8-bit weights against float32's on the same images, which must stay
// within 1 % at every step. float16 is measured beside it. The figures are
// logged (go test -v -run TestQuantisationError ./tools/internal/convert)
// and, with CREMA_Q8_REPORT=FILE, written as BENCHMARKS.md's table rows;
// CREMA_Q8_PAIR=content.png,style.png measures another pair of ../shared's
// samples.
func TestQuantisationError(t *testing.T) {
	src := shared.Require(t, shared.Weights(), "the real VGG-19 weights")
	res, err := Read(src, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	load := func(name string) image.Image {
		img, _, err := transfer.LoadImage(shared.Require(t, shared.Sample(name), "the sample images"))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	content, style := load("chelsea.png"), load("coffee.png")
	if pair := os.Getenv("CREMA_Q8_PAIR"); pair != "" { // content,style: other samples of ../shared
		c, s, _ := strings.Cut(pair, ",")
		content, style = load(c), load(s)
	}
	b := kernels.Checked(cpu.New(0))

	nets := map[weights.Encoding]*model.Net{}
	sizes := map[weights.Encoding]int64{}
	for _, enc := range []weights.Encoding{weights.Float32, weights.Float16, weights.Int8} {
		m, bin, err := weights.Encode(weights.Manifest{Source: "shared", License: "test", Preprocess: *res.Preprocess}, res.Tensors, enc)
		if err != nil {
			t.Fatal(err)
		}
		w, err := weights.Parse(mustJSON(t, m), bin)
		if err != nil {
			t.Fatal(err)
		}
		net, err := model.New(b, w)
		if err != nil {
			t.Fatal(err)
		}
		defer net.Close()
		nets[enc], sizes[enc] = net, m.Size
	}
	t.Logf("binary sizes (conv1_1 … conv3_4): float32 %d, float16 %d, int8 %d bytes", sizes[weights.Float32], sizes[weights.Float16], sizes[weights.Int8])

	// Features: relative L2 error per layer.
	layers := nets[weights.Float32].Layers()
	feats := map[weights.Encoding]map[string][]float32{}
	for enc, net := range nets {
		feats[enc] = features(t, b, net, content, 64, layers)
	}
	var report strings.Builder
	fmt.Fprintf(&report, "| layer | float16 | 8-bit |\n|---|---|---|\n")
	for _, l := range layers {
		e16 := relErr(feats[weights.Float16][l], feats[weights.Float32][l])
		e8 := relErr(feats[weights.Int8][l], feats[weights.Float32][l])
		t.Logf("%s: relative feature error float16 %.2e, int8 %.2e", l, e16, e8)
		fmt.Fprintf(&report, "| %s | %.1e | %.1e |\n", l, e16, e8)
		if e8 > 0.05 {
			t.Errorf("%s: int8 features are %.1f %% off float32's", l, 100*e8)
		}
	}

	// A 10-step run. Its losses under the 8-bit weights against float32's
	// on the same images (the float32 run's image after each step), which
	// must stay within 1 % at every step; and, for the record, the losses of
	// separate runs on each encoding, whose paths part (L-BFGS's line
	// search and Adam's sign-like first steps amplify any difference, so
	// that float16's part too).
	settings := func(opt string, iters int) transfer.Settings {
		s := transfer.Defaults()
		s.ImageSize, s.Iterations, s.Optimizer = 64, iters, opt
		s.StyleLayers, _ = transfer.ParseLayers("conv1_1,conv2_1,conv3_1")
		s.ContentLayers = []string{"conv3_2"}
		return s
	}
	run := func(enc weights.Encoding, opt string) (losses []float64, images []image.Image) {
		s := settings(opt, 10)
		s.PreviewEvery = 1
		images = []image.Image{content}
		_, err := transfer.Run(context.Background(), b, nets[enc], transfer.Job{Content: content, Styles: []image.Image{style}, Settings: s},
			transfer.Hooks{
				Progress: func(p transfer.Progress) { losses = append(losses, p.Total) },
				Preview:  func(_ int, img *image.RGBA) { images = append(images, img) },
			})
		if err != nil {
			t.Fatal(err)
		}
		if len(losses) != 11 || len(images) != 11 {
			t.Fatalf("%v %s: %d losses, %d images for 10 steps", enc, opt, len(losses), len(images))
		}
		return losses, images
	}
	lossOf := func(enc weights.Encoding, img image.Image) float64 {
		s := settings("lbfgs", 0)
		s.Init = "given"
		var loss float64
		_, err := transfer.Run(context.Background(), b, nets[enc], transfer.Job{Content: content, Styles: []image.Image{style}, Init: img, Settings: s},
			transfer.Hooks{Progress: func(p transfer.Progress) { loss = p.Total }})
		if err != nil {
			t.Fatal(err)
		}
		return loss
	}
	dev := func(a, ref float64) float64 { return math.Abs(a-ref) / math.Abs(ref) }

	// CREMA_Q8_REPORT also measures float16 and the separate runs (a
	// minute more on two cores).
	reportFile := os.Getenv("CREMA_Q8_REPORT")
	encs := []weights.Encoding{weights.Int8}
	if reportFile != "" {
		encs = []weights.Encoding{weights.Float16, weights.Int8}
	}
	ref, images := run(weights.Float32, "lbfgs")
	along := map[weights.Encoding]float64{}
	for i, img := range images {
		f32 := lossOf(weights.Float32, img)
		for _, enc := range encs {
			d := dev(lossOf(enc, img), f32)
			along[enc] = max(along[enc], d)
			if d >= 0.01 {
				t.Errorf("%v, the float32 run's image after step %d: loss %.2f %% off float32's (the limit is 1 %%)", enc, i, 100*d)
			}
		}
	}
	for _, enc := range encs {
		t.Logf("loss on the float32 run's images (10 L-BFGS steps), largest deviation: %v %.3f %%", enc, 100*along[enc])
	}
	fmt.Fprintf(&report, "| loss on the same images, 10 steps: largest deviation | %.3f %% | %.3f %% |\n", 100*along[weights.Float16], 100*along[weights.Int8])

	if reportFile == "" {
		return
	}
	for _, opt := range []string{"lbfgs", "adam"} {
		base := ref
		if opt != "lbfgs" {
			base, _ = run(weights.Float32, opt)
		}
		worst := map[weights.Encoding]float64{}
		first := map[weights.Encoding]float64{}
		for _, enc := range []weights.Encoding{weights.Float16, weights.Int8} {
			got, _ := run(enc, opt)
			first[enc] = dev(got[0], base[0])
			for i := range base {
				worst[enc] = max(worst[enc], dev(got[i], base[i]))
			}
		}
		t.Logf("separate 10-step %s runs: first loss off by float16 %.3f %%, int8 %.3f %%; largest deviation float16 %.3f %%, int8 %.3f %%",
			opt, 100*first[weights.Float16], 100*first[weights.Int8], 100*worst[weights.Float16], 100*worst[weights.Int8])
		fmt.Fprintf(&report, "| separate %s runs, 10 steps: largest deviation | %.3f %% | %.3f %% |\n", opt, 100*worst[weights.Float16], 100*worst[weights.Int8])
	}
	if err := os.WriteFile(reportFile, []byte(report.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, m weights.Manifest) []byte {
	t.Helper()
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// features runs img (its long side scaled to size) through net and returns
// each layer's activation.
func features(t *testing.T, b kernels.Backend, net *model.Net, img image.Image, size int, layers []string) map[string][]float32 {
	t.Helper()
	w, h := transfer.FitSize(img.Bounds().Dx(), img.Bounds().Dy(), size)
	rgba := transfer.Resize(img, w, h)
	rgb := make([]float32, 3*w*h)
	for y := range h {
		for x := range w {
			o := rgba.PixOffset(x, y)
			for c := range 3 {
				rgb[c*w*h+y*w+x] = float32(rgba.Pix[o+c]) / 255
			}
		}
	}
	in := make([]float32, len(rgb))
	model.ToInput(in, rgb, net.Preprocess())
	x, err := b.Alloc(len(in))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free(x)
	b.Write(x, in)
	p, err := net.NewPass(h, w, kernels.MaxPool, layers)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	p.Forward(x)
	out := map[string][]float32{}
	for _, l := range layers {
		f, s, err := p.Feature(l)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, s.Len())
		if err := b.Read(v, f); err != nil {
			t.Fatal(err)
		}
		out[l] = v
	}
	return out
}

// relErr is ‖a − ref‖ / ‖ref‖.
func relErr(a, ref []float32) float64 {
	var num, den float64
	for i := range ref {
		d := float64(a[i] - ref[i])
		num += d * d
		den += float64(ref[i]) * float64(ref[i])
	}
	return math.Sqrt(num / den)
}
