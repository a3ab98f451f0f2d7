// Package transfer is Gatys et al.'s style transfer as an optimisation over
// the image: settings, the loop that runs an optimiser on the VGG-19 losses,
// progress reports and previews. The CLI (tools/crema) and the browser worker
// (wasm/) are both thin shells around Run.
package transfer

import "image"

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
	StyleLayers    []LayerWeight `json:"style_layers"`
	StyleStat      string        `json:"style_stat"` // gram, cov, meanstd, mmd
	StyleCost      string        `json:"style_cost"` // mse, swd
	StyleBlend     []float64     `json:"style_blend_weights"`
	StyleScale     float64       `json:"style_scale"`
	OriginalColors bool          `json:"original_colors"`
	Init           string        `json:"init"`      // image (the content), random, or given (Job.Init)
	Optimizer      string        `json:"optimizer"` // lbfgs, adam
	LearningRate   float64       `json:"learning_rate"`
	LBFGSHistory   int           `json:"lbfgs_num_correction"`
	Pooling        string        `json:"pooling"` // max, avg
	Seed           int64         `json:"seed"`
	CoarseToFine   bool          `json:"coarse_to_fine"`
	PreviewEvery   int           `json:"preview_every"` // iterations between previews; 0: none
}

// Progress is reported after every update (Iter t is the image after t
// updates; t = 0 is the initial image). Its JSON is one line of the CLI's
// -log file.
type Progress struct {
	Iter    int                `json:"iter"`
	Total   float64            `json:"total"`
	Content float64            `json:"content"`
	Style   map[string]float64 `json:"style"` // unweighted J_s^l per layer
	TV      float64            `json:"tv"`
	MS      float64            `json:"ms"`             // since the start of the run
	Note    string             `json:"note,omitempty"` // e.g. a rollback after NaN, a backend switch
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
}
