package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/weights"
)

// streamFiles encodes synthetic weights for conv1_1 … upTo as enc and
// returns the manifest and binary.
func streamFiles(t *testing.T, upTo string, enc weights.Encoding) (weights.Manifest, string, []byte) {
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
	m, bin, err := weights.Encode(weights.Manifest{Source: "synthetic", License: "test", Preprocess: weights.Caffe}, named, enc)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(m)
	return m, string(js), bin
}

// layerEnd is the byte after layer's bias.
func layerEnd(m weights.Manifest, layer string) int {
	for _, ti := range m.Tensors {
		if ti.Name == layer+".bias" {
			return int(ti.Offset + ti.Length)
		}
	}
	panic(layer)
}

func streamingWorker(t *testing.T, upTo string, enc weights.Encoding) (*worker, *recorder, weights.Manifest, []byte) {
	t.Helper()
	rec := newRecorder()
	w := newWorker(rec.post, func() {})
	w.handle(Inbound{Type: InInit, Backend: "cpu"})
	rec.waitFor(t, "backend", isType(OutBackend))
	m, js, bin := streamFiles(t, upTo, enc)
	w.handle(Inbound{Type: InWeights, Manifest: js, Stream: true})
	wi := rec.waitFor(t, "weights", isType(OutWeights)).(WeightsInfo)
	if len(wi.Layers) != 0 || wi.Complete || wi.Size != m.Size || wi.Bytes != 0 || !slices.Equal(wi.Pending, m.Layers()) {
		t.Fatalf("first weights message %+v", wi)
	}
	w.handle(Inbound{Type: InImages, Content: rgbaImage(20, 16, 1), Styles: []Image{*rgbaImage(16, 16, 2)}})
	rec.waitFor(t, "images", isType(OutImages))
	return w, rec, m, bin
}

// A run that needs only early layers starts as soon as they are in, long
// before the rest of the binary; the download completes meanwhile and
// later runs use every layer.
func TestRunStartsBeforeTheDownloadEnds(t *testing.T) {
	for _, enc := range []weights.Encoding{weights.Float16, weights.Int8} {
		w, rec, m, bin := streamingWorker(t, "conv3_1", enc)
		early := smallRun(3) // conv1_1, conv2_1 for style, conv1_2 for content
		w.handle(Inbound{Type: InStart, ID: 1, Values: early})
		wt := rec.waitFor(t, "waiting", isType(OutWaiting)).(Waiting)
		if wt.ID != 1 || !slices.Equal(wt.Layers, []string{"conv1_1", "conv1_2", "conv2_1"}) || wt.Bytes != int64(layerEnd(m, "conv2_1")) {
			t.Fatalf("waiting %+v", wt)
		}
		// The first layers, in two pieces.
		cut := layerEnd(m, "conv2_1")
		w.handle(Inbound{Type: InPart, Binary: bin[:100]})
		w.handle(Inbound{Type: InPart, Binary: bin[100:cut]})
		wi := rec.waitFor(t, "weights", isType(OutWeights)).(WeightsInfo)
		if !slices.Equal(wi.Layers, []string{"conv1_1", "conv1_2", "conv2_1"}) || wi.Complete || wi.Bytes != cut {
			t.Fatalf("weights after %d bytes: %+v", cut, wi)
		}
		if st := rec.waitFor(t, "started", isType(OutStarted)).(SettingsInfo); st.ID != 1 {
			t.Fatalf("started %+v", st)
		}
		// The rest arrives during the run; the run goes on with its layers.
		w.handle(Inbound{Type: InPart, Binary: bin[cut:]})
		d := rec.waitFor(t, "done", isType(OutDone)).(Frame)
		if d.ID != 1 || d.Stopped || d.Iter != 3 {
			t.Fatalf("done %+v", d)
		}
		var last WeightsInfo
		for _, msg := range rec.msgs {
			if wi, ok := msg.(WeightsInfo); ok {
				last = wi
			}
		}
		if !last.Complete || !slices.Equal(last.Layers, m.Layers()) || len(last.Pending) != 0 || last.Bytes != len(bin) {
			t.Fatalf("last weights message %+v", last)
		}
		// A run on the deepest layer: the network now holds every layer.
		deep := smallRun(2)
		deep["style_layers"] = "conv3_1:1"
		w.handle(Inbound{Type: InStart, ID: 2, Values: deep})
		rec.waitFor(t, "started", isType(OutStarted))
		rec.waitFor(t, "done", isType(OutDone))
		if got := w.sess.Net().Layers(); !slices.Equal(got, m.Layers()) {
			t.Fatalf("network layers %v", got)
		}
	}
}

// During a download settings are checked against the manifest: a layer it
// lacks is an error (as with loaded weights), a layer on its way is not.
func TestSettingsDuringADownload(t *testing.T) {
	w, rec, m, bin := streamingWorker(t, "conv3_1", weights.Float16)
	ask := func(values map[string]string) SettingsInfo {
		w.handle(Inbound{Type: InSettings, Values: values})
		return rec.waitFor(t, "settings", isType(OutSettings)).(SettingsInfo)
	}
	si := ask(map[string]string{"style_layers": "conv4_1:1", "content_layers": "conv1_2"})
	if si.Error != "transfer: style layer conv4_1 is not in the loaded weights (they hold conv1_1 … conv3_1)" || si.Waiting != nil {
		t.Errorf("conv4_1: %q, waiting %v", si.Error, si.Waiting)
	}
	si = ask(map[string]string{"style_layers": "conv1_1:1,conv3_1:1", "content_layers": "conv1_2"})
	if si.Error != "" || !slices.Equal(si.Waiting, []string{"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"}) {
		t.Errorf("conv3_1: %q, waiting %v", si.Error, si.Waiting)
	}
	w.handle(Inbound{Type: InPart, Binary: bin[:layerEnd(m, "conv1_2")]})
	si = ask(map[string]string{"style_layers": "conv1_1:1", "content_layers": "conv1_2"})
	if si.Error != "" || si.Waiting != nil {
		t.Errorf("conv1_x after they arrived: %q, waiting %v", si.Error, si.Waiting)
	}
	// The layers the manifest lacks are explained as for loaded weights.
	wi := w.downloadInfo()
	s, err := session.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(model.NewSynthetic(1, "conv3_1")); err != nil {
		t.Fatal(err)
	}
	if want := weightsInfo(s, 0).Unavailable; !reflect.DeepEqual(wi.Unavailable, want) {
		t.Errorf("unavailable during the download:\n%v\nwant\n%v", wi.Unavailable, want)
	}
	// A start that cannot run on the manifest's layers fails as a run does.
	w.handle(Inbound{Type: InStart, ID: 5, Values: map[string]string{"style_layers": "conv5_1:1"}})
	e := rec.waitFor(t, "run error", isType(OutError)).(Error)
	if e.Stage != "run" || e.ID != 5 || !strings.Contains(e.Message, "conv5_1 is not in the loaded weights (they hold conv1_1 … conv3_1)") {
		t.Errorf("start on a missing layer: %+v", e)
	}
}

// Stop ends a waiting start; a damaged download ends it with an error.
func TestWaitingStartStopsAndFails(t *testing.T) {
	w, rec, m, bin := streamingWorker(t, "conv2_1", weights.Float16)
	w.handle(Inbound{Type: InStart, ID: 3, Values: smallRun(2)})
	rec.waitFor(t, "waiting", isType(OutWaiting))
	w.handle(Inbound{Type: InStart, ID: 4, Values: smallRun(2)})
	if e := rec.waitFor(t, "start error", isType(OutError)).(Error); !strings.Contains(e.Message, "already in progress") {
		t.Errorf("second start while waiting: %+v", e)
	}
	w.handle(Inbound{Type: InStop})
	if d := rec.waitFor(t, "done", isType(OutDone)).(Frame); d.ID != 3 || !d.Stopped || len(d.Pixels) != 0 {
		t.Fatalf("stop while waiting: %+v", d)
	}

	w.handle(Inbound{Type: InStart, ID: 6, Values: smallRun(2)})
	rec.waitFor(t, "waiting", isType(OutWaiting))
	bad := slices.Clone(bin)
	bad[layerEnd(m, "conv1_1")+40] ^= 0xff // conv1_2.weight
	w.handle(Inbound{Type: InPart, Binary: bad})
	e := rec.waitFor(t, "weights error", func(x any) bool { e, ok := x.(Error); return ok && e.Stage == InWeights }).(Error)
	if !strings.HasPrefix(e.Message, "weights: binary vgg19.bin has SHA-256 ") || !strings.Contains(e.Message, "the file is corrupted") ||
		!strings.Contains(e.Message, "the first damaged tensor: conv1_2.weight") {
		t.Errorf("damaged download: %+v", e)
	}
	found := false
	for _, msg := range rec.msgs {
		if e, ok := msg.(Error); ok && e.ID == 6 && e.Stage == InStart && strings.Contains(e.Message, "the weights download failed") {
			found = true
		}
	}
	if !found {
		t.Errorf("the waiting start was not ended: %v", rec.msgs)
	}
	w.handle(Inbound{Type: InPart, Binary: bin[:10]})
	if e := rec.waitFor(t, "part error", isType(OutError)).(Error); !strings.Contains(e.Message, "weights_part without a weights download in progress") {
		t.Errorf("part after a failure: %+v", e)
	}
}
