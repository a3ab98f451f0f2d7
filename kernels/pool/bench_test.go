package pool_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/pool"
)

// BenchmarkPoolConv times one forward and one input-gradient convolution
// (conv2_2's shape at a 128² input: 128→128 channels at 64²) on one
// thread (helpers=0), and split over in-process helpers (pool.Local:
// goroutines, with the copies a Web Worker transport makes), the caller
// taking a share or only coordinating. Natively it shows the split's cost
// and what the machine's free cores give; BENCHMARKS.md, "Every core".
//
//	go test -run xxx -bench PoolConv -benchtime 5x ./kernels/pool/
func BenchmarkPoolConv(b *testing.B) {
	s := kernels.ConvShape{Cin: 128, Cout: 128, H: 64, W: 64}
	for _, c := range []struct {
		helpers   int
		mainShare bool
	}{{0, true}, {1, true}, {1, false}, {2, false}, {2, true}} {
		b.Run(fmt.Sprintf("helpers=%d,main=%v", c.helpers, c.mainShare), func(b *testing.B) {
			opts := pool.DefaultOptions()
			opts.MainShare = c.mainShare
			p := pool.New(c.helpers, pool.Transfer, opts)
			defer p.Close()
			for i := 0; i < c.helpers; i++ {
				p.Join(pool.NewLocal(0, false), fmt.Sprintf("helper %d", i+1))
			}
			be := p.Wrap(cpu.New(1))
			r := rand.New(rand.NewPCG(1, 2))
			w := kerneltest.Upload(b, be, kerneltest.Normal(r, s.Cout*s.Cin*9, 0.05))
			bias := kerneltest.Upload(b, be, kerneltest.Uniform(r, s.Cout, -0.1, 0.1))
			x := kerneltest.Upload(b, be, kerneltest.Uniform(r, s.Cin*s.H*s.W, 0, 1))
			dy := kerneltest.Upload(b, be, kerneltest.Uniform(r, s.Cout*s.H*s.W, -1, 1))
			y, _ := be.Alloc(s.Cout * s.H * s.W)
			dx, _ := be.Alloc(s.Cin * s.H * s.W)
			be.Conv3x3(y, x, w, bias, s) // the weights go to the helpers
			be.Conv3x3Backward(dx, dy, y, w, s)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				be.Conv3x3(y, x, w, bias, s)
				be.Conv3x3Backward(dx, dy, y, w, s)
			}
			b.ReportMetric(2*s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
