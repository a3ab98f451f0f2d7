package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// BenchmarkForwardBackward times one forward pass to conv5_1 and one input
// gradient from the five style layers and conv4_2 (the work of one
// style-transfer evaluation, without the losses) on the CPU backend.
//
//	go test ./model -run '^$' -bench ForwardBackward -benchtime 3x
func BenchmarkForwardBackward(b *testing.B) {
	for _, size := range []int{128, 256} {
		b.Run(fmt.Sprintf("%d", size), func(b *testing.B) {
			be := kernels.Checked(cpu.New(0))
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
			x := kerneltest.Upload(b, be, kerneltest.Normal(rng, 3*size*size, 50)) // [3, H, W]
			dx := kerneltest.Upload(b, be, make([]float32, x.Len()))               // [3, H, W]
			grads := map[string]kernels.Tensor{}
			for _, name := range layers {
				_, s, _ := p.Feature(name)
				grads[name] = kerneltest.Upload(b, be, kerneltest.Normal(rng, s.Len(), 1))
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
