package transfer

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/model"
)

// testImage is a smooth w×h pattern, different per seed.
func testImage(w, h int, seed float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			f := func(a float64) uint8 { return uint8(127.5 + 127*math.Sin(a)) }
			img.Set(x, y, color.RGBA{f(float64(x)*0.4*seed + 1), f(float64(y)*0.3 + seed), f(float64(x+y) * 0.2 * seed), 255})
		}
	}
	return img
}

func syntheticNet(t testing.TB, b kernels.Backend, upTo string) *model.Net {
	t.Helper()
	net, err := model.New(b, model.NewSynthetic(1, upTo))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func smallSettings() Settings {
	s := Defaults()
	s.ImageSize = 20
	s.Iterations = 8
	s.ContentLayers = []string{"conv2_1"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 0.5}, {"conv2_1", 0.5}}
	return s
}

type recorder struct{ p []Progress }

func (r *recorder) hook(p Progress) { r.p = append(r.p, p) }

func TestRunLowersStyleLoss(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	for _, opt := range []string{"lbfgs", "adam"} {
		s := smallSettings()
		s.Optimizer = opt
		var rec recorder
		img, err := Run(context.Background(), b, net, Job{Content: testImage(30, 20, 1), Styles: []image.Image{testImage(16, 16, 3)}, Settings: s}, Hooks{Progress: rec.hook})
		if err != nil {
			t.Fatalf("%s: %v", opt, err)
		}
		if got := img.Bounds().Size(); got != (image.Point{20, 13}) {
			t.Fatalf("%s: output %v, want 20×13", opt, got)
		}
		if len(rec.p) != s.Iterations+1 {
			t.Fatalf("%s: %d progress reports, want %d", opt, len(rec.p), s.Iterations+1)
		}
		for i, p := range rec.p {
			if p.Iter != i {
				t.Fatalf("%s: report %d has iter %d", opt, i, p.Iter)
			}
		}
		first, last := rec.p[0], rec.p[len(rec.p)-1]
		if !(last.Total < first.Total) || !(last.Style["conv1_1"] < first.Style["conv1_1"]) {
			t.Fatalf("%s: total %g → %g, conv1_1 style %g → %g: want both lower", opt, first.Total, last.Total, first.Style["conv1_1"], last.Style["conv1_1"])
		}
		t.Logf("%s: total %g → %g", opt, first.Total, last.Total)
	}
}

func TestRunEveryStatAndCost(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	for _, sc := range [][2]string{{"cov", "mse"}, {"meanstd", "mse"}, {"mmd", "mse"}, {"gram", "swd"}} {
		s := smallSettings()
		s.StyleStat, s.StyleCost = sc[0], sc[1]
		s.Iterations = 5
		s.ImageSize = 16
		var rec recorder
		_, err := Run(context.Background(), b, net, Job{Content: testImage(16, 16, 1), Styles: []image.Image{testImage(20, 12, 3), testImage(12, 12, 2)}, Settings: s}, Hooks{Progress: rec.hook})
		if err != nil {
			t.Fatalf("%v: %v", sc, err)
		}
		first, last := rec.p[0], rec.p[len(rec.p)-1]
		if !(last.Total < first.Total) {
			t.Errorf("%v: total %g → %g, want lower", sc, first.Total, last.Total)
		}
		if last.Iter != s.Iterations {
			t.Errorf("%v: stopped at iteration %d of %d (%s)", sc, last.Iter, s.Iterations, last.Note)
		}
	}
}

// TestRunReproducible: the same seed gives the same image, another seed
// (random init, swd directions) another one.
func TestRunReproducible(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv1_2")
	run := func(seed int64) *image.RGBA {
		s := smallSettings()
		s.ImageSize, s.Iterations = 12, 3
		s.ContentLayers = []string{"conv1_2"}
		s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
		s.Init, s.StyleCost, s.Seed = "random", "swd", seed
		img, err := Run(context.Background(), b, net, Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: s}, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	a, a2, c := run(7), run(7), run(8)
	if string(a.Pix) != string(a2.Pix) {
		t.Fatal("two runs with seed 7 differ")
	}
	if string(a.Pix) == string(c.Pix) {
		t.Fatal("seeds 7 and 8 give the same image")
	}
}

func TestRunCancelReturnsImage(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv1_2")
	ctx, cancel := context.WithCancel(context.Background())
	s := smallSettings()
	s.ImageSize, s.Iterations = 12, 50
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	last := -1
	img, err := Run(ctx, b, net, Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: s},
		Hooks{Progress: func(p Progress) {
			last = p.Iter
			if p.Iter == 3 {
				cancel()
			}
		}})
	if err != context.Canceled {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if img == nil || img.Bounds().Dx() != 12 || last != 3 {
		t.Fatalf("image %v, last iteration %d: want the 12-px image of iteration 3", img, last)
	}
}

// TestRunRollsBackOnDivergence: Adam with an absurd learning rate diverges;
// the run must roll back, say so, and still return a finite image.
func TestRunRollsBackOnDivergence(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv1_2")
	s := smallSettings()
	s.ImageSize, s.Iterations = 12, 6
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	s.Optimizer, s.LearningRate = "adam", 1e30
	var notes []string
	img, err := Run(context.Background(), b, net, Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: s},
		Hooks{Progress: func(p Progress) {
			if p.Note != "" {
				notes = append(notes, p.Note)
			}
			if !finiteF(p.Total) {
				t.Errorf("iteration %d reported loss %g", p.Iter, p.Total)
			}
		}})
	if err != nil || img == nil {
		t.Fatalf("Run: %v", err)
	}
	all := strings.Join(notes, " | ")
	if !strings.Contains(all, "rolled back to iteration 0 and halved Adam's learning rate") {
		t.Fatalf("notes %q: want a rollback note", all)
	}
}

func TestRunFallsBackWhenDeviceLost(t *testing.T) {
	lossy := &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 20}
	net := syntheticNet(t, lossy, "conv1_2")
	s := smallSettings()
	s.ImageSize, s.Iterations = 12, 25
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	s.Optimizer = "adam"
	var cpu kernels.Backend = kernels.Checked(cpu.New(1))
	var notes []string
	iters := map[int]bool{}
	img, err := Run(context.Background(), lossy, net, Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: s},
		Hooks{
			Progress: func(p Progress) {
				iters[p.Iter] = true
				if p.Note != "" {
					notes = append(notes, p.Note)
				}
			},
			Fallback: func() (kernels.Backend, *model.Net, error) {
				n, err := model.New(cpu, model.NewSynthetic(1, "conv1_2"))
				return cpu, n, err
			},
		})
	if err != nil || img == nil {
		t.Fatalf("Run: %v", err)
	}
	all := strings.Join(notes, " | ")
	if !strings.Contains(all, "the GPU was lost at iteration") || !strings.Contains(all, "continuing on cpu from iteration 10") {
		t.Fatalf("notes %q: want the device-loss note", all)
	}
	if !iters[25] {
		t.Fatal("the run did not reach iteration 25 after the fallback")
	}
	// Without a fallback the error comes back.
	lossy2 := &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 20}
	net2 := syntheticNet(t, lossy2, "conv1_2")
	if _, err := Run(context.Background(), lossy2, net2, Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: s}, Hooks{}); !errors.Is(err, kernels.ErrDeviceLost) {
		t.Fatalf("without a fallback: %v, want ErrDeviceLost", err)
	}
}

// TestRunOriginalColors: the output keeps the content's chroma (I and Q of
// YIQ) wherever it is not clipped.
func TestRunOriginalColors(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv1_2")
	s := smallSettings()
	s.ImageSize, s.Iterations = 12, 4
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	s.OriginalColors = true
	content := testImage(12, 12, 1)
	img, err := Run(context.Background(), b, net, Job{Content: content, Styles: []image.Image{testImage(12, 12, 2)}, Settings: s}, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	want, got := yiq(planar(content)), yiq(planar(img))
	n := 144
	checked := 0
	for i := 0; i < n; i++ {
		o := planar(img)
		clipped := false
		for c := 0; c < 3; c++ {
			if v := o[c*n+i]; v <= 0.01 || v >= 0.99 {
				clipped = true
			}
		}
		if clipped {
			continue
		}
		checked++
		for c := 1; c < 3; c++ {
			if d := math.Abs(float64(got[c*n+i] - want[c*n+i])); d > 0.02 {
				t.Fatalf("pixel %d: chroma %d is %g, content's %g", i, c, got[c*n+i], want[c*n+i])
			}
		}
	}
	if checked < n/4 {
		t.Fatalf("only %d unclipped pixels", checked)
	}
}

// coarseSettings are coarse-to-fine settings on conv1_1 and conv1_2 at size.
func coarseSettings(size, iters int) Settings {
	s := smallSettings()
	s.ImageSize, s.Iterations = size, iters
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	s.CoarseToFine = true
	return s
}

// coarseJob is a w×h content and a 12×12 style with coarse-to-fine
// settings at size for iters iterations.
func coarseJob(w, h, size, iters int) Job {
	return Job{Content: testImage(w, h, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: coarseSettings(size, iters)}
}

func TestRunCoarseToFine(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv1_2")
	progress, img := runRecorded(t, b, net, coarseJob(32, 16, 32, 6))
	if img.Bounds().Dx() != 32 || img.Bounds().Dy() != 16 {
		t.Fatalf("output %v, want 32×16", img.Bounds())
	}
	if len(progress) != 7 || progress[6].Iter != 6 || !strings.Contains(progress[4].Note, "coarse-to-fine: continuing at 32×16 from iteration 3") {
		t.Fatalf("progress %+v", progress)
	}
}

// Below 16 px the half size would be under the smallest image: a
// coarse-to-fine run (the page's default) is one stage at the full size.
func TestRunCoarseToFineSmallIsOneStage(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv1_2")
	job := coarseJob(12, 12, 12, 4)
	s := job.Settings
	progress, img := runRecorded(t, b, net, job)
	if img.Bounds().Dx() != 12 || len(progress) != 5 {
		t.Fatalf("output %v with %d progress reports, want 12×12 with 5", img.Bounds(), len(progress))
	}
	for _, p := range progress {
		if strings.Contains(p.Note, "coarse-to-fine") {
			t.Fatalf("a second stage at 12 px: %+v", p)
		}
	}
	plan, err := PlanRun(b, net, s, ShapeOf(job))
	if err != nil || len(plan.Stages) != 1 {
		t.Fatalf("the memory model plans %+v (%v), want one stage", plan.Stages, err)
	}
	// A half size too small to pool down to the deepest layer: conv3_1
	// needs 4 px, and the 24×12 image's half is 12×6 (two stages), the
	// 24×6 image's 12×3 (one).
	deep := syntheticNet(t, b, "conv3_1")
	s.ImageSize, s.StyleLayers = 24, []LayerWeight{{"conv3_1", 1}}
	for _, c := range []struct{ h, stages int }{{12, 2}, {6, 1}} {
		job := Job{Content: testImage(24, c.h, 1), Styles: []image.Image{testImage(24, 24, 2)}, Settings: s}
		plan, err := PlanRun(b, deep, s, ShapeOf(job))
		if err != nil || len(plan.Stages) != c.stages {
			t.Errorf("24×%d: the memory model plans %+v (%v), want %d stages", c.h, plan.Stages, err, c.stages)
		}
		if _, err := Run(context.Background(), b, deep, job, Hooks{}); err != nil {
			t.Errorf("24×%d: %v", c.h, err)
		}
	}
}

func TestRunJobErrors(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	net := syntheticNet(t, b, "conv1_2")
	s := smallSettings()
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	img := testImage(8, 8, 1)
	for _, c := range []struct {
		job  Job
		want string
	}{
		{Job{Styles: []image.Image{img}}, "transfer: no content image"},
		{Job{Content: img}, "transfer: no style image"},
		{Job{Content: img, Styles: []image.Image{img}, Settings: func() Settings { s := s; s.StyleBlend = []float64{1, 2}; return s }()}, "transfer: 2 style_blend_weights for 1 style images"},
		{Job{Content: img, Styles: []image.Image{img}, Settings: func() Settings { s := s; s.Init = "given"; return s }()}, "transfer: init is given but there is no init image"},
		{Job{Content: img, Styles: []image.Image{img}, Settings: func() Settings { s := s; s.StyleLayers = []LayerWeight{{"conv2_1", 1}}; return s }()}, "transfer: style layer conv2_1 is not in the loaded weights (they hold conv1_1 … conv1_2)"},
	} {
		if c.job.Settings.ImageSize == 0 {
			c.job.Settings = s
		}
		_, err := Run(context.Background(), b, net, c.job, Hooks{})
		if err == nil || err.Error() != c.want {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
