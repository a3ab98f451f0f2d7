package session

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

func testImage(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*17) + seed, uint8(y*23) ^ seed, uint8(x+y) * seed, 255})
		}
	}
	return img
}

// Outside a browser "webgpu" falls back to the CPU and says why; "auto"
// does the same; an unknown backend is an error and keeps nothing.
func TestBackendChoice(t *testing.T) {
	s, err := New("webgpu")
	if err != nil {
		t.Fatal(err)
	}
	b := s.Backend()
	if b.Name != "cpu" || !b.Fallback || b.Requested != "webgpu" || !strings.Contains(b.Reason, "only available in a browser") {
		t.Errorf("webgpu natively: %+v", b)
	}
	if err := s.SetBackend("tpu"); err == nil || !strings.Contains(err.Error(), `unknown backend "tpu"`) {
		t.Errorf("tpu: %v", err)
	}
	if s.Backend().Name != "cpu" {
		t.Errorf("a failed SetBackend changed the backend: %+v", s.Backend())
	}
	if _, err := s.Run(context.Background(), transfer.Job{}, transfer.Hooks{}); err == nil || err.Error() != "session: no weights loaded yet" {
		t.Errorf("run without weights: %v", err)
	}
}

// Weights move with the backend, and the session says what they hold.
func TestWeightsFollowTheBackend(t *testing.T) {
	s, err := New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(model.NewSynthetic(1, "conv2_2")); err != nil {
		t.Fatal(err)
	}
	w := s.Weights()
	if strings.Join(w.Layers, ",") != "conv1_1,conv1_2,conv2_1,conv2_2" || w.Source != model.SyntheticSource || len(w.Unavailable) != 12 ||
		w.Unavailable["conv3_1"] != "conv3_1 is not in the loaded weights (they hold conv1_1 … conv2_2)" {
		t.Errorf("weights %+v", w)
	}
	if err := s.SetBackend("naive"); err != nil {
		t.Fatal(err)
	}
	if s.Net() == nil || s.Net().Backend().Name() != "naive" || !s.Net().Has("conv2_2") {
		t.Errorf("the network did not move to the naive backend")
	}
}

// "auto" that chose by measurement (or followed an earlier measurement) is
// no fallback: BackendInfo carries the choice, its reason and, on the CPU,
// which kind of kernel runs.
func TestBackendChoiceMeasured(t *testing.T) {
	times := []backends.Timing{{Name: "cpu", MS: 38}, {Name: "webgpu", MS: 412}}
	s, err := NewRemembered("auto", &backends.Choice{Name: "cpu", Times: times})
	if err != nil {
		t.Fatal(err)
	}
	b := s.Backend()
	if b.Name != "cpu" || b.Fallback || b.Requested != "auto" || b.Choice == nil || !b.Choice.Remembered ||
		b.Reason != "remembered from an earlier measurement on this device: CPU 38 ms, WebGPU 412 ms for one conv" {
		t.Errorf("auto, remembered cpu: %+v", b)
	}
	if want := cpu.New(0).Kernel(); b.Kernel != want {
		t.Errorf("kernel %q, want %q", b.Kernel, want)
	}
	// A measured choice, from a stand-in for backends.OpenWith.
	s.open = func(name string, remembered *backends.Choice) (backends.Opened, error) {
		return backends.Opened{Backend: kernels.Checked(cpu.New(1)), Choice: &backends.Choice{Name: "cpu", Times: times}}, nil
	}
	if err := s.SetBackend("auto,fault=slow"); err != nil {
		t.Fatal(err)
	}
	b = s.Backend()
	if b.Name != "cpu" || b.Fallback || b.Choice == nil || b.Choice.Remembered || b.Requested != "auto,fault=slow" ||
		b.Reason != "measured at start: CPU 38 ms, WebGPU 412 ms for one conv" {
		t.Errorf("auto, measured: %+v", b)
	}
}

// A GPU lost during a run: the run finishes on the CPU, the session keeps
// the CPU, and OnBackend is told why.
func TestRunFallsBackToTheCPU(t *testing.T) {
	open := func(name string) (kernels.Backend, string, error) {
		if name == "webgpu" {
			return &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 20}, "", nil
		}
		return backends.Open(name)
	}
	s, err := NewWith("webgpu", open)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(model.NewSynthetic(1, "conv1_2")); err != nil {
		t.Fatal(err)
	}
	var told []BackendInfo
	s.OnBackend = func(b BackendInfo) { told = append(told, b) }
	set := transfer.PageDefaults()
	for k, v := range map[string]string{"image_size": "12", "num_iterations": "25", "content_layers": "conv1_2",
		"style_layers": "conv1_1:1", "optimizer": "adam", "learning_rate": "0.05"} {
		if err := set.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	last := 0
	img, err := s.Run(context.Background(), transfer.Job{Content: testImage(12, 12, 1), Styles: []image.Image{testImage(12, 12, 2)}, Settings: set},
		transfer.Hooks{Progress: func(p transfer.Progress) { last = p.Iter }})
	if err != nil || img == nil || last != 25 {
		t.Fatalf("run: %v, last iteration %d", err, last)
	}
	if len(told) != 1 || told[0].Name != "cpu" || !told[0].Fallback ||
		told[0].Reason != "the GPU device was lost during the run: webgpu: queue: kernels: GPU device lost" {
		t.Fatalf("OnBackend got %+v", told)
	}
	if s.Backend().Name != "cpu" || s.Net().Backend().Name() != "cpu" {
		t.Fatalf("after the fallback the session holds %+v", s.Backend())
	}
	if errors.Is(err, kernels.ErrDeviceLost) {
		t.Fatal("the loss leaked out of the run")
	}
}

// budgeted is a stand-in GPU with a memory budget (as webgpu.Backend has).
type budgeted struct {
	*kerneltest.Lossy
	total, per int64
}

func (b budgeted) Budget() (int64, int64) { return b.total, b.per }

func smallJob(t *testing.T, size, iters int) transfer.Job {
	t.Helper()
	set := transfer.PageDefaults()
	for k, v := range map[string]string{"image_size": fmt.Sprint(size), "num_iterations": fmt.Sprint(iters), "content_layers": "conv1_2",
		"style_layers": "conv1_1:1", "optimizer": "adam", "learning_rate": "0.05"} {
		if err := set.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return transfer.Job{Content: testImage(size, size, 1), Styles: []image.Image{testImage(size, size, 2)}, Settings: set}
}

// Every GPU error, not only a loss, ends on the CPU with the GPU's own
// words in the reason; a run the memory model cannot fit in the GPU's
// budget or its largest buffer (tiled or not) runs on the CPU from the
// start; weights the GPU cannot hold are loaded on the CPU.
func TestGPUFailuresEndOnTheCPU(t *testing.T) {
	src := model.NewSynthetic(1, "conv1_2")
	for _, c := range []struct {
		name   string
		gpu    func() kernels.Backend
		reason string
		atLoad bool
	}{
		{"validation error", func() kernels.Backend {
			return &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 20, Err: &kernels.DeviceError{Msg: "webgpu: validation error: a test"}}
		}, "the GPU failed during the run: webgpu: validation error: a test", false},
		{"over the budget", func() kernels.Backend {
			return budgeted{&kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 1 << 30}, 1 << 20, 1 << 30}
		}, "the run does not fit in the GPU's memory: transfer: a 24×24 image needs ", false},
		{"over the largest buffer", func() kernels.Backend {
			return budgeted{&kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 1 << 30}, 1 << 30, 4 << 10}
		}, "the run does not fit in the GPU's memory: transfer: ", false},
		{"weights too big", func() kernels.Backend {
			return &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 1 << 30, MaxAlloc: 1000}
		}, "the GPU cannot hold the weights: model: uploading conv1_1: webgpu: cannot allocate 1728 floats: out of memory (test)", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			open := func(name string) (kernels.Backend, string, error) {
				if name == "webgpu" {
					return c.gpu(), "", nil
				}
				return backends.Open(name)
			}
			s, err := NewWith("webgpu", open)
			if err != nil {
				t.Fatal(err)
			}
			var told []BackendInfo
			s.OnBackend = func(b BackendInfo) { told = append(told, b) }
			if err := s.Load(src); err != nil {
				t.Fatal(err)
			}
			if c.atLoad != (len(told) == 1) {
				t.Fatalf("after Load, OnBackend got %+v", told)
			}
			job := smallJob(t, 24, 25)
			img, err := s.Run(context.Background(), job, transfer.Hooks{})
			if err != nil || img == nil {
				t.Fatalf("run: %v", err)
			}
			if len(told) != 1 || told[0].Name != "cpu" || !told[0].Fallback || !strings.HasPrefix(told[0].Reason, c.reason) {
				t.Fatalf("OnBackend got %+v, want the CPU because %q", told, c.reason)
			}
			if s.Backend().Name != "cpu" || s.Net().Backend().Name() != "cpu" {
				t.Fatalf("the session holds %+v", s.Backend())
			}
		})
	}
}

// peakCounter forwards to a backend and counts the bytes it allocates.
type peakCounter struct {
	kernels.Backend
	live, peak, largest int64
	sizes               map[kernels.Tensor]int64
}

func (p *peakCounter) Alloc(n int) (kernels.Tensor, error) {
	t, err := p.Backend.Alloc(n)
	if err == nil {
		p.sizes[t] = 4 * int64(n)
		p.live += 4 * int64(n)
		p.peak, p.largest = max(p.peak, p.live), max(p.largest, 4*int64(n))
	}
	return t, err
}

func (p *peakCounter) Free(t kernels.Tensor) {
	p.live -= p.sizes[t]
	delete(p.sizes, t)
	p.Backend.Free(t)
}

// EstimateBytes is exactly the peak a real run allocates, whatever the
// optimiser, statistic, cost or schedule; and it grows with the image.
func TestEstimateBytesIsTheRunsPeak(t *testing.T) {
	src := model.NewSynthetic(1, "conv2_1")
	var last int64
	for _, kv := range []map[string]string{
		{"optimizer": "lbfgs"},
		{"optimizer": "adam", "style_stat": "cov"},
		{"optimizer": "adam", "style_cost": "swd", "image_size": "40"},
		{"optimizer": "lbfgs", "coarse_to_fine": "true", "image_size": "48"},
	} {
		job := smallJob(t, 32, 3)
		for k, v := range map[string]string{"style_layers": "conv1_1:0.5,conv2_1:0.5", "content_layers": "conv2_1"} {
			if err := job.Settings.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range kv {
			if err := job.Settings.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		est, err := EstimateBytes(src, job)
		if err != nil {
			t.Fatal(err)
		}
		pc := &peakCounter{Backend: kernels.Checked(cpu.New(1)), sizes: map[kernels.Tensor]int64{}}
		net, err := model.New(pc, src)
		if err != nil {
			t.Fatal(err)
		}
		weights := pc.live
		pc.largest = 0 // the run's own tensors
		if _, err := transfer.Run(context.Background(), pc, net, job, transfer.Hooks{}); err != nil {
			t.Fatal(err)
		}
		if est.Weights != weights || est.Run != pc.peak-weights || est.Largest != pc.largest {
			t.Errorf("%v: estimate %+v, measured weights %d, run %d, largest %d", kv, est, weights, pc.peak-weights, pc.largest)
		}
		if est.GPU <= 0 {
			t.Errorf("%v: no GPU scratch estimated (flipped weights at least)", kv)
		}
		if kv["image_size"] == "" {
			last = est.Run
		}
	}
	small, err := EstimateBytes(src, smallJob(t, 16, 3))
	if err != nil {
		t.Fatal(err)
	}
	big, err := EstimateBytes(src, smallJob(t, 64, 3))
	if err != nil {
		t.Fatal(err)
	}
	if !(big.Run > 8*small.Run) || last == 0 {
		t.Errorf("16 px: %+v, 64 px: %+v: want the run's memory to grow with the pixels", small, big)
	}
}
