// Package transfer is Gatys et al.'s style transfer as an optimisation over
// the image: the settings, the loop that runs an optimiser on the VGG-19
// losses, progress reports and previews. Shells run it through
// model/session, which owns the backend and the weights.
//
// It owns the settings: Schema (schema.go) is the one definition of every
// setting — its name (the CLI flag, JSON field and URL parameter alike),
// kind, CLI and page defaults, limits, choices and help — from which Set,
// Get, Values, SetValues, Defaults, PageDefaults and the range checks of
// Validate are derived, and which the CLI's flags and the page's controls
// are built from. Validate adds the checks across settings and against the
// loaded weights; Run calls it. Beside them: the style-layer presets
// (Preset, PresetNames), ParseLayers for "conv1_1:0.8,conv2_1:0.2", the
// page's layers (PageStyleLayers, PageDeepest), and plain-Go image helpers
// (DecodeImage, LoadImage, Resize, FitSize). The losses are in model/style,
// the optimisers in model/optim, layer names in model.
//
// Control (Gatys et al. 2017):
//
//   - Spatial control: content_masks split the output into regions (one
//     mask per region; region i takes style image i, or what region_styles
//     says, with a weight); style_masks restrict which part of each style
//     image counts. Masks are settings like any other, as text (ParseMask,
//     FormatMask: a PNG in base64url), so a link, the worker and the CLI
//     carry them alike. Run resizes them to each stage's images and
//     model/style carries them down to every style layer (style.Guide) and
//     computes guided statistics: one loss per layer and region.
//   - Colour control (colors.go): original_colors is luminance-only
//     transfer; color_control matches RGB mean and covariance before the
//     run (match_content: the style images to the content; keep_style: the
//     content to the style's palette).
//   - The layer explorer (Explore): the tiles of texture synthesis from
//     noise with each style layer alone and the cumulative sets.
//
// High resolution (issue 13):
//
//   - The memory model (memory.go: PlanRun, EstimateMemory): the bytes a
//     run needs for its settings and images' sizes on each backend, from a
//     replay of its allocations, held against the device's budget (a GPU's,
//     the host's, or memory_limit) before any work: Run refuses what cannot
//     fit, with the largest size that does, and tiles what fits only in
//     tiles.
//   - Tiled optimisation (tile.go): a stage larger than tile_size (or that
//     does not fit) is optimised tile by tile, with a margin of context for
//     the receptive field, a feathered change, and a grid shifted at random
//     every pass; style targets once, at the style's scale, through
//     windows; content targets and masks per tile.
package transfer

import (
	"image"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
)

// LayerWeight is one style layer and its weight λ_l.
type LayerWeight struct {
	Layer  string  `json:"layer"`
	Weight float64 `json:"weight"`
}

// Settings is everything that shapes a run. The JSON names are those of the
// page's URL and the worker protocol; the CLI flags are neural-style's.
type Settings struct {
	ImageSize      int           `json:"image_size"` // long side of the output, pixels
	Iterations     int           `json:"num_iterations"`
	ContentWeight  float64       `json:"content_weight"` // α
	StyleWeight    float64       `json:"style_weight"`   // β
	TVWeight       float64       `json:"tv_weight"`      // γ
	ContentLayers  []string      `json:"content_layers"`
	StyleLayers    []LayerWeight `json:"style_layers"` // when empty, Preset's
	Preset         string        `json:"preset"`       // even, early, late: used when StyleLayers is empty
	StyleStat      string        `json:"style_stat"`   // gram, cov, meanstd, mmd
	StyleCost      string        `json:"style_cost"`   // mse, swd
	StyleBlend     []float64     `json:"style_blend_weights"`
	StyleScale     float64       `json:"style_scale"`
	OriginalColors bool          `json:"original_colors"`
	ColorControl   string        `json:"color_control"` // none, match_content, keep_style
	ContentMasks   []string      `json:"content_masks"` // encoded masks (FormatMask), one per region
	StyleMasks     []string      `json:"style_masks"`   // encoded masks, one per style image ("": all of it)
	RegionStyles   []RegionStyle `json:"region_styles"` // per region; empty: region i takes style i
	MaskErode      bool          `json:"mask_erode"`
	Init           string        `json:"init"`      // image (the content), random, or given (Job.Init)
	Optimizer      string        `json:"optimizer"` // lbfgs, adam
	LearningRate   float64       `json:"learning_rate"`
	LBFGSHistory   int           `json:"lbfgs_num_correction"`
	Pooling        string        `json:"pooling"` // max, avg
	Seed           int64         `json:"seed"`
	CoarseToFine   bool          `json:"coarse_to_fine"`
	PreviewEvery   int           `json:"preview_every"` // iterations between previews; 0: none
	// High resolution (issue 13; memory.go, tile.go).
	TileSize    int `json:"tile_size"`    // tiles' side, pixels; 0: tiles only when the run does not fit
	TilePasses  int `json:"tile_passes"`  // passes over the tiles of a tiled stage
	MemoryLimit int `json:"memory_limit"` // MiB the run may use; 0: the device's budget (memory.go)
}

// Progress is reported after every update (Iter t is the image after t
// updates; t = 0 is the initial image). Its JSON is one line of the CLI's
// -log file.
type Progress struct {
	Iter    int                `json:"iter"`
	Total   float64            `json:"total"`
	Content float64            `json:"content"`
	Style   map[string]float64 `json:"style"` // unweighted J_s^l per layer (with regions: Σ_r weight_r·J_s^{l,r})
	// Regions, with content_masks: each region's unweighted J_s^{l,r} per
	// layer, in the order of the masks.
	Regions map[string][]float64 `json:"regions,omitempty"`
	TV      float64              `json:"tv"`
	MS      float64              `json:"ms"`             // since the start of the run
	Note    string               `json:"note,omitempty"` // e.g. a rollback after NaN, a backend switch
	// In a tiled stage (tile.go): the tile being optimised (1-based) of
	// the pass's Tiles, the pass of Passes, and the tile's core in the
	// output's pixels (x0, y0, x1, y1); the losses are the tile's. Absent
	// when the stage is not tiled.
	Tile     int     `json:"tile,omitempty"`
	Tiles    int     `json:"tiles,omitempty"`
	Pass     int     `json:"pass,omitempty"`
	Passes   int     `json:"passes,omitempty"`
	TileRect *[4]int `json:"tile_rect,omitempty"`
}

// Job is one run: images and settings.
type Job struct {
	Content  image.Image
	Styles   []image.Image
	Init     image.Image // used when Settings.Init == "given"
	Settings Settings
}

// Hooks receive what a run produces as it goes. Any may be nil. They are
// called on the run's goroutine; a slow hook slows the run (a hook may block
// to pause it).
type Hooks struct {
	Progress func(Progress)
	Preview  func(iter int, img *image.RGBA)
	// Fallback, when set, is called once if the backend reports a GPU
	// error (kernels.ErrDevice: a lost device, a validation, out-of-memory
	// or internal error); the run continues on the backend and net it
	// returns from the last host snapshot (taken every few iterations while
	// a Fallback is set), with a Note saying so.
	Fallback func() (kernels.Backend, *model.Net, error)
}
