package cremabench

import (
	"context"
	"image"
	"image/color"
	"math/rand/v2"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
)

// Settings are the transfer settings of the benchmark's work.
func Settings(opt Options, iterations int) transfer.Settings {
	s := transfer.Settings{
		ImageSize:     opt.Size,
		Iterations:    iterations,
		ContentWeight: 1,
		StyleWeight:   1,
		ContentLayers: []string{ContentLayer},
		StyleStat:     "gram",
		StyleCost:     "mse",
		StyleScale:    1,
		Init:          "image",
		Optimizer:     "adam",
		LearningRate:  1,
		Pooling:       opt.Pooling,
		Seed:          int64(opt.Seed),
	}
	for _, l := range StyleLayers {
		s.StyleLayers = append(s.StyleLayers, transfer.LayerWeight{Layer: l, Weight: 1 / float64(len(StyleLayers))})
	}
	if opt.Preview {
		s.PreviewEvery = 1
	}
	return s
}

// noiseImage is a reproducible size×size RGB noise image.
func noiseImage(rng *rand.Rand, size int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			img.SetRGBA(x, y, color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
		}
	}
	return img
}

// runTransfer runs the work through a session on b (transfer.Run), marking
// c at each progress report.
func runTransfer(ctx context.Context, b kernels.Backend, src model.WeightSource, opt Options, c *iterClock) error {
	rng := rand.New(rand.NewPCG(opt.Seed, 11))
	job := transfer.Job{
		Content: noiseImage(rng, opt.Size),
		Styles:  []image.Image{noiseImage(rng, opt.Size)},
	}
	// One more update than asked: the first interval starts at the report of
	// iteration 0, not at the setup.
	job.Settings = Settings(opt, opt.Iterations+1)
	hooks := transfer.Hooks{
		Progress: func(p transfer.Progress) { c.mark(p.Total) },
		Preview: func(iter int, _ *image.RGBA) {
			if iter >= 1 {
				c.previewed()
			}
		},
	}
	c.begin()
	sess, err := session.NewWith(b.Name(), func(string) (kernels.Backend, string, error) { return b, "", nil })
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := sess.Load(src); err != nil {
		return err
	}
	_, err = sess.Run(ctx, job, hooks)
	// Keep exactly Iterations intervals.
	if len(c.marks) > opt.Iterations+1 {
		c.marks = c.marks[:opt.Iterations+1]
		c.losses = c.losses[:opt.Iterations+1]
	}
	return err
}
