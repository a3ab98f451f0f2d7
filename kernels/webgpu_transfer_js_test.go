//go:build js

package kernels_test

import (
	"context"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

// gradientImage is a w×h test picture with smooth colour ramps.
func gradientImage(w, h int, seed float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			f := func(v float64) uint8 { return uint8(int(v*37) % 256) }
			img.Set(x, y, color.RGBA{f(float64(x)*0.4*seed + 1), f(float64(y)*0.3 + seed), f(float64(x+y) * 0.2 * seed), 255})
		}
	}
	return img
}

// TestWebGPUDeviceLostRunContinuesOnCPU destroys the GPU device in the
// middle of a style transfer: the run switches to the CPU backend through
// its Fallback hook, says so in a Progress note, and finishes.
func TestWebGPUDeviceLostRunContinuesOnCPU(t *testing.T) {
	gpu := openGPU(t)
	src := model.NewSynthetic(1, "conv2_1")
	net, err := model.New(gpu, src)
	if err != nil {
		t.Fatal(err)
	}
	s := transfer.Defaults()
	s.ImageSize = 20
	s.Iterations = 25
	s.Optimizer = "adam"
	s.ContentLayers = []string{"conv2_1"}
	s.StyleLayers = []transfer.LayerWeight{{Layer: "conv1_1", Weight: 0.5}, {Layer: "conv2_1", Weight: 0.5}}

	const lostAt = 14
	var iters []int
	var notes []string
	fellBack := false
	hooks := transfer.Hooks{
		Progress: func(p transfer.Progress) {
			iters = append(iters, p.Iter)
			if p.Note != "" {
				notes = append(notes, p.Note)
			}
			if p.Iter == lostAt && !fellBack {
				kernels.DestroyDevice(gpu)
			}
		},
		Fallback: func() (kernels.Backend, *model.Net, error) {
			fellBack = true
			cpu := kernels.NewCPU(0)
			cn, err := model.New(cpu, src)
			return cpu, cn, err
		},
	}
	job := transfer.Job{Content: gradientImage(20, 16, 1), Styles: []image.Image{gradientImage(16, 16, 3)}, Settings: s}
	img, err := transfer.Run(context.Background(), gpu, net, job, hooks)
	if err != nil {
		t.Fatalf("Run after a device loss: %v", err)
	}
	if !fellBack {
		t.Fatal("the Fallback hook was never called")
	}
	if got := img.Bounds().Size(); got != (image.Point{20, 16}) {
		t.Errorf("output %v, want 20×16", got)
	}
	if last := iters[len(iters)-1]; last != s.Iterations {
		t.Errorf("the run ended at iteration %d, want %d (progress %v)", last, s.Iterations, iters)
	}
	found := false
	for _, n := range notes {
		if strings.Contains(n, "GPU was lost") && strings.Contains(n, "cpu") {
			found = true
		}
	}
	if !found {
		t.Errorf("no progress note tells of the switch to the CPU; notes: %q", notes)
	}
}
