package transfer

import (
	"reflect"
	"slices"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

func TestExploreTiles(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	net := syntheticNet(t, b, "conv3_4") // what ../shared's real weights hold
	base := Defaults()
	base.ImageSize, base.Iterations, base.StyleStat = 96, 40, "meanstd"
	base.ContentMasks = []string{exampleMask()}
	tiles := Explore(base, net.Why)
	var captions []string
	for _, tile := range tiles {
		captions = append(captions, tile.Caption)
	}
	want := []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1",
		"conv1_1", "conv1_1 … conv2_1", "conv1_1 … conv3_1", "conv1_1 … conv4_1", "conv1_1 … conv5_1"}
	if !slices.Equal(captions, want) {
		t.Fatalf("captions %q\nwant %q", captions, want)
	}
	for i, tile := range tiles {
		s := tile.Settings
		if s.ContentWeight != 0 || s.Init != "random" || s.ImageSize != 96 || s.Iterations != 40 || s.StyleStat != "meanstd" || s.ContentMasks != nil {
			t.Errorf("%s: settings %+v", tile.Caption, s)
		}
		var sum float64
		for j, l := range s.StyleLayers {
			if l.Layer != tile.Layers[j] || l.Weight != 1/float64(len(tile.Layers)) {
				t.Errorf("%s: style layers %v", tile.Caption, s.StyleLayers)
			}
			sum += l.Weight
		}
		if sum < 0.999 || sum > 1.001 || tile.Cumulative != (i >= 5) || len(tile.Layers) != map[bool]int{false: 1, true: i - 4}[tile.Cumulative] {
			t.Errorf("%s: layers %v, cumulative %v", tile.Caption, tile.Layers, tile.Cumulative)
		}
		var back Settings
		if errs := back.SetValues(tile.Values); len(errs) > 0 || !reflect.DeepEqual(back, s) {
			t.Errorf("%s: values do not read back: %v\n got %+v\nwant %+v", tile.Caption, errs, back, s)
		}
		// Layers the weights lack: disabled, with the weights' reason.
		deep := slices.Contains(tile.Layers, "conv4_1") || slices.Contains(tile.Layers, "conv5_1")
		wantWhy := ""
		if deep {
			wantWhy = net.Why(tile.Layers[slices.IndexFunc(tile.Layers, func(l string) bool { return l == "conv4_1" || l == "conv5_1" })])
		}
		if tile.Disabled != wantWhy || (deep && wantWhy == "") {
			t.Errorf("%s: disabled %q, want %q", tile.Caption, tile.Disabled, wantWhy)
		}
		if err := s.Validate(net); (err == nil) == deep {
			t.Errorf("%s: Validate: %v", tile.Caption, err)
		}
	}
	if got := tiles[3].Disabled; got != "conv4_1 is not in the loaded weights (they hold conv1_1 … conv3_4)" {
		t.Errorf("conv4_1: %q", got)
	}
}
