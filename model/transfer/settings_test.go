package transfer

import (
	"reflect"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

func TestParseLayers(t *testing.T) {
	got, err := ParseLayers("conv1_1:0.8, relu2_1:0.2")
	if err != nil {
		t.Fatal(err)
	}
	want := []LayerWeight{{"conv1_1", 0.8}, {"relu2_1", 0.2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got, _ = ParseLayers("conv1_1,conv2_1,conv3_1,conv4_1")
	for _, l := range got {
		if l.Weight != 0.25 {
			t.Fatalf("bare layers %v: want 0.25 each", got)
		}
	}
	if s := FormatLayers(want); s != "conv1_1:0.8,relu2_1:0.2" {
		t.Fatalf("FormatLayers = %q", s)
	}
	for spec, msg := range map[string]string{
		"conv1_1:x": `transfer: style layer conv1_1 has weight "x", not a number`,
		":0.5":      `transfer: style layer list ":0.5" has a weight without a layer`,
		" , ":       `transfer: style layer list " , " names no layer`,
	} {
		if _, err := ParseLayers(spec); err == nil || err.Error() != msg {
			t.Errorf("%q: error %v, want %q", spec, err, msg)
		}
	}
}

func TestPresets(t *testing.T) {
	early, _ := Preset("early")
	if !reflect.DeepEqual(early, []LayerWeight{{"conv1_1", 0.8}, {"conv2_1", 0.2}, {"conv3_1", 0}, {"conv4_1", 0}, {"conv5_1", 0}}) {
		t.Fatalf("early = %v", early)
	}
	late, _ := Preset("late")
	if late[3].Weight != 0.2 || late[4].Weight != 0.8 || late[0].Weight != 0 {
		t.Fatalf("late = %v", late)
	}
	even, _ := Defaults().Layers()
	for _, l := range even {
		if l.Weight != 0.2 {
			t.Fatalf("default layers %v, want even", even)
		}
	}
	if _, err := Preset("middle"); err == nil || err.Error() != `transfer: unknown preset "middle" (want even, early or late)` {
		t.Fatalf("unknown preset: %v", err)
	}
}

func TestSettingsSet(t *testing.T) {
	s := Defaults()
	for _, kv := range [][2]string{
		{"style_layers", "conv1_1:1"}, {"style_stat", "MMD"}, {"image_size", "64"}, {"original_colors", "1"},
		{"style_blend_weights", "1,3"}, {"content_layers", "conv3_2,conv2_2"}, {"seed", "-5"},
	} {
		if err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if s.StyleStat != "mmd" || s.ImageSize != 64 || !s.OriginalColors || len(s.StyleBlend) != 2 || s.Seed != -5 ||
		!reflect.DeepEqual(s.ContentLayers, []string{"conv3_2", "conv2_2"}) || s.StyleLayers[0] != (LayerWeight{"conv1_1", 1}) {
		t.Fatalf("settings %+v", s)
	}
	s.Set("preset", "late")
	if s.StyleLayers != nil || s.Preset != "late" {
		t.Fatalf("preset must replace style_layers: %+v", s)
	}
	for kv, msg := range map[[2]string]string{
		{"image_size", "big"}:      `transfer: image_size: "big" is not a whole number`,
		{"colour", "1"}:            `transfer: unknown setting "colour"`,
		{"original_colors", "yes"}: "",
		{"coarse_to_fine", "2"}:    `transfer: coarse_to_fine: "2" is not true or false`,
	} {
		err := s.Set(kv[0], kv[1])
		if (msg == "" && err != nil) || (msg != "" && (err == nil || err.Error() != msg)) {
			t.Errorf("%v: error %v, want %q", kv, err, msg)
		}
	}
}

func TestValidate(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	net := syntheticNet(t, b, "conv3_4")
	if err := Defaults().Validate(nil); err != nil {
		t.Fatalf("defaults without a net: %v", err)
	}
	ok := Defaults()
	ok.ContentLayers = []string{"relu3_2"}
	ok.Preset = "early" // conv3_1 … conv5_1 at weight 0 need no weights
	if err := ok.Validate(net); err != nil {
		t.Fatalf("early preset on conv1–3 weights: %v", err)
	}
	mod := func(f func(*Settings)) Settings { s := ok; f(&s); return s }
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Defaults(), "transfer: style layer conv4_1 is not in the loaded weights (they hold conv1_1 … conv3_4)"},
		{mod(func(s *Settings) { s.ContentLayers = []string{"conv4_2"} }), "transfer: content layer conv4_2 is not in the loaded weights (they hold conv1_1 … conv3_4)"},
		{mod(func(s *Settings) { s.StyleLayers = []LayerWeight{{"conv6_1", 1}} }), `transfer: unknown style layer "conv6_1" (VGG-19 has conv1_1 … conv5_4, also called relu1_1 … relu5_4)`},
		{mod(func(s *Settings) { s.StyleLayers = []LayerWeight{{"conv1_3", 1}} }), `transfer: unknown style layer "conv1_3" (VGG-19 has conv1_1 … conv5_4, also called relu1_1 … relu5_4)`},
		{mod(func(s *Settings) { s.StyleLayers = []LayerWeight{{"conv1_1", 1}, {"relu1_1", 1}} }), "transfer: style layer conv1_1 is listed twice"},
		{mod(func(s *Settings) { s.StyleLayers = []LayerWeight{{"conv1_1", -1}} }), "transfer: style layer conv1_1 has weight -1; weights must be finite and ≥ 0"},
		{mod(func(s *Settings) { s.StyleLayers = []LayerWeight{{"conv1_1", 0}} }), "transfer: style_weight is 40 but every style layer has weight 0"},
		{mod(func(s *Settings) { s.ContentWeight, s.StyleWeight = 0, 0 }), "transfer: content_weight, style_weight and tv_weight are all 0: nothing to optimise"},
		{mod(func(s *Settings) { s.StyleStat, s.StyleCost = "cov", "swd" }), "transfer: style_cost swd compares whole feature distributions and takes no style_stat (got cov; leave it gram)"},
		{mod(func(s *Settings) { s.StyleStat = "hist" }), `transfer: unknown style_stat "hist" (want gram, cov, meanstd or mmd)`},
		{mod(func(s *Settings) { s.Optimizer = "sgd" }), `transfer: unknown optimizer "sgd" (want lbfgs or adam)`},
		{mod(func(s *Settings) { s.Optimizer, s.LearningRate = "adam", -1 }), "transfer: learning_rate -1 is out of range (above 0)"},
		{mod(func(s *Settings) { s.Pooling = "min" }), `transfer: unknown pooling "min" (want max or avg)`},
		{mod(func(s *Settings) { s.Init = "noise" }), `transfer: unknown init "noise" (want image, random or given)`},
		{mod(func(s *Settings) { s.ImageSize = 5000 }), "transfer: image_size 5000 is out of range (8 to 4096)"},
		{mod(func(s *Settings) { s.StyleScale = -1 }), "transfer: style_scale -1 is out of range (above 0, at most 8)"},
		{mod(func(s *Settings) { s.Preset = "middle" }), `transfer: unknown preset "middle" (want even, early or late)`},
		{mod(func(s *Settings) { s.StyleBlend = []float64{1, 0} }), "transfer: style_blend_weights[1] 0 is out of range (above 0)"},
	} {
		err := c.s.Validate(net)
		if err == nil || err.Error() != c.want {
			t.Errorf("error %v\n want %q", err, c.want)
		}
	}
}
