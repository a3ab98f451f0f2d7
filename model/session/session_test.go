package session

import (
	"context"
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
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
	if len(told) != 1 || told[0].Name != "cpu" || !told[0].Fallback || told[0].Reason != "the GPU device was lost during the run" {
		t.Fatalf("OnBackend got %+v", told)
	}
	if s.Backend().Name != "cpu" || s.Net().Backend().Name() != "cpu" {
		t.Fatalf("after the fallback the session holds %+v", s.Backend())
	}
	if errors.Is(err, kernels.ErrDeviceLost) {
		t.Fatal("the loss leaked out of the run")
	}
}
