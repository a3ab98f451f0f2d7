package main

import (
	"fmt"
	"strings"

	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
)

// moreWeights is what the page adds to the explanation of a layer the
// loaded weights lack.
const moreWeights = "; `make run` (or `make weights`) gets the full VGG-19"

// ready is the worker's first message: the schema the page builds every
// control from, the page's defaults and the presets.
func ready(goVersion string) Ready {
	d := transfer.PageDefaults()
	return Ready{
		Type:       OutReady,
		GoVersion:  goVersion,
		Schema:     transfer.Schema,
		Defaults:   d.Values(),
		Settings:   d.Resolved(),
		Presets:    transfer.Presets(),
		WeightsURL: "weights/" + weights.DefaultPack.Dir() + "/" + weights.ManifestFile,
		Build:      buildLabel,
	}
}

// buildLabel names the build: `go build -ldflags=-X=main.buildLabel=…`
// (tools/serve -dist -label) sets it, so that the page and its tests can
// tell which wasm runs.
var buildLabel = "dev"

// parseSettings reads the page's values (name → text, as its controls and
// URL spell them) over the page's defaults. Refused values are listed and
// keep their defaults.
func parseSettings(values map[string]string) (transfer.Settings, []transfer.FieldError) {
	s := transfer.PageDefaults()
	errs := s.SetValues(values)
	return s, errs
}

// firstError is the first refused value as an error, or nil.
func firstError(errs []transfer.FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", errs[0].Message)
}

// weightsInfo is the session's description of the weights, with the page's
// advice on layers the weights lack.
func weightsInfo(s *session.Session, bytes int) WeightsInfo {
	wi := s.Weights()
	for layer, why := range wi.Unavailable {
		wi.Unavailable[layer] = strings.TrimSuffix(why, ".") + moreWeights
	}
	return WeightsInfo{Type: OutWeights, WeightsInfo: wi, Bytes: bytes, Size: int64(bytes), Complete: true}
}
