package transfer

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Every field is complete, its defaults parse, and its example (what the
// CLI, worker and page tests set) is valid and differs from both defaults.
func TestSchemaFieldsAreComplete(t *testing.T) {
	seen := map[string]bool{}
	kinds := []Kind{Int, Float, Bool, Choice, Layers, LayerWeights, Floats, Masks, Regions}
	for i := range Schema {
		f := &Schema[i]
		if seen[f.Name] || f.Name == "" || f.Help == "" || f.Label == "" || f.Group == "" || !slices.Contains(kinds, f.Kind) {
			t.Errorf("field %+v: duplicate or incomplete", *f)
		}
		seen[f.Name] = true
		if (f.Kind == Choice || f.Kind == Layers || f.Kind == LayerWeights) && len(f.Choices) == 0 {
			t.Errorf("%s: a %s field without choices", f.Name, f.Kind)
		}
		for _, c := range f.PageChoices {
			if !slices.Contains(f.Choices, c) {
				t.Errorf("%s: the page offers %s, which the field refuses", f.Name, c)
			}
		}
		ex := f.Example()
		// A bool whose defaults differ (coarse_to_fine) has no third value:
		// its example differs from the CLI's default.
		if ex == f.CLI || ex == f.Page && !(f.Kind == Bool && f.CLI != f.Page) {
			t.Errorf("%s: example %q is a default", f.Name, ex)
		}
		for _, base := range []Settings{Defaults(), PageDefaults()} {
			if err := base.Set(f.Name, ex); err != nil {
				t.Errorf("%s: example %q: %v", f.Name, ex, err)
			}
			if got, _ := base.Get(f.Name); got != ex {
				t.Errorf("%s: Set(%q) then Get = %q", f.Name, ex, got)
			}
		}
	}
}

// Text → Settings → text and Settings → JSON → Settings are the identity
// for every field's example.
func TestSchemaRoundTrips(t *testing.T) {
	for i := range Schema {
		f := &Schema[i]
		s := PageDefaults()
		if errs := s.SetValues(map[string]string{f.Name: f.Example()}); len(errs) > 0 {
			t.Fatalf("%s: %v", f.Name, errs)
		}
		var back Settings
		if errs := back.SetValues(s.Values()); len(errs) > 0 {
			t.Fatalf("%s: values do not read back: %v", f.Name, errs)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%s: text round trip\n got %+v\nwant %+v", f.Name, back, s)
		}
		js, _ := json.Marshal(s)
		var fromJSON Settings
		if err := json.Unmarshal(js, &fromJSON); err != nil || !reflect.DeepEqual(fromJSON, s) {
			t.Errorf("%s: JSON round trip: %v\n got %+v\nwant %+v", f.Name, err, fromJSON, s)
		}
	}
}

func TestDefaults(t *testing.T) {
	d, p := Defaults(), PageDefaults()
	if d.ImageSize != 512 || d.Iterations != 500 || d.ContentWeight != 10 || d.StyleWeight != 40 || d.Preset != "even" ||
		d.StyleLayers != nil || !slices.Equal(d.ContentLayers, []string{"conv4_2"}) || d.Optimizer != "lbfgs" || d.PreviewEvery != 0 {
		t.Errorf("CLI defaults %+v", d)
	}
	if p.ImageSize != 256 || p.Iterations != 200 || p.PreviewEvery != 5 || p.Preset != "" || len(p.StyleLayers) != 5 {
		t.Errorf("page defaults %+v", p)
	}
	dl, _ := d.Layers()
	if !reflect.DeepEqual(dl, p.StyleLayers) {
		t.Errorf("the CLI's preset %v and the page's sliders %v differ", dl, p.StyleLayers)
	}
	if err := d.Validate(nil); err != nil {
		t.Errorf("CLI defaults do not validate: %v", err)
	}
	if err := p.Validate(nil); err != nil {
		t.Errorf("page defaults do not validate: %v", err)
	}
}

func TestSetValuesReportsEachRefusal(t *testing.T) {
	s := PageDefaults()
	errs := s.SetValues(map[string]string{"image_size": "9000", "tv_weight": "-1", "seed": "x", "num_iterations": "12", "preset": "late", "style_layers": "conv1_1"})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Name+": "+e.Message)
	}
	want := []string{
		"image_size: transfer: image_size 9000 is out of range (8 to 4096)",
		"preset: transfer: give style_layers or preset, not both",
		`seed: transfer: seed: "x" is not a whole number`,
		"tv_weight: transfer: tv_weight -1 is out of range (at least 0)",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("refusals:\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if s.ImageSize != 256 || s.TVWeight != 0 || s.Iterations != 12 || s.StyleLayers[0] != (LayerWeight{"conv1_1", 1}) {
		t.Errorf("refused values must keep their old value, others apply: %+v", s)
	}
}

// The layer lists follow model's naming: relu names are read as conv, a
// layer VGG-19 lacks (conv1_3) is refused, and the page's choices stop at
// the deepest layer its pack holds.
func TestLayerFields(t *testing.T) {
	s := Defaults()
	if err := s.Set("content_layers", "relu3_2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("style_layers", "conv1_3:1"); err == nil || err.Error() != `transfer: unknown style layer "conv1_3" (VGG-19 has conv1_1 … conv5_4, also called relu1_1 … relu5_4)` {
		t.Errorf("conv1_3: %v", err)
	}
	if err := s.Set("style_layers", "conv1_1,relu2_1"); err != nil || s.StyleLayers[1].Weight != 0.5 {
		t.Errorf("bare layers share 1: %v %+v", err, s.StyleLayers)
	}
	f, _ := Lookup("content_layers")
	if f.PageChoices[len(f.PageChoices)-1] != PageDeepest() || PageDeepest() != "conv5_1" {
		t.Errorf("page content layers %v, deepest %s", f.PageChoices, PageDeepest())
	}
}
