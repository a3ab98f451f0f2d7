package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
)

// BenchmarkForwardBackward times one forward pass to conv5_1 and one input
// gradient from the five style layers and conv4_2 (the work of one
// style-transfer evaluation, without the losses) on the CPU backend.
//
//	go test ./model -run '^$' -bench ForwardBackward -benchtime 3x
func BenchmarkForwardBackward(b *testing.B) {
	for _, size := range []int{128, 256} {
		b.Run(fmt.Sprintf("%d", size), func(b *testing.B) {
			be := kernels.NewCPU(0)
			net, err := New(be, NewSynthetic(1, "conv5_1"))
			if err != nil {
				b.Fatal(err)
			}
			layers := []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv4_2"}
			p, err := net.NewPass(size, size, kernels.AvgPool, layers)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			x, _ := be.Alloc(3 * size * size)
			be.Write(x, randVec(rng, x.Len(), 50))
			dx, _ := be.Alloc(x.Len())
			grads := map[string]kernels.Tensor{}
			for _, name := range layers {
				_, s, _ := p.Feature(name)
				g, _ := be.Alloc(s.Len())
				be.Write(g, randVec(rng, s.Len(), 1))
				grads[name] = g
			}
			b.ResetTimer()
			for range b.N {
				p.Forward(x)
				if err := p.Backward(dx, grads); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/iter")
		})
	}
}
