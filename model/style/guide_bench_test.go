package style

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// BenchmarkGuidedLayer times one style loss's Forward with its gradient,
// unguided and guided by one region (half the positions), at the shapes of
// Gatys et al.'s five style layers for a 128² image, on the CPU backend.
// The two alternate, 20 rounds of 5 evaluations each, so that other work
// on a shared machine slows both alike; it reports the median ms of each
// and the median of the rounds' guided/unguided ratios:
//
//	go test -run xxx -bench GuidedLayer -benchtime 1x ./model/style/
func BenchmarkGuidedLayer(b *testing.B) {
	be := kernels.Checked(cpu.New(0))
	shapes := []struct {
		name string
		c, n int
	}{{"conv1_1", 64, 128 * 128}, {"conv2_1", 128, 64 * 64}, {"conv3_1", 256, 32 * 32}, {"conv4_1", 512, 16 * 16}, {"conv5_1", 512, 8 * 8}}
	for _, stat := range []string{Gram, Cov, MeanStd, MMD} {
		for _, sh := range shapes {
			b.Run(fmt.Sprintf("%s/%s", stat, sh.name), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				a := kerneltest.Upload(b, be, randomActs(rng, sh.c, sh.n))
				s := kerneltest.Upload(b, be, randomActs(rng, sh.c, sh.n))
				da := kerneltest.Upload(b, be, make([]float32, sh.c*sh.n))
				loss := kerneltest.Upload(b, be, make([]float32, 1))
				defer func() {
					for _, t := range []kernels.Tensor{a, s, da, loss} {
						be.Free(t)
					}
				}()
				guide := make([]float32, sh.n)
				for i := range guide[:sh.n/2] {
					guide[i] = 1
				}
				var layers [2]*Layer
				for k, g := range [][]float32{nil, guide} {
					l, err := NewGuidedLayer(be, Spec{Stat: stat}, sh.c, sh.n, g)
					if err != nil {
						b.Fatal(err)
					}
					defer l.Free()
					if err := l.AddGuidedTarget(s, sh.n, 1, g); err != nil {
						b.Fatal(err)
					}
					if err := l.Finish(); err != nil {
						b.Fatal(err)
					}
					layers[k] = l
				}
				var j [1]float32
				timeOf := func(l *Layer) float64 {
					t0 := time.Now()
					for range 5 {
						l.Forward(loss, 0, da, a, 1)
						if err := be.ReadAt(j[:], loss, 0); err != nil {
							b.Fatal(err)
						}
					}
					return float64(time.Since(t0).Microseconds()) / 5000
				}
				var plain, guided, ratio []float64
				for i := 0; i < b.N; i++ {
					for range 20 {
						p, g := timeOf(layers[0]), timeOf(layers[1])
						plain, guided, ratio = append(plain, p), append(guided, g), append(ratio, g/p)
					}
				}
				b.ReportMetric(median(plain), "ms-unguided")
				b.ReportMetric(median(guided), "ms-guided")
				b.ReportMetric(median(ratio), "ratio")
			})
		}
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
