package transfer

import (
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
		return nil, fmt.Errorf("transfer: unknown preset %q (want %s)", name, strings.Join(PresetNames, ", "))
	}
	out := make([]LayerWeight, len(w))
	for i := range w {
		out[i] = LayerWeight{Layer: fmt.Sprintf("conv%d_1", i+1), Weight: w[i]}
	}
	return out, nil
}

// Defaults are the settings of a run nobody tuned: α = 10, β = 40, γ = 0,
// content conv4_2, the even preset, Gram/MSE, 500 L-BFGS iterations at
// 512 px from the content image, max pooling (neural-style's defaults where
// the issue does not say otherwise).
func Defaults() Settings {
	return Settings{
		ImageSize:     512,
		Iterations:    500,
		ContentWeight: 10,
		StyleWeight:   40,
		TVWeight:      0,
		ContentLayers: []string{"conv4_2"},
		Preset:        "even",
		StyleStat:     style.Gram,
		StyleCost:     style.MSE,
		StyleScale:    1,
		Init:          "image",
		Optimizer:     "lbfgs",
		LearningRate:  10,
		LBFGSHistory:  10,
		Pooling:       "max",
	}
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
		parts[i] = l.Layer + ":" + strconv.FormatFloat(l.Weight, 'g', -1, 64)
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

// normalized fills the fields a caller may leave zero (JSON from the page
// may omit them) with Defaults' values. Weights and other numbers whose
// zero is meaningful are kept.
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
	return s
}

// Limits on the output size.
const (
	MinImageSize = 8
	MaxImageSize = 4096
)

// Validate reports, in one line, the first problem that would stop a run on
// net: unknown names, layers absent from net's weights (naming them and what
// the weights hold), out-of-range numbers and contradictory settings. Zero
// fields are read as Run reads them (Defaults' values for sizes and names).
// net may be nil to check everything but the weights.
func (s Settings) Validate(net *model.Net) error {
	s = s.normalized()
	if s.ImageSize < MinImageSize || s.ImageSize > MaxImageSize {
		return fmt.Errorf("transfer: image_size %d is out of range (%d to %d)", s.ImageSize, MinImageSize, MaxImageSize)
	}
	if s.Iterations < 0 {
		return fmt.Errorf("transfer: num_iterations %d is negative", s.Iterations)
	}
	for _, w := range []struct {
		name string
		v    float64
	}{{"content_weight", s.ContentWeight}, {"style_weight", s.StyleWeight}, {"tv_weight", s.TVWeight}} {
		if w.v < 0 || math.IsNaN(w.v) || math.IsInf(w.v, 0) {
			return fmt.Errorf("transfer: %s %g must be a finite number ≥ 0", w.name, w.v)
		}
	}
	if s.ContentWeight == 0 && s.StyleWeight == 0 && s.TVWeight == 0 {
		return fmt.Errorf("transfer: content_weight, style_weight and tv_weight are all 0: nothing to optimise")
	}
	if !(s.StyleScale > 0) || s.StyleScale > 8 {
		return fmt.Errorf("transfer: style_scale %g is out of range (above 0, at most 8)", s.StyleScale)
	}
	if s.Preset != "" {
		if _, err := Preset(s.Preset); err != nil {
			return err
		}
	}
	layers, err := s.Layers()
	if err != nil {
		return err
	}
	active := 0
	seen := map[string]bool{}
	for _, l := range layers {
		if l.Weight < 0 || math.IsNaN(l.Weight) || math.IsInf(l.Weight, 0) {
			return fmt.Errorf("transfer: style layer %s has weight %g; weights must be finite and ≥ 0", l.Layer, l.Weight)
		}
		name := canonical(l.Layer)
		if seen[name] {
			return fmt.Errorf("transfer: style layer %s is listed twice", name)
		}
		seen[name] = true
		if err := checkLayer(net, "style", l.Layer, l.Weight > 0); err != nil {
			return err
		}
		if l.Weight > 0 {
			active++
		}
	}
	if s.StyleWeight > 0 && active == 0 {
		return fmt.Errorf("transfer: style_weight is %g but every style layer has weight 0", s.StyleWeight)
	}
	if s.ContentWeight > 0 && len(s.ContentLayers) == 0 {
		return fmt.Errorf("transfer: content_weight is %g but no content layer is given", s.ContentWeight)
	}
	seen = map[string]bool{}
	for _, l := range s.ContentLayers {
		if seen[canonical(l)] {
			return fmt.Errorf("transfer: content layer %s is listed twice", canonical(l))
		}
		seen[canonical(l)] = true
		if err := checkLayer(net, "content", l, true); err != nil {
			return err
		}
	}
	if err := (style.Spec{Stat: s.StyleStat, Cost: s.StyleCost}).Check(); err != nil {
		return fmt.Errorf("transfer: %s", strings.TrimPrefix(err.Error(), "style: "))
	}
	if !slices.Contains([]string{"image", "random", "given"}, s.Init) {
		return fmt.Errorf("transfer: unknown init %q (want image, random or given)", s.Init)
	}
	switch s.Optimizer {
	case "lbfgs":
		if s.LBFGSHistory < 0 || s.LBFGSHistory > 1000 {
			return fmt.Errorf("transfer: lbfgs_num_correction %d is out of range (1 to 1000; 0 for the default)", s.LBFGSHistory)
		}
	case "adam":
		if !(s.LearningRate > 0) || math.IsInf(s.LearningRate, 0) {
			return fmt.Errorf("transfer: learning_rate %g must be positive", s.LearningRate)
		}
	default:
		return fmt.Errorf("transfer: unknown optimizer %q (want lbfgs or adam)", s.Optimizer)
	}
	if s.Pooling != "max" && s.Pooling != "avg" {
		return fmt.Errorf("transfer: unknown pooling %q (want max or avg)", s.Pooling)
	}
	for i, w := range s.StyleBlend {
		if !(w > 0) || math.IsInf(w, 0) {
			return fmt.Errorf("transfer: style_blend_weights[%d] = %g must be positive", i, w)
		}
	}
	if s.PreviewEvery < 0 {
		return fmt.Errorf("transfer: preview_every %d is negative", s.PreviewEvery)
	}
	if s.CoarseToFine && s.ImageSize < 2*MinImageSize {
		return fmt.Errorf("transfer: coarse_to_fine needs image_size ≥ %d (got %d)", 2*MinImageSize, s.ImageSize)
	}
	return nil
}

// checkLayer reports an unknown layer, or (when needed) one whose weights
// are not in net.
func checkLayer(net *model.Net, role, layer string, needed bool) error {
	name := canonical(layer)
	if !knownLayer(name) {
		return fmt.Errorf("transfer: unknown %s layer %q (VGG-19 has conv1_1 … conv5_4, also called relu1_1 … relu5_4)", role, layer)
	}
	if !needed || net == nil || net.Has(name) {
		return nil
	}
	held := net.Layers()
	have := "no layers"
	if len(held) > 0 {
		have = held[0] + " … " + held[len(held)-1]
	}
	if !slices.Contains(held, name) {
		return fmt.Errorf("transfer: %s layer %s is not in the weights (they hold %s)", role, name, have)
	}
	return fmt.Errorf("transfer: %s layer %s needs layers before it that are not in the weights (they hold %s)", role, name, have)
}

// canonical maps reluX_Y to convX_Y.
func canonical(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if strings.HasPrefix(name, "relu") {
		return "conv" + strings.TrimPrefix(name, "relu")
	}
	return name
}

// knownLayer reports whether name is one of VGG-19's 16 convolutions.
func knownLayer(name string) bool {
	var blk, i int
	if n, _ := fmt.Sscanf(name, "conv%d_%d", &blk, &i); n != 2 || fmt.Sprintf("conv%d_%d", blk, i) != name {
		return false
	}
	if blk < 1 || blk > 5 || i < 1 {
		return false
	}
	if blk <= 2 {
		return i <= 2
	}
	return i <= 4
}

// Set sets the setting called key (a JSON name above, or "preset") from its
// text form, as the CLI's flags, crema compare's -settings and the page's
// URL spell it.
func (s *Settings) Set(key, value string) error {
	key = strings.ToLower(strings.TrimSpace(key))
	value = strings.TrimSpace(value)
	num := func() (float64, error) {
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("transfer: %s: %q is not a number", key, value)
		}
		return v, nil
	}
	integer := func() (int, error) {
		v, err := strconv.Atoi(value)
		if err != nil {
			return 0, fmt.Errorf("transfer: %s: %q is not a whole number", key, value)
		}
		return v, nil
	}
	var err error
	switch key {
	case "image_size":
		s.ImageSize, err = integer()
	case "num_iterations":
		s.Iterations, err = integer()
	case "content_weight":
		s.ContentWeight, err = num()
	case "style_weight":
		s.StyleWeight, err = num()
	case "tv_weight":
		s.TVWeight, err = num()
	case "content_layers":
		s.ContentLayers = nil
		for _, l := range strings.Split(value, ",") {
			if l = strings.TrimSpace(l); l != "" {
				s.ContentLayers = append(s.ContentLayers, strings.ToLower(l))
			}
		}
	case "style_layers":
		s.StyleLayers, err = ParseLayers(value)
	case "preset":
		if _, err = Preset(value); err == nil {
			s.Preset, s.StyleLayers = strings.ToLower(value), nil
		}
	case "style_stat":
		s.StyleStat = strings.ToLower(value)
	case "style_cost":
		s.StyleCost = strings.ToLower(value)
	case "style_blend_weights":
		s.StyleBlend = nil
		for _, p := range strings.Split(value, ",") {
			v, perr := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if perr != nil {
				return fmt.Errorf("transfer: style_blend_weights: %q is not a number", p)
			}
			s.StyleBlend = append(s.StyleBlend, v)
		}
	case "style_scale":
		s.StyleScale, err = num()
	case "original_colors":
		s.OriginalColors, err = parseBool(key, value)
	case "init":
		s.Init = strings.ToLower(value)
	case "optimizer":
		s.Optimizer = strings.ToLower(value)
	case "learning_rate":
		s.LearningRate, err = num()
	case "lbfgs_num_correction":
		s.LBFGSHistory, err = integer()
	case "pooling":
		s.Pooling = strings.ToLower(value)
	case "seed":
		var v int64
		v, err = strconv.ParseInt(value, 10, 64)
		if err != nil {
			err = fmt.Errorf("transfer: seed: %q is not a whole number", value)
		}
		s.Seed = v
	case "coarse_to_fine":
		s.CoarseToFine, err = parseBool(key, value)
	case "preview_every":
		s.PreviewEvery, err = integer()
	default:
		return fmt.Errorf("transfer: unknown setting %q", key)
	}
	return err
}

func parseBool(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("transfer: %s: %q is not true or false", key, v)
}
