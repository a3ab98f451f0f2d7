package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
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

// smallRun are a run's settings as the page sends them: text values over
// the page's defaults, in one stage (every preview at the full size).
func smallRun(iters int) map[string]string {
	return map[string]string{"image_size": "16", "num_iterations": strconv.Itoa(iters), "content_layers": "conv1_2",
		"style_layers": "conv1_1:1,conv2_1:1,conv3_1:0", "preview_every": "1", "optimizer": "adam", "learning_rate": "0.05",
		"coarse_to_fine": "0"}
}

func TestRunReportsProgressPreviewsAndResult(t *testing.T) {
	w, rec := readyWorker(t)
	w.handle(Inbound{Type: InStart, ID: 7, Values: smallRun(3)})
	st := rec.waitFor(t, "started", isType(OutStarted)).(SettingsInfo)
	if st.ID != 7 || st.Settings.ImageSize != 16 || st.Settings.Iterations != 3 || st.Settings.ContentWeight != 10 ||
		st.Values["num_iterations"] != "3" || st.Values["content_weight"] != "10" {
		t.Fatalf("started = %+v (want id 7, size 16, 3 iterations, the page's defaults filled in)", st)
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
	w.handle(Inbound{Type: InStart, ID: 1, Values: smallRun(1000)})
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
	w.handle(Inbound{Type: InStart, ID: 2, Values: smallRun(3)})
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
	un := weightsInfo(w.sess, 0).Unavailable
	if len(un) != 12 {
		t.Fatalf("%d unavailable layers, want 12 (conv3_1 … conv5_4): %v", len(un), un)
	}
	if want := "conv3_1 is not in the loaded weights (they hold conv1_1 … conv2_2)" + moreWeights; un["conv3_1"] != want {
		t.Errorf("conv3_1: %q, want %q", un["conv3_1"], want)
	}
	// Settings that use a missing layer are refused before a run starts.
	w.handle(Inbound{Type: InSettings, Values: map[string]string{"image_size": "16", "style_layers": "conv4_1:1", "content_layers": "conv1_2"}})
	si := rec.waitFor(t, "settings", isType(OutSettings)).(SettingsInfo)
	if si.Error != "transfer: style layer conv4_1 is not in the loaded weights (they hold conv1_1 … conv2_2)" || si.Settings.ImageSize != 16 || len(si.Refused) != 0 {
		t.Fatalf("settings answer %+v, want an error naming conv4_1", si)
	}
	// Values that do not parse are listed one by one and keep their defaults.
	w.handle(Inbound{Type: InSettings, Values: map[string]string{"image_size": "big", "style_stat": "hist", "num_iterations": "7", "colour": "1"}})
	si = rec.waitFor(t, "settings", isType(OutSettings)).(SettingsInfo)
	want := []transfer.FieldError{
		{Name: "colour", Value: "1", Message: `transfer: unknown setting "colour"`},
		{Name: "image_size", Value: "big", Message: `transfer: image_size: "big" is not a whole number`},
		{Name: "style_stat", Value: "hist", Message: `transfer: unknown style_stat "hist" (want gram, cov, meanstd or mmd)`},
	}
	if !reflect.DeepEqual(si.Refused, want) || si.Values["image_size"] != "256" || si.Values["num_iterations"] != "7" {
		t.Fatalf("refused %+v, values %v", si.Refused, si.Values)
	}
	// A start with a refused value does not start.
	w.handle(Inbound{Type: InStart, ID: 4, Values: map[string]string{"optimizer": "sgd"}})
	e := rec.waitFor(t, "start error", isType(OutError)).(Error)
	if e.Stage != InStart || e.ID != 4 || e.Message != `transfer: unknown optimizer "sgd" (want lbfgs or adam)` {
		t.Fatalf("start with bad settings: %+v", e)
	}
	// Settings that parse but cannot run fail the run, once, with Run's check.
	w.handle(Inbound{Type: InStart, ID: 5, Values: map[string]string{"content_weight": "0", "style_weight": "0"}})
	e = rec.waitFor(t, "run error", isType(OutError)).(Error)
	if e.Stage != "run" || e.ID != 5 || !strings.Contains(e.Message, "nothing to optimise") {
		t.Fatalf("start with settings that cannot run: %+v", e)
	}
}

func TestUnavailableWithAGap(t *testing.T) {
	// Weights with conv1_1 … conv1_2 and conv3_1 but not conv2_x: conv3_1
	// is loaded but cannot be computed.
	s, err := session.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(gapSource{model.NewSynthetic(1, "conv3_1")}); err != nil {
		t.Fatal(err)
	}
	un := weightsInfo(s, 0).Unavailable
	if want := "conv3_1 needs conv2_1, which is not in the loaded weights (they hold conv1_1 … conv3_1)" + moreWeights; un["conv3_1"] != want {
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

func TestReadyCarriesTheSchemaAndThePageDefaults(t *testing.T) {
	r := ready("go-test")
	if len(r.Schema) != len(transfer.Schema) || r.Defaults["image_size"] != "256" || r.Defaults["preview_every"] != "5" ||
		r.Defaults["style_layers"] != "conv1_1:0.2,conv2_1:0.2,conv3_1:0.2,conv4_1:0.2,conv5_1:0.2" || r.Defaults["preset"] != "" {
		t.Fatalf("ready: %d fields, defaults %v", len(r.Schema), r.Defaults)
	}
	if r.Settings.ImageSize != 256 || len(r.Settings.StyleLayers) != 5 {
		t.Fatalf("parsed defaults %+v", r.Settings)
	}
	for _, p := range []string{"even", "early", "late"} {
		if len(r.Presets[p]) != 5 {
			t.Errorf("preset %s: %v", p, r.Presets[p])
		}
	}
	if r.WeightsURL != "weights/pack-f16/vgg19.json" {
		t.Errorf("weights URL %q", r.WeightsURL)
	}
	// The schema reaches the page as JSON with everything a control needs.
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// image_size has no page cap of its own (the memory model's plan is
	// the page's limit): its control's max is the schema's 4096.
	for _, f := range r.Schema {
		if f.Name == "image_size" && (f.Max != 4096 || f.PageMax != 0) {
			t.Errorf("image_size reaches the page with max %g, page_max %g; want 4096 and none", f.Max, f.PageMax)
		}
	}
	for _, want := range []string{`"name":"image_size","kind":"int"`, `"page_max":4,`, `"choices":["gram","cov","meanstd","mmd"]`,
		`"page_choices":["conv1_1","conv2_1","conv3_1","conv4_1","conv5_1"]`, `"control":"buttons"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("ready JSON lacks %s", want)
		}
	}
}

// Every setting of the schema reaches the worker as the page's text and
// comes back in the settings answer (a preset comes back spelt out as
// style layers, which is how the page shows it).
func TestEverySettingRoundTripsThroughTheWorker(t *testing.T) {
	rec := newRecorder()
	w := newWorker(rec.post, func() {})
	for i := range transfer.Schema {
		f := &transfer.Schema[i]
		w.handle(Inbound{Type: InSettings, Values: map[string]string{f.Name: f.Example()}})
		si := rec.waitFor(t, "settings", isType(OutSettings)).(SettingsInfo)
		if len(si.Refused) > 0 {
			t.Errorf("%s=%s refused: %v", f.Name, f.Example(), si.Refused)
			continue
		}
		name, want := f.Name, f.Example()
		if name == "preset" {
			p, _ := transfer.Preset(want)
			name, want = "style_layers", transfer.FormatLayers(p)
		}
		if si.Values[name] != want {
			t.Errorf("%s=%s comes back as %s=%q", f.Name, f.Example(), name, si.Values[name])
		}
		if got, _ := si.Settings.Get(name); got != want {
			t.Errorf("%s: the parsed settings say %q", name, got)
		}
	}
}

// TestInitRemembered: init "auto" with the page's remembered choice (as
// JSON from the page) opens it without measuring, and the backend message
// carries the choice, marked remembered, its reason and the CPU's kernel.
func TestInitRemembered(t *testing.T) {
	var in Inbound
	msg := `{"type":"init","backend":"auto","remembered":{"name":"cpu","times":[{"name":"cpu","ms":38},{"name":"webgpu","ms":412}]}}`
	if err := json.Unmarshal([]byte(msg), &in); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	w := newWorker(rec.post, func() {})
	w.handle(in)
	be := rec.waitFor(t, "backend", isType(OutBackend)).(BackendInfo)
	if be.Name != "cpu" || be.Fallback || be.Choice == nil || !be.Choice.Remembered || be.Kernel == "" ||
		be.Reason != "remembered from an earlier measurement on this device: CPU 38 ms, WebGPU 412 ms for one conv" {
		t.Fatalf("backend = %+v, want the remembered CPU", be)
	}
	b, _ := json.Marshal(be)
	for _, field := range []string{`"choice":{"name":"cpu","times":[{"name":"cpu","ms":38},{"name":"webgpu","ms":412}],"remembered":true}`, `"kernel":"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("the backend message %s lacks %s", b, field)
		}
	}
}
