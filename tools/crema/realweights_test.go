package main

import (
	"context"
	"image"
	"path/filepath"
	"testing"

	"github.com/crema-app/crema/tools/internal/shared"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert"
)

// realWeights converts ../shared's Keras conv1_1 … conv3_4 weights into a
// temp dir and loads them.
// sampleImage is ../shared's sample image called name, decoded.
func sampleImage(t testing.TB, name string) image.Image {
	t.Helper()
	img, _, err := transfer.LoadImage(shared.Require(t, shared.Sample(name), "the sample images"))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// realRun is the real weights' network on the CPU (closed when t ends)
// and settings on its early layers (style conv1_1, conv2_1, conv3_1;
// content conv3_2) at size, for iters iterations.
func realRun(t *testing.T, size, iters int) (kernels.Backend, *model.Net, transfer.Settings) {
	t.Helper()
	b := kernels.Checked(cpu.New(0))
	net, err := model.New(b, realWeights(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	s := transfer.Defaults()
	s.ImageSize, s.Iterations = size, iters
	s.StyleLayers, _ = transfer.ParseLayers("conv1_1,conv2_1,conv3_1")
	s.ContentLayers = []string{"conv3_2"}
	return b, net, s
}

func realWeights(t testing.TB) *weights.Weights {
	t.Helper()
	src := shared.Require(t, shared.Weights(), "the real VGG-19 weights")
	dir := t.TempDir()
	if _, err := convert.Convert(src, dir, convert.Options{}); err != nil {
		t.Fatal(err)
	}
	w, err := weights.Load(filepath.Join(dir, weights.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRealWeightsTransfer is the check with the real weights: style
// layers conv1_1, conv2_1, conv3_1 and content conv3_2, chelsea.png with
// coffee.png's style. The 128-px run is the README picture (made by
// the CLI); here 64 px and 20 L-BFGS iterations keep the test short on two
// shared cores.
func TestRealWeightsTransfer(t *testing.T) {
	load := func(name string) image.Image { return sampleImage(t, name) }
	b, net, s := realRun(t, 64, 20)
	var first, last transfer.Progress
	img, err := transfer.Run(context.Background(), b, net, transfer.Job{
		Content: load("chelsea.png"), Styles: []image.Image{load("coffee.png")}, Settings: s,
	}, transfer.Hooks{Progress: func(p transfer.Progress) {
		if p.Iter == 0 {
			first = p
		}
		last = p
	}})
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 64 || img.Bounds().Dy() != 43 {
		t.Fatalf("output %v, want 64×43", img.Bounds())
	}
	sum := func(p transfer.Progress) float64 {
		var v float64
		for _, x := range p.Style {
			v += x
		}
		return v
	}
	if last.Iter != 20 {
		t.Fatalf("stopped at iteration %d (%s)", last.Iter, last.Note)
	}
	ratio := sum(first) / sum(last)
	t.Logf("style loss %.4g → %.4g (÷%.1f), content %.4g, total %.4g → %.4g", sum(first), sum(last), ratio, last.Content, first.Total, last.Total)
	for _, l := range []string{"conv1_1", "conv2_1", "conv3_1"} {
		if !(last.Style[l] < first.Style[l]/3) {
			t.Errorf("%s style loss %g → %g: want it down at least 3×", l, first.Style[l], last.Style[l])
		}
	}
	if ratio < 10 {
		t.Fatalf("style loss fell only %.1f× in 20 iterations, want ≥ 10×", ratio)
	}
}
