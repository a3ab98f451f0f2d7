package main

import (
	"context"
	"fmt"
	"image"
	"testing"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
)

// mixedWeights is the real conv1_1 … conv3_4 with synthetic (He-normal)
// layers after them, so that the whole default network (to conv5_1) runs.
type mixedWeights struct {
	real  *weights.Weights
	synth *model.Synthetic
}

func (m mixedWeights) Tensor(name string) ([]float32, []int, bool) {
	if d, s, ok := m.real.Tensor(name); ok {
		return d, s, true
	}
	return m.synth.Tensor(name)
}

func (m mixedWeights) Preprocess() weights.Preprocess { return m.real.Preprocess() }

func (m mixedWeights) Info() (source, license string) {
	source, license = m.real.Info()
	return source + ", then synthetic layers", license
}

// BenchmarkTransfer times transfer iterations with the default settings
// (content conv4_2, the even preset to conv5_1, Gram/MSE) at 128² and 256²
// for both optimisers, on the CPU backend. It reports s/iter measured
// between the first and last Progress of a short run, so setup (style
// targets, the first evaluation) is excluded. Run with -benchtime 1x.
func BenchmarkTransfer(b *testing.B) {
	w := realWeights(b)
	sess, err := session.New("cpu")
	if err != nil {
		b.Fatal(err)
	}
	if err := sess.Load(mixedWeights{w, model.NewSynthetic(1, "")}); err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	load := func(name string) image.Image { return sampleImage(b, name) }
	content, style := load("astronaut.png"), load("coffee.png") // square content: 128² and 256² exactly
	const iters = 3
	for _, size := range []int{128, 256} {
		for _, opt := range []string{"lbfgs", "adam"} {
			b.Run(fmt.Sprintf("%s/%d", opt, size), func(b *testing.B) {
				s := transfer.Defaults()
				s.ImageSize, s.Iterations, s.Optimizer = size, iters, opt
				var perIter float64
				for i := 0; i < b.N; i++ {
					var t1, tn float64
					_, err := sess.Run(context.Background(), transfer.Job{Content: content, Styles: []image.Image{style}, Settings: s},
						transfer.Hooks{Progress: func(p transfer.Progress) {
							if p.Iter == 1 {
								t1 = p.MS
							}
							tn = p.MS
						}})
					if err != nil {
						b.Fatal(err)
					}
					perIter += (tn - t1) / 1000 / (iters - 1)
				}
				b.ReportMetric(perIter/float64(b.N), "s/iter")
			})
		}
	}
}
