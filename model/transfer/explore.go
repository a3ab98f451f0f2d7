package transfer

import (
	"strings"
)

// ExploreLayers are the layer explorer's layers: Gatys et al.'s five, the
// page's style-layer sliders.
var ExploreLayers = PageStyleLayers

// ExploreTile is one cell of the layer explorer: texture synthesis from
// noise (content weight 0, init random) with one set of style layers, as
// in Gatys et al. 2015's first figure.
type ExploreTile struct {
	Layers     []string `json:"layers"`     // the style layers, equal weights
	Cumulative bool     `json:"cumulative"` // conv1_1 up to the last layer (else: that layer alone)
	Caption    string   `json:"caption"`    // "conv2_1", or "conv1_1 … conv3_1" for a cumulative set
	// Values are the tile's settings as text (every setting): opening the
	// tile as a run sets them.
	Values   map[string]string `json:"values"`
	Settings Settings          `json:"-"`
	// Disabled says why the tile cannot run on the loaded weights (empty
	// when it can).
	Disabled string `json:"disabled,omitempty"`
}

// Explore returns the layer explorer's tiles for base settings: each of
// ExploreLayers alone, then the cumulative sets (conv1_1; conv1_1 +
// conv2_1; …; the first is the same run as conv1_1 alone). Each tile keeps
// base's other settings (size, iterations, statistic, cost, optimiser,
// seed, style weight, style_scale, blend) but has content weight 0, starts
// from noise, and uses no masks and no colour control. why says why a
// layer cannot be computed ("" when it can; net.Why); nil means every
// layer can.
func Explore(base Settings, why func(layer string) string) []ExploreTile {
	var tiles []ExploreTile
	for _, cumulative := range []bool{false, true} {
		for i, l := range ExploreLayers {
			layers := []string{l}
			caption := l
			if cumulative {
				layers = ExploreLayers[:i+1]
				if i > 0 {
					caption = layers[0] + " … " + l
				}
			}
			t := ExploreTile{Layers: append([]string(nil), layers...), Cumulative: cumulative, Caption: caption}
			t.Settings = exploreSettings(base, layers)
			t.Values = t.Settings.Values()
			if why != nil {
				for _, l := range layers {
					if w := why(l); w != "" {
						t.Disabled = w
						break
					}
				}
			}
			tiles = append(tiles, t)
		}
	}
	return tiles
}

// exploreSettings are base's settings for texture synthesis with layers.
func exploreSettings(base Settings, layers []string) Settings {
	s := base
	s.StyleLayers, _ = ParseLayers(strings.Join(layers, ",")) // bare names: equal shares of 1
	s.Preset = ""
	s.ContentWeight = 0
	s.Init = "random"
	s.ContentMasks, s.StyleMasks, s.RegionStyles = nil, nil, nil
	s.ColorControl, s.OriginalColors = ColorNone, false
	if s.StyleWeight == 0 {
		s.StyleWeight = Defaults().StyleWeight
	}
	return s
}
