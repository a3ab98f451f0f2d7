// Package cremabench is crema's side of `make bench`: the benchmark's work
// (VGG-19 to conv5_1, content layer conv4_2, style layers conv1_1 … conv5_1,
// Gram-matrix MSE style loss and content MSE, the gradient with respect to
// the input image and one Adam step per iteration) on a kernels.Backend,
// timed per iteration, plus a per-operation profile of one iteration.
//
// The work runs through model/session and transfer.Run, the product's own
// path (settings: Settings). Each iteration ends with a read-back of the
// losses, so a GPU backend has finished it before the clock is read.
//
// The Go wasm main in tools/bench/cremawasm exposes Bench and Profile to the
// JavaScript harness (tools/bench/bench.mjs in Chromium, gpu.mjs under node).
package cremabench

import (
	"context"
	"fmt"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
)

// Layers of the benchmark's work.
var (
	// ContentLayer is the content-loss layer.
	ContentLayer = "conv4_2"
	// StyleLayers are the Gram-loss layers, equally weighted.
	StyleLayers = []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"}
	// Deepest is the last conv the network is built to.
	Deepest = "conv5_1"
)

// Options shape one benchmark job.
type Options struct {
	Size       int    `json:"size"`       // the image is Size×Size
	Iterations int    `json:"iterations"` // updates to time
	Pooling    string `json:"pooling"`    // "max" or "avg"
	Seed       uint64 `json:"seed"`       // synthetic weights and images
	// Preview asks for a preview after the first update; its time from the
	// start of the job (weights upload included) is FirstPreviewMS.
	Preview bool `json:"preview"`

	onMark func() // called at each mark of the clock (profiling)
}

// Result is what one job measured. Times are milliseconds.
type Result struct {
	Backend  string `json:"backend"`
	Describe string `json:"describe"`
	// SetupMS is from the start of the job (weights upload) to the start of
	// the first timed update: targets, buffers, first compilations.
	SetupMS float64 `json:"setup_ms"`
	// IterMS holds the wall time of each update: forward, input gradient,
	// Adam step and the losses' read-back.
	IterMS []float64 `json:"iter_ms"`
	// FirstPreviewMS is from the start of the job to the first preview image
	// on the host (0 when no preview was asked for).
	FirstPreviewMS float64   `json:"first_preview_ms"`
	Losses         []float64 `json:"losses"` // total loss after each update
}

func (o *Options) defaults() error {
	if o.Size < 32 {
		return fmt.Errorf("cremabench: size %d is below 32 (VGG pools four times before conv5_1)", o.Size)
	}
	if o.Iterations < 1 {
		o.Iterations = 1
	}
	if o.Pooling == "" {
		o.Pooling = "avg"
	}
	if o.Pooling != "avg" && o.Pooling != "max" {
		return fmt.Errorf("cremabench: pooling %q (want max or avg)", o.Pooling)
	}
	return nil
}

// Bench runs one job on b with weights src and reports its timings.
func Bench(ctx context.Context, b kernels.Backend, src model.WeightSource, opt Options) (Result, error) {
	if err := opt.defaults(); err != nil {
		return Result{}, err
	}
	res := Result{Backend: b.Name(), Describe: b.Describe()}
	clock := iterClock{onMark: opt.onMark}
	err := runTransfer(ctx, b, src, opt, &clock)
	clock.fill(&res)
	return res, err
}

// iterClock records the times of a job's milestones.
type iterClock struct {
	start   time.Time
	marks   []time.Time // end of each update (marks[0]: start of the first)
	losses  []float64
	preview time.Time
	onMark  func()
}

func (c *iterClock) begin() { c.start = time.Now() }
func (c *iterClock) mark(loss float64) {
	c.marks = append(c.marks, time.Now())
	c.losses = append(c.losses, loss)
	if c.onMark != nil {
		c.onMark()
	}
}
func (c *iterClock) previewed() {
	if c.preview.IsZero() {
		c.preview = time.Now()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (c *iterClock) fill(r *Result) {
	if len(c.marks) > 0 {
		r.SetupMS = ms(c.marks[0].Sub(c.start))
		r.Losses = c.losses[1:]
	}
	for i := 1; i < len(c.marks); i++ {
		r.IterMS = append(r.IterMS, ms(c.marks[i].Sub(c.marks[i-1])))
	}
	if !c.preview.IsZero() {
		r.FirstPreviewMS = ms(c.preview.Sub(c.start))
	}
}
