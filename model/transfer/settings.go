package transfer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/style"
)

// PresetNames lists the style-layer presets of the series, default first.
var PresetNames = []string{"even", "early", "late"}

// Preset returns the style layers of a preset: even = conv1_1 … conv5_1 at
// 0.2 each; early = (0.8, 0.2, 0, 0, 0); late = (0, 0, 0, 0.2, 0.8). Layers
// of weight 0 are listed (they are skipped when running).
func Preset(name string) ([]LayerWeight, error) {
	var w []float64
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "even":
		w = []float64{0.2, 0.2, 0.2, 0.2, 0.2}
	case "early":
		w = []float64{0.8, 0.2, 0, 0, 0}
	case "late":
		w = []float64{0, 0, 0, 0.2, 0.8}
	default:
		return nil, fmt.Errorf("transfer: unknown preset %q (want %s)", name, orList(PresetNames))
	}
	out := make([]LayerWeight, len(w))
	for i := range w {
		out[i] = LayerWeight{Layer: PageStyleLayers[i], Weight: w[i]}
	}
	return out, nil
}

// Presets returns every preset's layers by name.
func Presets() map[string][]LayerWeight {
	out := map[string][]LayerWeight{}
	for _, name := range PresetNames {
		out[name] = mustPreset(name)
	}
	return out
}

// ParseLayers reads a style-layer list: "conv1_1:0.8,conv2_1:0.2" (relu
// names are accepted and mean the same tensors). Layers given without a
// weight share 1 equally with each other: "conv1_1,conv2_1" is 0.5 each.
func ParseLayers(spec string) ([]LayerWeight, error) {
	var out []LayerWeight
	var bare []int
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, ws, hasW := strings.Cut(part, ":")
		lw := LayerWeight{Layer: strings.ToLower(strings.TrimSpace(name))}
		if lw.Layer == "" {
			return nil, fmt.Errorf("transfer: style layer list %q has a weight without a layer", spec)
		}
		if hasW {
			w, err := strconv.ParseFloat(strings.TrimSpace(ws), 64)
			if err != nil || math.IsNaN(w) || math.IsInf(w, 0) {
				return nil, fmt.Errorf("transfer: style layer %s has weight %q, not a number", lw.Layer, ws)
			}
			lw.Weight = w
		} else {
			bare = append(bare, len(out))
		}
		out = append(out, lw)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("transfer: style layer list %q names no layer", spec)
	}
	for _, i := range bare {
		out[i].Weight = 1 / float64(len(bare))
	}
	return out, nil
}

// FormatLayers writes layers as ParseLayers reads them.
func FormatLayers(layers []LayerWeight) string {
	parts := make([]string, len(layers))
	for i, l := range layers {
		parts[i] = l.Layer + ":" + formatFloat(l.Weight)
	}
	return strings.Join(parts, ",")
}

// Layers returns the style layers in effect: StyleLayers, or the preset's
// when StyleLayers is empty.
func (s Settings) Layers() ([]LayerWeight, error) {
	if len(s.StyleLayers) > 0 {
		return s.StyleLayers, nil
	}
	p := s.Preset
	if p == "" {
		p = PresetNames[0]
	}
	return Preset(p)
}

// normalized fills the fields a caller may leave zero (a Settings written
// in Go by a test or a tool) with Defaults' values. Weights and other
// numbers whose zero is meaningful are kept.
func (s Settings) normalized() Settings {
	d := Defaults()
	lower := func(v *string, def string) {
		*v = strings.ToLower(strings.TrimSpace(*v))
		if *v == "" {
			*v = def
		}
	}
	lower(&s.StyleStat, d.StyleStat)
	lower(&s.StyleCost, d.StyleCost)
	lower(&s.Init, d.Init)
	lower(&s.Optimizer, d.Optimizer)
	lower(&s.Pooling, d.Pooling)
	lower(&s.ColorControl, d.ColorControl)
	if s.ImageSize == 0 {
		s.ImageSize = d.ImageSize
	}
	if s.StyleScale == 0 {
		s.StyleScale = d.StyleScale
	}
	if s.LearningRate == 0 {
		s.LearningRate = d.LearningRate
	}
	if s.LBFGSHistory == 0 {
		s.LBFGSHistory = d.LBFGSHistory
	}
	if len(s.ContentLayers) == 0 {
		s.ContentLayers = d.ContentLayers
	}
	if s.TilePasses == 0 {
		s.TilePasses = d.TilePasses
	}
	return s
}

// Limits on the output size.
const (
	MinImageSize = 8
	MaxImageSize = 4096
)

// Validate reports, in one line, the first problem that would stop a run on
// net: a value outside its field's range or choices (Schema), layers absent
// from net's weights (naming them and what the weights hold) and
// contradictory settings. Zero fields are read as Run reads them
// (Defaults' values for sizes and names). net may be nil to check
// everything but the weights. Run calls it; shells need not.
func (s Settings) Validate(net *model.Net) error {
	s = s.normalized()
	for i := range Schema {
		if err := Schema[i].check(&s); err != nil {
			return err
		}
	}
	if s.ContentWeight == 0 && s.StyleWeight == 0 && s.TVWeight == 0 {
		return fmt.Errorf("transfer: content_weight, style_weight and tv_weight are all 0: nothing to optimise")
	}
	if err := (style.Spec{Stat: s.StyleStat, Cost: s.StyleCost}).Check(); err != nil {
		return fmt.Errorf("transfer: %s", strings.TrimPrefix(err.Error(), "style: "))
	}
	if err := s.checkMasks(); err != nil {
		return err
	}
	layers, err := s.Layers()
	if err != nil {
		return err
	}
	active := 0
	for _, l := range layers {
		if l.Weight > 0 {
			active++
			if err := checkWeights(net, "style", l.Layer); err != nil {
				return err
			}
		}
	}
	if s.StyleWeight > 0 && active == 0 {
		return fmt.Errorf("transfer: style_weight is %g but every style layer has weight 0", s.StyleWeight)
	}
	if s.ContentWeight > 0 {
		for _, l := range s.ContentLayers {
			if err := checkWeights(net, "content", l); err != nil {
				return err
			}
		}
	}
	return nil
}

// Guided reports whether the settings use masks (content or style).
func (s Settings) Guided() bool {
	if len(s.ContentMasks) > 0 {
		return true
	}
	for _, m := range s.StyleMasks {
		if m != "" {
			return true
		}
	}
	return false
}

// checkMasks reports masks the settings cannot use: region_styles that do
// not match content_masks, or a style cost that cannot be guided. Counts
// against the style images are checkJob's.
func (s Settings) checkMasks() error {
	if len(s.RegionStyles) > 0 && len(s.ContentMasks) == 0 {
		return errors.New("transfer: region_styles needs content_masks (one mask per region)")
	}
	if len(s.RegionStyles) > 0 && len(s.RegionStyles) != len(s.ContentMasks) {
		return fmt.Errorf("transfer: %d region_styles for %d content_masks", len(s.RegionStyles), len(s.ContentMasks))
	}
	if s.Guided() && s.StyleWeight > 0 {
		if err := (style.Spec{Stat: s.StyleStat, Cost: s.StyleCost}).CheckGuided(); err != nil {
			return fmt.Errorf("transfer: %s", strings.TrimPrefix(err.Error(), "style: "))
		}
	}
	return nil
}

// checkWeights reports a layer that net cannot compute (nil net: no check).
func checkWeights(net *model.Net, role, layer string) error {
	if net == nil {
		return nil
	}
	if why := net.Why(layer); why != "" {
		return fmt.Errorf("transfer: %s layer %s", role, why)
	}
	return nil
}

// coarseToFine reports whether a run of s whose final stage is w×h has a
// half-size stage first: with coarse_to_fine, unless the half-size image
// would be under MinImageSize or too small to pool down to the deepest
// layer in use (the page's default is on: a small image then runs in one
// stage rather than being refused).
func (s Settings) coarseToFine(w, h int) bool {
	if !s.CoarseToFine || max(w, h) < 2*MinImageSize {
		return false
	}
	deepest := 1
	names := slices.Clone(s.ContentLayers)
	for _, l := range s.styleInUse() {
		names = append(names, l.Layer)
	}
	for _, n := range names {
		if c, err := model.LookupConv(n); err == nil {
			deepest = max(deepest, model.Block(c))
		}
	}
	return min(w/2, h/2) >= 1<<(deepest-1)
}

// styleInUse is the style layers a run of s computes: those of positive
// weight, by their canonical names, none when style_weight is 0.
func (s Settings) styleInUse() []LayerWeight {
	if s.StyleWeight <= 0 {
		return nil
	}
	all, _ := s.Layers()
	var layers []LayerWeight
	for _, l := range all {
		if l.Weight > 0 {
			layers = append(layers, LayerWeight{Layer: model.Canonical(l.Layer), Weight: l.Weight})
		}
	}
	return layers
}
