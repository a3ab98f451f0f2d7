package transfer

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/model"
)

// TestRunFallsBackOnGPUErrors: any GPU error, not only a lost device, moves
// the run to the fallback from its last snapshot, with a note that says
// what the GPU reported — a validation error in the middle of the run, or
// an allocation the GPU cannot make before the first iteration.
func TestRunFallsBackOnGPUErrors(t *testing.T) {
	for _, c := range []struct {
		name     string
		lossy    *kerneltest.Lossy
		maxAlloc int // set once the weights are in
		note     []string
	}{
		{"validation", &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 20,
			Err: &kernels.DeviceError{Msg: "webgpu: validation error: binding too small (test)"}}, 0,
			[]string{"the GPU failed at iteration ", " (webgpu: validation error: binding too small (test)); continuing on cpu from iteration 10"}},
		{"out of memory", &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 1 << 30}, 64*12*12 - 1,
			[]string{"the GPU failed at iteration 0 (transfer: activations for a 12×12 image: webgpu: cannot allocate 9216 floats: out of memory (test)); continuing on cpu from iteration 0", ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			net := syntheticNet(t, c.lossy, "conv1_2")
			c.lossy.MaxAlloc = c.maxAlloc
			s := smallSettings()
			s.ImageSize, s.Iterations = 12, 25
			s.ContentLayers = []string{"conv1_2"}
			s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
			s.Optimizer = "adam"
			b := kernels.Checked(cpu.New(1))
			var notes []string
			iters := map[int]bool{}
			fellBack := 0
			img, err := Run(context.Background(), c.lossy, net, Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: s},
				Hooks{
					Progress: func(p Progress) {
						iters[p.Iter] = true
						if p.Note != "" {
							notes = append(notes, p.Note)
						}
					},
					Fallback: func() (kernels.Backend, *model.Net, error) {
						fellBack++
						n, err := model.New(b, model.NewSynthetic(1, "conv1_2"))
						return b, n, err
					},
				})
			if err != nil || img == nil {
				t.Fatalf("Run: %v", err)
			}
			if fellBack != 1 {
				t.Fatalf("Fallback called %d times, want once", fellBack)
			}
			if all := strings.Join(notes, " | "); !strings.Contains(all, c.note[0]) || !strings.Contains(all, c.note[1]) {
				t.Fatalf("notes %q: want %q", all, c.note)
			}
			if !iters[25] {
				t.Fatal("the run did not reach iteration 25 after the fallback")
			}
		})
	}
	// A failure that is not the GPU's is returned, not fallen back from.
	lossy := &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 5, Err: errors.New("webgpu: a bug (test)")}
	net := syntheticNet(t, lossy, "conv1_2")
	s := smallSettings()
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	called := false
	_, err := Run(context.Background(), lossy, net, Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: s},
		Hooks{Fallback: func() (kernels.Backend, *model.Net, error) { called = true; return nil, nil, errors.New("unreachable") }})
	if err == nil || err.Error() != "webgpu: a bug (test)" || called {
		t.Fatalf("a non-GPU error: err %v, fallback called %v; want the error back and no fallback", err, called)
	}
}
