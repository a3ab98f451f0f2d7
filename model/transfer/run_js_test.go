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

// gpuNet opens WebGPU and loads src's network on it (checked).
func gpuNet(t *testing.T, src model.WeightSource) (*webgpu.Backend, kernels.Backend, *model.Net) {
	t.Helper()
	g, err := webgpu.Open()
	if err != nil {
		t.Fatalf("webgpu.Open: %v", err)
	}
	gpu := kernels.Checked(g)
	net, err := model.New(gpu, src)
	if err != nil {
		t.Fatal(err)
	}
	return g, gpu, net
}

// TestWebGPUDeviceLostRunContinuesOnCPU destroys the GPU device in the
// middle of a style transfer (in the browser: make test-browser): the run
// switches to the CPU backend through its Fallback hook, says so in a
// Progress note, and finishes.
func TestWebGPUDeviceLostRunContinuesOnCPU(t *testing.T) {
	src := model.NewSynthetic(1, "conv2_1")
	_, gpu, net := gpuNet(t, src)
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

// TestWebGPUErrorRunContinuesOnCPU: an invalid batch in the middle of a
// run, and an allocation beyond the GPU's budget before the first
// iteration, each move the run to the CPU through its Fallback hook, with a
// note that gives the GPU's reason, and the run finishes.
func TestWebGPUErrorRunContinuesOnCPU(t *testing.T) {
	src := model.NewSynthetic(1, "conv2_1")
	for _, c := range []struct {
		name   string
		before func(g *webgpu.Backend, b kernels.Backend)
		during func(b kernels.Backend, p Progress)
		note   string
	}{
		{"invalid batch", nil, func(b kernels.Backend, p Progress) {
			if p.Iter == 12 {
				webgpu.InjectFault(b, webgpu.FaultValidation)
			}
		}, "(webgpu: validation error: "},
		{"out of memory", func(g *webgpu.Backend, b kernels.Backend) {
			webgpu.InjectFault(b, webgpu.FaultOutOfMemory) // the run's first buffer
		}, nil, "out of memory (injected by a test)); continuing on cpu from iteration 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, gpu, net := gpuNet(t, src)
			if c.before != nil {
				c.before(g, gpu)
			}
			s := smallSettings()
			s.Iterations = 25
			s.Optimizer = "adam"
			var notes []string
			last := -1
			fellBack := false
			hooks := Hooks{
				Progress: func(p Progress) {
					last = p.Iter
					if p.Note != "" {
						notes = append(notes, p.Note)
					}
					if c.during != nil && !fellBack {
						c.during(gpu, p)
					}
				},
				Fallback: func() (kernels.Backend, *model.Net, error) {
					fellBack = true
					b := kernels.Checked(cpu.New(0))
					n, err := model.New(b, src)
					return b, n, err
				},
			}
			job := Job{Content: testImage(20, 16, 1), Styles: []image.Image{testImage(16, 16, 3)}, Settings: s}
			img, err := Run(context.Background(), gpu, net, job, hooks)
			if err != nil || img == nil {
				t.Fatalf("Run: %v", err)
			}
			if !fellBack || last != s.Iterations {
				t.Fatalf("fell back %v, last iteration %d", fellBack, last)
			}
			all := strings.Join(notes, " | ")
			if !strings.Contains(all, c.note) || !strings.Contains(all, "continuing on cpu from iteration") {
				t.Errorf("notes %q: want %q and the switch to the CPU", all, c.note)
			}
			t.Logf("notes: %s", all)
		})
	}
}
