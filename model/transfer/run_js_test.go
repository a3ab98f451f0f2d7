package transfer

import (
	"context"
	"image"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/webgpu"
	"github.com/crema-app/crema/model"
)

// TestWebGPUDeviceLostRunContinuesOnCPU destroys the GPU device in the
// middle of a style transfer (in the browser: make test-browser): the run
// switches to the CPU backend through its Fallback hook, says so in a
// Progress note, and finishes.
func TestWebGPUDeviceLostRunContinuesOnCPU(t *testing.T) {
	g, err := webgpu.Open()
	if err != nil {
		t.Fatalf("webgpu.Open: %v", err)
	}
	gpu := kernels.Checked(g)
	src := model.NewSynthetic(1, "conv2_1")
	net, err := model.New(gpu, src)
	if err != nil {
		t.Fatal(err)
	}
	s := smallSettings()
	s.Iterations = 25
	s.Optimizer = "adam"

	const lostAt = 14
	var iters []int
	var notes []string
	fellBack := false
	hooks := Hooks{
		Progress: func(p Progress) {
			iters = append(iters, p.Iter)
			if p.Note != "" {
				notes = append(notes, p.Note)
			}
			if p.Iter == lostAt && !fellBack {
				webgpu.DestroyDevice(gpu)
			}
		},
		Fallback: func() (kernels.Backend, *model.Net, error) {
			fellBack = true
			c := kernels.Checked(cpu.New(0))
			cn, err := model.New(c, src)
			return c, cn, err
		},
	}
	job := Job{Content: testImage(20, 16, 1), Styles: []image.Image{testImage(16, 16, 3)}, Settings: s}
	img, err := Run(context.Background(), gpu, net, job, hooks)
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
