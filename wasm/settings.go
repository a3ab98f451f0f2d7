package main

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
)

// styleLayers are the page's style-layer sliders: Gatys et al.'s five.
var styleLayers = []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"}

// browserDefaults are transfer's defaults made for a browser tab: a small
// image, fewer iterations, a preview every few of them, and the preset's
// layers spelt out (the page has a slider for each).
func browserDefaults() transfer.Settings {
	s := transfer.Defaults()
	s.ImageSize = 256
	s.Iterations = 200
	s.PreviewEvery = 5
	if s.StyleLayers == nil {
		s.StyleLayers, _ = s.Layers()
	}
	s.Preset = ""
	return s
}

// ready is the worker's first message: what the page builds its controls
// from.
func ready(goVersion string) Ready {
	var convs []string
	for _, c := range weights.VGG19 {
		convs = append(convs, c.Name)
	}
	return Ready{
		Type:          OutReady,
		GoVersion:     goVersion,
		Defaults:      browserDefaults(),
		Presets:       presets(),
		StyleLayers:   styleLayers,
		ContentLayers: convs,
		StyleStats:    []string{"gram", "cov", "meanstd", "mmd"},
		StyleCosts:    []string{"mse", "swd"},
		Optimizers:    []string{"lbfgs", "adam"},
		Inits:         []string{"image", "random"},
		Poolings:      []string{"max", "avg"},
	}
}

// decodeSettings lays the page's fields over the browser defaults, so that a
// link written by an older page still runs.
func decodeSettings(raw json.RawMessage) (transfer.Settings, error) {
	s := browserDefaults()
	if len(raw) == 0 || string(raw) == "null" {
		return s, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("wasm: bad settings: %w", err)
	}
	return s, nil
}

// unavailable maps every VGG-19 conv that net cannot compute to a sentence
// saying why, for the page to show beside the disabled control.
func unavailable(net *model.Net) map[string]string {
	have := net.Layers()
	held := "no conv layers"
	if len(have) > 0 {
		held = have[0] + " … " + have[len(have)-1]
	}
	out := map[string]string{}
	firstMissing := "" // the first conv of the network that the weights lack
	for _, c := range weights.VGG19 {
		present := slices.Contains(have, c.Name)
		if !present && firstMissing == "" {
			firstMissing = c.Name
		}
		switch {
		case net.Has(c.Name):
		case !present:
			out[c.Name] = fmt.Sprintf("%s is not in the loaded weights (they hold %s); `make weights` gets the full VGG-19", c.Name, held)
		default:
			out[c.Name] = fmt.Sprintf("%s needs %s, which is not in the loaded weights (they hold %s); `make weights` gets the full VGG-19", c.Name, firstMissing, held)
		}
	}
	return out
}
