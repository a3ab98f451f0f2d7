package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/weights"
)

// recorder collects what the worker posts.
type recorder struct {
	mu   sync.Mutex
	msgs []any
	got  chan any
}

func newRecorder() *recorder { return &recorder{got: make(chan any, 1000)} }

func (r *recorder) post(m any) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	r.got <- m
}

// waitFor returns the first message (from now on) that match accepts.
func (r *recorder) waitFor(t *testing.T, what string, match func(any) bool) any {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m := <-r.got:
			if match(m) {
				return m
			}
			if e, ok := m.(Error); ok && !strings.Contains(what, "error") {
				t.Fatalf("waiting for %s: got error %+v", what, e)
			}
		case <-timeout:
			t.Fatalf("no %s within 60 s", what)
		}
	}
}

func isType(typ string) func(any) bool {
	return func(m any) bool {
		b, _ := json.Marshal(m)
		var v struct{ Type string }
		json.Unmarshal(b, &v)
		return v.Type == typ
	}
}

// syntheticFiles writes random weights for conv1_1 … upTo and returns the
// manifest text and binary, as the page would fetch them.
func syntheticFiles(t *testing.T, upTo string) (string, []byte) {
	t.Helper()
	src := model.NewSynthetic(1, upTo)
	var named []weights.Named
	for _, c := range weights.VGG19 {
		for _, suffix := range []string{".weight", ".bias"} {
			if d, shape, ok := src.Tensor(c.Name + suffix); ok {
				named = append(named, weights.Named{Name: c.Name + suffix, Shape: shape, Data: d})
			}
		}
	}
	dir := t.TempDir()
	if err := weights.Write(dir, weights.Manifest{Source: "synthetic", License: "test", Preprocess: weights.Caffe}, named, false); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, weights.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(dir, weights.BinaryFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(js), bin
}

func rgbaImage(w, h int, seed byte) *Image {
	pix := make([]byte, w*h*4)
	for i := range pix {
		pix[i] = byte(i*7) + seed*31
		if i%4 == 3 {
			pix[i] = 255
		}
	}
	return &Image{Width: w, Height: h, Pixels: pix}
}

// readyWorker is a worker with the CPU backend, weights up to conv2_2 and
// images set.
func readyWorker(t *testing.T) (*worker, *recorder) {
	t.Helper()
	rec := newRecorder()
	w := newWorker(rec.post, func() {})
	w.handle(Inbound{Type: InInit, Backend: "cpu"})
	be := rec.waitFor(t, "backend", isType(OutBackend)).(BackendInfo)
	if be.Name != "cpu" || be.Fallback {
		t.Fatalf("backend = %+v, want cpu without fallback", be)
	}
	js, bin := syntheticFiles(t, "conv2_2")
	w.handle(Inbound{Type: InWeights, Manifest: js, Binary: bin})
	wi := rec.waitFor(t, "weights", isType(OutWeights)).(WeightsInfo)
	if strings.Join(wi.Layers, ",") != "conv1_1,conv1_2,conv2_1,conv2_2" {
		t.Fatalf("layers = %v", wi.Layers)
	}
	w.handle(Inbound{Type: InImages, Content: rgbaImage(20, 16, 1), Styles: []Image{*rgbaImage(16, 16, 2)}})
	im := rec.waitFor(t, "images", isType(OutImages)).(ImagesInfo)
	if im.Content != [2]int{20, 16} || len(im.Styles) != 1 {
		t.Fatalf("images = %+v", im)
	}
	return w, rec
}

const smallRun = `{"image_size":16,"num_iterations":%d,"content_layers":["conv1_2"],
	"style_layers":[{"layer":"conv1_1","weight":1},{"layer":"conv2_1","weight":1},{"layer":"conv3_1","weight":0}],
	"preview_every":1,"optimizer":"adam","learning_rate":0.05}`

func settingsJSON(iters int) json.RawMessage {
	return json.RawMessage(strings.Replace(smallRun, "%d", itoa(iters), 1))
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestRunReportsProgressPreviewsAndResult(t *testing.T) {
	w, rec := readyWorker(t)
	w.handle(Inbound{Type: InStart, ID: 7, Settings: settingsJSON(3)})
	st := rec.waitFor(t, "started", isType(OutStarted)).(SettingsInfo)
	if st.ID != 7 || st.Settings.ImageSize != 16 || st.Settings.Iterations != 3 || st.Settings.ContentWeight == 0 {
		t.Fatalf("started = %+v (want id 7, size 16, 3 iterations, defaults filled in)", st)
	}
	p := rec.waitFor(t, "progress", isType(OutProgress)).(ProgressMsg)
	if p.ID != 7 || p.Progress.Total <= 0 || len(p.Progress.Style) != 2 {
		t.Fatalf("progress = %+v (want id 7, a positive loss, two style layers)", p)
	}
	f := rec.waitFor(t, "preview", isType(OutPreview)).(Frame)
	if f.Width != 16 || f.Height != 13 || len(f.Pixels) != 16*13*4 {
		t.Fatalf("preview %d×%d with %d bytes, want 16×13 with %d", f.Width, f.Height, len(f.Pixels), 16*13*4)
	}
	d := rec.waitFor(t, "done", isType(OutDone)).(Frame)
	if d.ID != 7 || d.Iter != 3 || d.Stopped || len(d.Pixels) != 16*13*4 {
		t.Fatalf("done = id %d iter %d stopped %v, %d bytes", d.ID, d.Iter, d.Stopped, len(d.Pixels))
	}
	if w.busy() {
		t.Fatal("worker still busy after done")
	}
}

func TestPauseResumeStop(t *testing.T) {
	w, rec := readyWorker(t)
	w.handle(Inbound{Type: InStart, ID: 1, Settings: settingsJSON(1000)})
	rec.waitFor(t, "progress", isType(OutProgress))
	w.handle(Inbound{Type: InPause})
	rec.waitFor(t, "paused", isType(OutPaused))
	// While paused, at most the iteration in flight reports.
	time.Sleep(100 * time.Millisecond)
	n := len(rec.got)
	time.Sleep(200 * time.Millisecond)
	if len(rec.got) != n {
		t.Fatalf("progress kept coming while paused (%d → %d messages)", n, len(rec.got))
	}
	w.handle(Inbound{Type: InResume})
	rec.waitFor(t, "resumed", isType(OutResumed))
	rec.waitFor(t, "progress after resume", isType(OutProgress))
	// A second start is refused while running.
	w.handle(Inbound{Type: InStart, ID: 2, Settings: settingsJSON(3)})
	e := rec.waitFor(t, "start error", isType(OutError)).(Error)
	if e.Stage != InStart || !strings.Contains(e.Message, "already in progress") {
		t.Fatalf("second start: %+v", e)
	}
	w.handle(Inbound{Type: InPause})
	rec.waitFor(t, "paused", isType(OutPaused))
	w.handle(Inbound{Type: InStop}) // stopping a paused run works too
	d := rec.waitFor(t, "done", isType(OutDone)).(Frame)
	if !d.Stopped || d.ID != 1 || len(d.Pixels) != d.Width*d.Height*4 || d.Iter >= 1000 {
		t.Fatalf("done after stop: id %d stopped %v iter %d", d.ID, d.Stopped, d.Iter)
	}
}

func TestErrorsNameTheProblem(t *testing.T) {
	rec := newRecorder()
	w := newWorker(rec.post, func() {})
	cases := []struct {
		in   Inbound
		want string
	}{
		{Inbound{Type: InStart, ID: 3}, "no weights loaded yet"},
		{Inbound{Type: "bogus"}, `unknown message type "bogus"`},
		{Inbound{Type: InStop}, "no run in progress"},
		{Inbound{Type: InImages, Content: &Image{Width: 4, Height: 4, Pixels: make([]byte, 10)}, Styles: []Image{*rgbaImage(2, 2, 0)}}, "content image is 4×4 but has 10 bytes, want 64"},
		{Inbound{Type: InImages, Content: rgbaImage(2, 2, 0)}, "no style image"},
		{Inbound{Type: InInit, Backend: "tpu"}, `unknown backend "tpu"`},
	}
	for _, c := range cases {
		w.handle(c.in)
		e := rec.waitFor(t, "error", isType(OutError)).(Error)
		if !strings.Contains(e.Message, c.want) || e.ID != c.in.ID {
			t.Errorf("%s: error %+v, want one containing %q", c.in.Type, e, c.want)
		}
	}
	// A corrupted binary fails its SHA-256 check.
	js, bin := syntheticFiles(t, "conv1_2")
	bin[100] ^= 0xff
	w.handle(Inbound{Type: InWeights, Manifest: js, Binary: bin})
	e := rec.waitFor(t, "weights error", isType(OutError)).(Error)
	if e.Stage != InWeights || !strings.Contains(e.Message, "SHA-256") {
		t.Fatalf("corrupt weights: %+v", e)
	}
}

func TestLayersMissingFromWeightsAreExplained(t *testing.T) {
	w, rec := readyWorker(t)
	un := unavailable(w.net)
	if len(un) != 12 {
		t.Fatalf("%d unavailable layers, want 12 (conv3_1 … conv5_4): %v", len(un), un)
	}
	if want := "conv3_1 is not in the loaded weights (they hold conv1_1 … conv2_2)"; !strings.Contains(un["conv3_1"], want) {
		t.Errorf("conv3_1: %q, want it to contain %q", un["conv3_1"], want)
	}
	if !strings.Contains(un["conv5_1"], "make weights") {
		t.Errorf("conv5_1: %q does not say how to get the weights", un["conv5_1"])
	}
	// Settings that use a missing layer are refused before a run starts.
	w.handle(Inbound{Type: InSettings, Settings: json.RawMessage(`{"image_size":16,"style_layers":[{"layer":"conv4_1","weight":1}],"content_layers":["conv1_2"]}`)})
	si := rec.waitFor(t, "settings", isType(OutSettings)).(SettingsInfo)
	if !strings.Contains(si.Error, "conv4_1") || si.Settings.ImageSize != 16 {
		t.Fatalf("settings answer %+v, want an error naming conv4_1", si)
	}
}

func TestUnavailableWithAGap(t *testing.T) {
	// Weights with conv1_1 … conv1_2 and conv3_1 but not conv2_x: conv3_1
	// is loaded but cannot be computed.
	src := model.NewSynthetic(1, "conv3_1")
	net, err := model.New(newCPU(), gapSource{src})
	if err != nil {
		t.Fatal(err)
	}
	un := unavailable(net)
	if want := "conv3_1 needs conv2_1, which is not in the loaded weights"; !strings.Contains(un["conv3_1"], want) {
		t.Fatalf("conv3_1: %q, want %q", un["conv3_1"], want)
	}
}

type gapSource struct{ *model.Synthetic }

func (g gapSource) Tensor(name string) ([]float32, []int, bool) {
	if strings.HasPrefix(name, "conv2_") {
		return nil, nil, false
	}
	return g.Synthetic.Tensor(name)
}

func TestGate(t *testing.T) {
	var g gate
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Wait(ctx); err != nil {
		t.Fatalf("open gate: %v", err)
	}
	if !g.Pause() || g.Pause() || !g.Paused() {
		t.Fatal("Pause: want true, then false, and Paused")
	}
	done := make(chan error)
	go func() { done <- g.Wait(ctx) }()
	select {
	case <-done:
		t.Fatal("Wait returned while paused")
	case <-time.After(20 * time.Millisecond):
	}
	if !g.Resume() || g.Resume() {
		t.Fatal("Resume: want true, then false")
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait after resume: %v", err)
	}
	g.Pause()
	go func() { done <- g.Wait(ctx) }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
	}
}

func TestQueueKeepsOrder(t *testing.T) {
	q := newQueue()
	for i := range 5 {
		q.push(Inbound{Type: "m", ID: i})
	}
	for i := range 5 {
		if m := q.pop(); m.ID != i {
			t.Fatalf("pop %d: got id %d", i, m.ID)
		}
	}
	go q.push(Inbound{ID: 9})
	if m := q.pop(); m.ID != 9 {
		t.Fatalf("pop after waiting: id %d", m.ID)
	}
}

func TestReadyListsPresetsAndDefaults(t *testing.T) {
	r := ready("go-test")
	if r.Defaults.ImageSize != 256 || r.Defaults.PreviewEvery != 5 || len(r.Defaults.StyleLayers) != 5 {
		t.Fatalf("defaults %+v: want 256 px, a preview every 5, five style layers spelt out", r.Defaults)
	}
	for _, p := range []string{"even", "early", "late"} {
		if len(r.Presets[p]) != 5 {
			t.Errorf("preset %s: %v", p, r.Presets[p])
		}
	}
	if strings.Join(r.StyleLayers, ",") != "conv1_1,conv2_1,conv3_1,conv4_1,conv5_1" || len(r.ContentLayers) != 16 {
		t.Fatalf("layers: %v / %v", r.StyleLayers, r.ContentLayers)
	}
	s, err := decodeSettings(json.RawMessage(`{"num_iterations":7}`))
	if err != nil || s.Iterations != 7 || s.ImageSize != 256 {
		t.Fatalf("decodeSettings = %+v, %v", s, err)
	}
	if _, err := decodeSettings(json.RawMessage(`{"num_iterations":"x"}`)); err == nil || !strings.Contains(err.Error(), "bad settings") {
		t.Fatalf("bad JSON: %v", err)
	}
}

func newCPU() kernels.Backend { return kernels.NewCPU(1) }
