package session

import (
	"context"
	"fmt"
	"image"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/webgpu"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

// perIteration runs job on s and returns what one iteration sends to the
// GPU on average over iterations from … to (webgpu.Counters at their
// Progress reports).
func perIteration(t *testing.T, s *Session, job transfer.Job, from, to int) (dispatches, submits, reads float64) {
	t.Helper()
	at := map[int]webgpu.Stats{}
	if _, err := s.Run(context.Background(), job, transfer.Hooks{Progress: func(p transfer.Progress) {
		at[p.Iter] = webgpu.Counters(s.Net().Backend())
	}}); err != nil {
		t.Fatal(err)
	}
	a, b := at[from], at[to]
	if s.Backend().Name != "webgpu" || b.Dispatches == 0 {
		t.Fatalf("the run left the GPU: %+v", s.Backend())
	}
	n := float64(to - from)
	return float64(b.Dispatches-a.Dispatches) / n, float64(b.Submits-a.Submits) / n, float64(b.Reads-a.Reads) / n
}

// TestWebGPUDispatchesPerIteration counts what one iteration of the page's
// default settings (VGG-19 to conv5_1, Gram style on five layers, content
// conv4_2) sends to the GPU: compute dispatches, submitted batches and
// readbacks. An L-BFGS iteration with a full history (10 pairs) computes
// its 66 dot products with Dots — 11 batched dispatches and one to finish,
// instead of 132 — so it adds at most 40 dispatches to the evaluation an
// Adam iteration also makes (the direction's Fill and 21 Axpy, the new
// pair, the dots); it reads back twice (the losses, the dot products), in
// two batches.
func TestWebGPUDispatchesPerIteration(t *testing.T) {
	s, err := New("webgpu")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(model.NewSynthetic(1, "conv5_1")); err != nil {
		t.Fatal(err)
	}
	size := 16 // the counts barely depend on it (split-K adds a dispatch to a few small layers)
	var d [2]float64
	for i, c := range []struct {
		opt            string
		from, to       int
		submits, reads float64
	}{
		{"lbfgs", 12, 14, 2, 2}, // the history is full from iteration 11
		{"adam", 2, 4, 1, 1},
	} {
		set := transfer.PageDefaults()
		for k, v := range map[string]string{"image_size": fmt.Sprint(size), "num_iterations": fmt.Sprint(c.to), "optimizer": c.opt, "preview_every": "0"} {
			if err := set.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		job := transfer.Job{Content: testImage(size, size, 1), Styles: []image.Image{testImage(size, size, 2)}, Settings: set}
		var sub, r float64
		d[i], sub, r = perIteration(t, s, job, c.from, c.to)
		t.Logf("%s: per iteration: %.1f dispatches, %.1f submits, %.1f reads", c.opt, d[i], sub, r)
		if sub != c.submits || r != c.reads {
			t.Errorf("%s: %.1f submits and %.1f reads per iteration, want %.0f and %.0f", c.opt, sub, r, c.submits, c.reads)
		}
	}
	if d[0]-d[1] > 40 {
		t.Errorf("an L-BFGS iteration makes %.0f dispatches more than an Adam one, want at most 40", d[0]-d[1])
	}
}

// TestWebGPUErrorsEndOnTheCPU: a failing self-test at Open, an invalid
// batch in the middle of a run, and a run larger than the GPU's budget each
// end on the CPU, with the reason in BackendInfo (what the page shows) and
// the run completed.
func TestWebGPUErrorsEndOnTheCPU(t *testing.T) {
	s, err := New("auto,fault=selftest")
	if err != nil {
		t.Fatal(err)
	}
	if b := s.Backend(); b.Name != "cpu" || !b.Fallback || !strings.HasPrefix(b.Reason, "webgpu: self-test: ") {
		t.Errorf("a failing self-test: %+v, want the CPU because of the self-test", b)
	}

	src := model.NewSynthetic(1, "conv2_1")
	job := func(size int) transfer.Job {
		set := transfer.PageDefaults()
		for k, v := range map[string]string{"image_size": "16", "num_iterations": "12", "optimizer": "adam",
			"style_layers": "conv1_1:0.5,conv2_1:0.5", "content_layers": "conv2_1"} {
			if err := set.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		return transfer.Job{Content: testImage(size, size, 1), Styles: []image.Image{testImage(size, size, 2)}, Settings: set}
	}
	for _, c := range []struct {
		name   string
		before func(g *webgpu.Backend)               // after Load
		during func(s *Session, p transfer.Progress) // at each Progress
		reason string                                // its prefix
		note   string                                // in a Progress note
	}{
		{"invalid batch", nil, func(s *Session, p transfer.Progress) {
			if p.Iter == 4 && s.Backend().Name == "webgpu" {
				webgpu.InjectFault(s.Net().Backend(), webgpu.FaultValidation)
			}
		}, "the GPU failed during the run: webgpu: validation error: ", "continuing on cpu from iteration 0"},
		{"over the budget", func(g *webgpu.Backend) {
			g.SetBudget(1 << 20) // the weights (0.4 MiB) and little else, tiled or not
		}, nil, "the run does not fit in the GPU's memory: transfer: ", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New("webgpu")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Load(src); err != nil {
				t.Fatal(err)
			}
			if c.before != nil {
				c.before(unwrapGPU(t, s))
			}
			var told []BackendInfo
			s.OnBackend = func(b BackendInfo) { told = append(told, b) }
			var notes []string
			last := -1
			img, err := s.Run(context.Background(), job(16), transfer.Hooks{Progress: func(p transfer.Progress) {
				last = p.Iter
				if p.Note != "" {
					notes = append(notes, p.Note)
				}
				if c.during != nil {
					c.during(s, p)
				}
			}})
			if err != nil || img == nil || last != 12 {
				t.Fatalf("run: %v, last iteration %d", err, last)
			}
			if len(told) != 1 || told[0].Name != "cpu" || !told[0].Fallback || !strings.HasPrefix(told[0].Reason, c.reason) {
				t.Fatalf("OnBackend got %+v, want the CPU because %q…", told, c.reason)
			}
			if all := strings.Join(notes, " | "); !strings.Contains(all, c.note) {
				t.Errorf("notes %q lack %q", all, c.note)
			}
			t.Logf("reason: %s", told[0].Reason)
		})
	}
}

// unwrapGPU is the session's *webgpu.Backend.
func unwrapGPU(t *testing.T, s *Session) *webgpu.Backend {
	t.Helper()
	b := s.Net().Backend()
	for {
		u, ok := b.(interface{ Unwrap() kernels.Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	g, ok := b.(*webgpu.Backend)
	if !ok {
		t.Fatalf("the session's backend is %T", b)
	}
	return g
}
