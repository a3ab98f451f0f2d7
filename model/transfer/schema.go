package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/optim"
	"github.com/crema-app/crema/model/style"
)

// Kind is how a setting's text is read.
type Kind string

// The kinds of settings.
const (
	Int          Kind = "int"           // a whole number
	Float        Kind = "float"         // a number
	Bool         Kind = "bool"          // 1/0 (also true/false, yes/no, on/off)
	Choice       Kind = "choice"        // one of Choices
	Layers       Kind = "layers"        // a comma list of layer names from Choices
	LayerWeights Kind = "layer_weights" // "conv1_1:0.8,conv2_1:0.2" over Choices; bare names share 1
	Floats       Kind = "floats"        // a comma list of numbers
	Masks        Kind = "masks"         // a comma list of masks, each a base64url PNG (ParseMask); CLI: image files
	Regions      Kind = "regions"       // region_styles: "1,2+3:0.5" (ParseRegions)
)

// Field is one setting. Its Name is the CLI flag, the JSON field and the
// URL parameter alike. Everything the CLI's flags and -h, the worker and the
// page know about a setting comes from its Field: the page builds its
// control, limits and help text from the JSON of Schema.
type Field struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	Help string `json:"help"` // one line

	// Defaults, as text: the CLI's (neural-style's, at full size) and the
	// page's (made for a browser tab).
	CLI  string `json:"cli_default"`
	Page string `json:"default"`

	// Range of numbers (and of each number of a list), when HasMin/HasMax.
	// MinOpen excludes Min itself ("above 0").
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	HasMin  bool    `json:"has_min"`
	HasMax  bool    `json:"has_max"`
	MinOpen bool    `json:"min_open"`
	// PageMax is the page's upper limit, when not 0: tighter than Max where
	// a browser tab has less memory than a native process, the top of the
	// sliders of weights that have no upper limit.
	PageMax float64 `json:"page_max,omitempty"`

	// Choices are the accepted values (Choice) or layer names (Layers,
	// LayerWeights; relu names are accepted too). PageChoices, when set, are
	// what the page offers.
	Choices     []string `json:"choices,omitempty"`
	PageChoices []string `json:"page_choices,omitempty"`

	// For the page: its group of controls ("layers", "weights", "more",
	// "images"), the control's label and its step. Control overrides the
	// control the kind implies ("buttons" for presets).
	Group   string  `json:"group"`
	Label   string  `json:"label"`
	Step    float64 `json:"step,omitempty"`
	Control string  `json:"control,omitempty"`
	// PageOnly fields are not CLI flags (the CLI has its own: preview_every
	// is -save_iter there).
	PageOnly bool `json:"page_only,omitempty"`

	get func(s *Settings) string
	set func(s *Settings, v string) error
}

// fieldJSON is a Field as the page receives it: its data and an Example.
type fieldJSON struct {
	fieldData
	Example string `json:"example"`
}

// fieldData is Field without its methods, for encoding.
type fieldData Field

// MarshalJSON adds Example to the field's data.
func (f Field) MarshalJSON() ([]byte, error) {
	return json.Marshal(fieldJSON{fieldData(f), f.Example()})
}

// num is the range part of a Field.
type num struct{ min, max float64 }

// Schema lists every setting, in the order the CLI's -h and the page show
// them. It is the one definition of names, kinds, defaults, limits, choices
// and help; Set, Get, Defaults, PageDefaults, Validate, the CLI's flags and
// the page's controls are derived from it.
var Schema = []Field{
	intField(Field{Name: "image_size", Help: "long side of the output image, pixels", CLI: "512", Page: "256",
		Min: MinImageSize, Max: MaxImageSize, HasMin: true, HasMax: true, // the page's limit is the memory model's (Plan)
		Group: "more", Label: "Image size (px, long side)", Step: 8},
		func(s *Settings) *int { return &s.ImageSize }),
	intField(Field{Name: "num_iterations", Help: "optimiser iterations", CLI: "500", Page: "200",
		Min: 0, Max: 100000, HasMin: true, HasMax: true, Group: "more", Label: "Iterations"},
		func(s *Settings) *int { return &s.Iterations }),
	floatField(Field{Name: "content_weight", Help: "α, the content loss weight", CLI: "10", Page: "10",
		HasMin: true, Group: "weights", Label: "α content"},
		func(s *Settings) *float64 { return &s.ContentWeight }),
	floatField(Field{Name: "style_weight", Help: "β, the style loss weight", CLI: "40", Page: "40",
		HasMin: true, Group: "weights", Label: "β style"},
		func(s *Settings) *float64 { return &s.StyleWeight }),
	floatField(Field{Name: "tv_weight", Help: "γ, the total-variation weight", CLI: "0", Page: "0",
		HasMin: true, Group: "weights", Label: "TV"},
		func(s *Settings) *float64 { return &s.TVWeight }),
	{Name: "content_layers", Kind: Layers, Help: "comma list of content layers", CLI: "conv4_2", Page: "conv4_2",
		Choices: model.Convs(), PageChoices: model.ConvsUpTo(PageDeepest()), Group: "layers", Label: "Content layer",
		get: func(s *Settings) string { return strings.Join(s.ContentLayers, ",") },
		set: func(s *Settings, v string) error {
			layers, err := parseLayerList("content_layers", v)
			s.ContentLayers = layers
			return err
		}},
	{Name: "style_layers", Kind: LayerWeights, CLI: "", Page: FormatLayers(mustPreset(PresetNames[0])),
		Help:    "style layers with weights, e.g. conv1_1:0.8,conv2_1:0.2 (bare names share 1 equally); excludes preset",
		Choices: model.Convs(), PageChoices: PageStyleLayers, HasMin: true, PageMax: maxPresetWeight(), Step: 0.05,
		Group: "layers", Label: "Style layers",
		get: func(s *Settings) string { return FormatLayers(s.StyleLayers) },
		set: func(s *Settings, v string) (err error) {
			if strings.TrimSpace(v) == "" {
				s.StyleLayers = nil
				return nil
			}
			s.StyleLayers, err = ParseLayers(v)
			return err
		}},
	choiceField(Field{Name: "preset", Help: "style-layer preset, used when style_layers is empty: even = conv1_1 … conv5_1 at 0.2; early = (0.8, 0.2, 0, 0, 0); late = (0, 0, 0, 0.2, 0.8)",
		CLI: PresetNames[0], Page: "", Choices: PresetNames, Group: "layers", Label: "Presets", Control: "buttons"},
		func(s *Settings) *string { return &s.Preset },
		func(s *Settings) { s.StyleLayers = nil }),
	choiceField(Field{Name: "style_stat", Help: "style statistic", CLI: style.Gram, Page: style.Gram,
		Choices: style.Stats, Group: "more", Label: "Style statistic"},
		func(s *Settings) *string { return &s.StyleStat }, nil),
	choiceField(Field{Name: "style_cost", Help: "style cost: mse, or swd (sliced Wasserstein, which takes no style_stat)", CLI: style.MSE, Page: style.MSE,
		Choices: style.Costs, Group: "more", Label: "Style cost"},
		func(s *Settings) *string { return &s.StyleCost }, nil),
	{Name: "style_blend_weights", Kind: Floats, Help: "comma list of weights, one per style image (default equal)", CLI: "", Page: "",
		HasMin: true, MinOpen: true, PageMax: 1, Step: 0.05, Group: "images", Label: "Blend",
		get: func(s *Settings) string { return formatFloats(s.StyleBlend) },
		set: func(s *Settings, v string) (err error) {
			s.StyleBlend, err = parseFloats("style_blend_weights", v)
			return err
		}},
	floatField(Field{Name: "style_scale", Help: "style image size relative to image_size", CLI: "1", Page: "1",
		HasMin: true, MinOpen: true, Max: 8, HasMax: true, PageMax: 4, Step: 0.1, Group: "more", Label: "Style scale"},
		func(s *Settings) *float64 { return &s.StyleScale }),
	boolField(Field{Name: "original_colors", Help: "1 keeps the content's colours (luminance-only transfer)", CLI: "0", Page: "0",
		Group: "more", Label: "Keep the original colours"},
		func(s *Settings) *bool { return &s.OriginalColors }),
	choiceField(Field{Name: "color_control", Help: "colour matching before the run (RGB mean and covariance): match_content recolours the style images to the content's colours, keep_style the content to the style's palette",
		CLI: ColorNone, Page: ColorNone, Choices: ColorControls, Group: "more", Label: "Colour matching"},
		func(s *Settings) *string { return &s.ColorControl }, nil),
	{Name: "content_masks", Kind: Masks, Help: "comma list of mask images, one per region (white = where its style applies; resized to the content); by default region i takes style image i",
		CLI: "", Page: "", Group: "images", Label: "Region masks",
		get: func(s *Settings) string { return strings.Join(s.ContentMasks, ",") },
		set: func(s *Settings, v string) (err error) {
			s.ContentMasks, err = parseMasks("content_masks", v, false)
			return err
		}},
	{Name: "style_masks", Kind: Masks, Help: "comma list of mask images, one per style image (white = the part of that style image to use; an empty entry uses all of it)",
		CLI: "", Page: "", Group: "images", Label: "Style masks",
		get: func(s *Settings) string { return strings.Join(s.StyleMasks, ",") },
		set: func(s *Settings, v string) (err error) {
			s.StyleMasks, err = parseMasks("style_masks", v, true)
			return err
		}},
	{Name: "region_styles", Kind: Regions, Help: "the style images of each content mask's region, e.g. 1,2+3:0.5 (region 2: styles 2 and 3 blended, its style loss weighted 0.5); default: region i takes style i",
		CLI: "", Page: "", Group: "images", Label: "Region styles",
		get: func(s *Settings) string { return FormatRegions(s.RegionStyles) },
		set: func(s *Settings, v string) (err error) {
			s.RegionStyles, err = ParseRegions(v)
			return err
		}},
	boolField(Field{Name: "mask_erode", Help: "1 erodes each region's mask by one unit at every style layer, so that units straddling a border count for neither side",
		CLI: "0", Page: "0", Group: "more", Label: "Erode masks at each layer"},
		func(s *Settings) *bool { return &s.MaskErode }),
	choiceField(Field{Name: "init", Help: "initial image: the content (image), noise (random), or the CLI's -init_image (given)", CLI: "image", Page: "image",
		Choices: Inits, PageChoices: Inits[:2], Group: "more", Label: "Start from"},
		func(s *Settings) *string { return &s.Init }, nil),
	choiceField(Field{Name: "optimizer", Help: "optimiser", CLI: optim.NameLBFGS, Page: optim.NameLBFGS,
		Choices: optim.Names, Group: "more", Label: "Optimiser"},
		func(s *Settings) *string { return &s.Optimizer }, nil),
	floatField(Field{Name: "learning_rate", Help: "Adam's learning rate, in 0–255 pixel levels", CLI: "10", Page: "10",
		HasMin: true, MinOpen: true, Group: "more", Label: "Learning rate (Adam)"},
		func(s *Settings) *float64 { return &s.LearningRate }),
	intField(Field{Name: "lbfgs_num_correction", Help: "L-BFGS history length", CLI: "10", Page: "10",
		Min: 1, Max: 1000, HasMin: true, HasMax: true, Group: "more", Label: "L-BFGS history"},
		func(s *Settings) *int { return &s.LBFGSHistory }),
	choiceField(Field{Name: "pooling", Help: "pooling between VGG's blocks", CLI: kernels.MaxPool.String(), Page: kernels.MaxPool.String(),
		Choices: []string{kernels.MaxPool.String(), kernels.AvgPool.String()}, Group: "more", Label: "Pooling"},
		func(s *Settings) *string { return &s.Pooling }, nil),
	{Name: "seed", Kind: Int, Help: "random seed (random init, swd directions); the CLI's -1 picks one", CLI: "0", Page: "0",
		Group: "more", Label: "Seed",
		get: func(s *Settings) string { return strconv.FormatInt(s.Seed, 10) },
		set: func(s *Settings, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("transfer: seed: %q is not a whole number", v)
			}
			s.Seed = n
			return nil
		}},
	// The page's default is on: measured loss against time at 256 px on the
	// CPU path, it reaches a picture (90 % of 200 full-size L-BFGS
	// iterations' drop in log loss) in 61 s instead of 95 s, and ends lower
	// (BENCHMARKS.md, "Time to a picture"; tools/bench/schedule.mjs).
	boolField(Field{Name: "coarse_to_fine", Help: "1 runs half the iterations at half size first (one stage below 16 px)", CLI: "0", Page: "1",
		Group: "more", Label: "Coarse to fine (half size first)"},
		func(s *Settings) *bool { return &s.CoarseToFine }),
	// High resolution (issue 13; memory.go, tile.go).
	intField(Field{Name: "tile_size", Help: "optimise the image in square tiles of this side, pixels, with a margin for the receptive field, shifted at random every pass (0: only when the run does not fit in memory)",
		CLI: "0", Page: "0", Min: 0, Max: MaxImageSize, HasMin: true, HasMax: true, Step: 8,
		Group: "more", Label: "Tile size (px, 0 = when needed)"},
		func(s *Settings) *int { return &s.TileSize }),
	intField(Field{Name: "tile_passes", Help: "passes over the tiles of a tiled stage (each tile gets its share of the stage's iterations in every pass)",
		CLI: "2", Page: "2", Min: 1, Max: 100, HasMin: true, HasMax: true,
		Group: "more", Label: "Passes over the tiles"},
		func(s *Settings) *int { return &s.TilePasses }),
	intField(Field{Name: "memory_limit", Help: "MiB of memory the run may use (0: the device's budget: a GPU's, a browser tab's 1 GiB on the CPU, half the machine's memory natively); a run that does not fit is tiled, or refused before it starts",
		CLI: "0", Page: "0", Min: 0, Max: 1 << 20, HasMin: true, HasMax: true, Step: 64,
		Group: "more", Label: "Memory limit (MiB, 0 = the device's)"},
		func(s *Settings) *int { return &s.MemoryLimit }),
	intField(Field{Name: "preview_every", Help: "iterations between previews (0: none)", CLI: "0", Page: "5",
		Min: 0, Max: 100000, HasMin: true, HasMax: true, Group: "more", Label: "Preview every (iterations)", PageOnly: true},
		func(s *Settings) *int { return &s.PreviewEvery }),
}

// Inits are the initial images a run can start from.
var Inits = []string{"image", "random", "given"}

// Lookup returns the field called name.
func Lookup(name string) (*Field, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for i := range Schema {
		if Schema[i].Name == name {
			return &Schema[i], true
		}
	}
	return nil, false
}

// Defaults are the settings of a run nobody tuned, as the CLI runs it: the
// series' α = 10, β = 40, γ = 0, content conv4_2, the even preset,
// Gram/MSE, 500 L-BFGS iterations at 512 px from the content image, max
// pooling (neural-style's defaults where the series does not say).
func Defaults() Settings { return defaultsFrom(func(f *Field) string { return f.CLI }) }

// PageDefaults are the page's: a 256 px image, 200 iterations, a preview
// every 5, and the even preset's layers spelt out (one slider each).
func PageDefaults() Settings { return defaultsFrom(func(f *Field) string { return f.Page }) }

func defaultsFrom(text func(*Field) string) Settings {
	var s Settings
	for i := range Schema {
		if err := Schema[i].set(&s, text(&Schema[i])); err != nil {
			panic(fmt.Sprintf("transfer: the default of %s does not parse: %v", Schema[i].Name, err))
		}
	}
	return s
}

// Set sets the setting called key from its text, as the CLI's flags, crema
// compare's -settings, the page and its URL spell it. The text is checked
// against the field's kind, range and choices; checks across settings and
// against the weights are Validate's.
func (s *Settings) Set(key, value string) error {
	f, ok := Lookup(key)
	if !ok {
		return fmt.Errorf("transfer: unknown setting %q", strings.TrimSpace(key))
	}
	value = strings.TrimSpace(value)
	t := *s
	if err := f.set(&t, value); err != nil {
		return err
	}
	if err := f.check(&t); err != nil {
		return err
	}
	*s = t
	return nil
}

// Get returns the text of the setting called key, as Set reads it.
func (s Settings) Get(key string) (string, error) {
	f, ok := Lookup(key)
	if !ok {
		return "", fmt.Errorf("transfer: unknown setting %q", key)
	}
	return f.get(&s), nil
}

// Values returns the text of every setting, by name.
func (s Settings) Values() map[string]string {
	out := make(map[string]string, len(Schema))
	for i := range Schema {
		out[Schema[i].Name] = Schema[i].get(&s)
	}
	return out
}

// FieldError is a setting whose text was refused.
type FieldError struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Message }

// SetValues sets the settings in values (name → text) in Schema's order and
// returns the ones it refused, each kept at its previous value. Giving both
// preset and style_layers is refused: they say the same thing twice.
func (s *Settings) SetValues(values map[string]string) []FieldError {
	var errs []FieldError
	if p, l := strings.TrimSpace(values["preset"]), strings.TrimSpace(values["style_layers"]); p != "" && l != "" {
		errs = append(errs, FieldError{Name: "preset", Value: p, Message: "transfer: give style_layers or preset, not both"})
		values = maps(values, "preset")
	}
	for name, v := range values {
		if _, ok := Lookup(name); !ok {
			errs = append(errs, FieldError{Name: name, Value: v, Message: fmt.Sprintf("transfer: unknown setting %q", name)})
		}
	}
	for i := range Schema {
		v, ok := values[Schema[i].Name]
		if !ok {
			continue
		}
		if err := s.Set(Schema[i].Name, v); err != nil {
			errs = append(errs, FieldError{Name: Schema[i].Name, Value: v, Message: err.Error()})
		}
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Name, b.Name) })
	return errs
}

// maps returns values without key.
func maps(values map[string]string, key string) map[string]string {
	out := make(map[string]string, len(values))
	for k, v := range values {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// Resolved returns s with its style layers spelt out (the preset's, when
// StyleLayers is empty) and no preset: what the page shows on its sliders.
func (s Settings) Resolved() Settings {
	layers, err := s.Layers()
	if err == nil {
		s.StyleLayers, s.Preset = slices.Clone(layers), ""
	}
	return s
}

// check reports a value outside the field's range or choices.
func (f *Field) check(s *Settings) error {
	text := f.get(s)
	switch f.Kind {
	case Int, Float:
		v, _ := strconv.ParseFloat(text, 64)
		return f.checkNumber(f.Name, v)
	case Floats:
		for i, v := range s.StyleBlend {
			if err := f.checkNumber(fmt.Sprintf("%s[%d]", f.Name, i), v); err != nil {
				return err
			}
		}
	case Choice:
		if text != "" && !slices.Contains(f.Choices, text) {
			return fmt.Errorf("transfer: unknown %s %q (want %s)", f.Name, text, orList(f.Choices))
		}
	case Layers:
		seen := map[string]bool{}
		for _, l := range s.ContentLayers {
			if err := f.checkLayer("content", l, seen); err != nil {
				return err
			}
		}
	case LayerWeights:
		seen := map[string]bool{}
		for _, l := range s.StyleLayers {
			if err := f.checkLayer("style", l.Layer, seen); err != nil {
				return err
			}
			if !(l.Weight >= 0) || math.IsInf(l.Weight, 0) {
				return fmt.Errorf("transfer: style layer %s has weight %g; weights must be finite and ≥ 0", model.Canonical(l.Layer), l.Weight)
			}
		}
	}
	return nil
}

// checkLayer reports an unknown layer or one listed twice.
func (f *Field) checkLayer(role, layer string, seen map[string]bool) error {
	name, err := model.LookupConv(layer)
	if err != nil || !slices.Contains(f.Choices, name) {
		return fmt.Errorf("transfer: unknown %s layer %q (VGG-19 has conv1_1 … conv5_4, also called relu1_1 … relu5_4)", role, layer)
	}
	if seen[name] {
		return fmt.Errorf("transfer: %s layer %s is listed twice", role, name)
	}
	seen[name] = true
	return nil
}

// checkNumber reports v outside the field's range, naming it what.
func (f *Field) checkNumber(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("transfer: %s %g is not a finite number", what, v)
	}
	low := f.HasMin && (v < f.Min || (f.MinOpen && v == f.Min))
	high := f.HasMax && v > f.Max
	if low || high {
		return fmt.Errorf("transfer: %s %g is out of range (%s)", what, v, f.Range())
	}
	return nil
}

// Range describes the field's limits in words: "8 to 4096", "above 0, at
// most 8", "at least 0".
func (f *Field) Range() string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch {
	case f.HasMin && f.HasMax && !f.MinOpen:
		return g(f.Min) + " to " + g(f.Max)
	case f.HasMin && f.HasMax:
		return "above " + g(f.Min) + ", at most " + g(f.Max)
	case f.HasMin && f.MinOpen:
		return "above " + g(f.Min)
	case f.HasMin:
		return "at least " + g(f.Min)
	case f.HasMax:
		return "at most " + g(f.Max)
	}
	return ""
}

// orList is "a, b or c".
func orList(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

func intField(f Field, ptr func(*Settings) *int) Field {
	f.Kind = Int
	f.get = func(s *Settings) string { return strconv.Itoa(*ptr(s)) }
	f.set = func(s *Settings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("transfer: %s: %q is not a whole number", f.Name, v)
		}
		*ptr(s) = n
		return nil
	}
	return f
}

func floatField(f Field, ptr func(*Settings) *float64) Field {
	f.Kind = Float
	f.get = func(s *Settings) string { return formatFloat(*ptr(s)) }
	f.set = func(s *Settings, v string) error {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("transfer: %s: %q is not a number", f.Name, v)
		}
		*ptr(s) = n
		return nil
	}
	return f
}

func boolField(f Field, ptr func(*Settings) *bool) Field {
	f.Kind = Bool
	f.get = func(s *Settings) string {
		if *ptr(s) {
			return "1"
		}
		return "0"
	}
	f.set = func(s *Settings, v string) error {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			*ptr(s) = true
		case "0", "false", "no", "off", "":
			*ptr(s) = false
		default:
			return fmt.Errorf("transfer: %s: %q is not true or false", f.Name, v)
		}
		return nil
	}
	return f
}

// choiceField reads one of f.Choices (lower-cased); then, when set, runs
// after (a preset clears the explicit style layers).
func choiceField(f Field, ptr func(*Settings) *string, after func(*Settings)) Field {
	f.Kind = Choice
	f.get = func(s *Settings) string { return *ptr(s) }
	f.set = func(s *Settings, v string) error {
		*ptr(s) = strings.ToLower(v)
		if after != nil && v != "" {
			after(s)
		}
		return nil
	}
	return f
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func formatFloats(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = formatFloat(v)
	}
	return strings.Join(parts, ",")
}

func parseFloats(name, v string) ([]float64, error) {
	if v == "" {
		return nil, nil
	}
	var out []float64
	for _, p := range strings.Split(v, ",") {
		n, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("transfer: %s: %q is not a number", name, p)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseLayerList reads a comma list of layer names (empty entries dropped).
func parseLayerList(name, v string) ([]string, error) {
	var out []string
	for _, l := range strings.Split(v, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, strings.ToLower(l))
		}
	}
	if len(out) == 0 && v != "" {
		return nil, errors.New("transfer: " + name + " names no layer")
	}
	return out, nil
}

func mustPreset(name string) []LayerWeight {
	p, err := Preset(name)
	if err != nil {
		panic(err)
	}
	return p
}

// maxPresetWeight is the largest weight a preset gives a layer (at least 1):
// the top of the page's layer sliders.
func maxPresetWeight() float64 {
	m := 1.0
	for _, name := range PresetNames {
		for _, l := range mustPreset(name) {
			m = max(m, l.Weight)
		}
	}
	return m
}

// Example is a valid value of the field that differs from both its
// defaults (a bool whose defaults differ, from the CLI's): what the tests that walk the schema set, through the CLI, the
// URL and the worker, to prove every setting is wired everywhere.
func (f *Field) Example() string {
	choices := f.Choices
	if len(f.PageChoices) > 0 {
		choices = f.PageChoices
	}
	switch f.Kind {
	case Int:
		step := max(f.Step, 1)
		low := 0.0
		if f.HasMin {
			low = f.Min
		}
		return strconv.Itoa(int(low + 3*step))
	case Float:
		return "0.75"
	case Bool:
		return "1"
	case Choice:
		return choices[len(choices)-1]
	case Layers:
		return choices[len(choices)-2]
	case LayerWeights:
		return choices[0] + ":0.5," + choices[2] + ":0.25"
	case Floats:
		return "0.5,1"
	case Masks:
		return exampleMask()
	case Regions:
		return "2:0.5"
	}
	return ""
}
