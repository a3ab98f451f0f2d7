package webgpu_test

// Browser benchmarks of the WebGPU backend next to the CPU backend compiled
// to WebAssembly, in the same page:
//
//   GOOS=js GOARCH=wasm go test -exec "$PWD/tools/wasmtest/gowasm-browser" \
//       -run xxx -bench 'WebGPU' -benchtime=3x ./kernels/webgpu/
//
// CREMA_BENCH_SIZES (default "64,128") picks the image sizes;
// CREMA_BENCH_BACKENDS (default "webgpu,cpu") the backends. The whole
// style-transfer iteration is model/transfer's BenchmarkWebGPUIteration.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/kerneltest"
)

func benchSizes() []int {
	spec := os.Getenv("CREMA_BENCH_SIZES")
	if spec == "" {
		spec = "64,128"
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func benchBackends(b *testing.B) []kernels.Backend {
	spec := os.Getenv("CREMA_BENCH_BACKENDS")
	if spec == "" {
		spec = "webgpu,cpu"
	}
	var out []kernels.Backend
	for _, name := range strings.Split(spec, ",") {
		be, _, err := backends.Open(name)
		if err != nil {
			b.Fatalf("Open(%s): %v", name, err)
		}
		out = append(out, be)
	}
	return out
}

// randTensor uploads n values uniform in [lo, hi).
func randTensor(b *testing.B, be kernels.Backend, rng *rand.Rand, n int, lo, hi float32) kernels.Tensor {
	return kerneltest.Upload(b, be, kerneltest.Uniform(rng, n, lo, hi))
}

// timeOps runs op b.N times after one warm-up and waits for the device by
// reading one element of sync; it reports GFLOP/s for flops per op.
func timeOps(b *testing.B, be kernels.Backend, sync kernels.Tensor, flops float64, op func()) {
	one := make([]float32, 1)
	op()
	if err := be.ReadAt(one, sync, 0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		op()
	}
	if err := be.ReadAt(one, sync, 0); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(flops*float64(b.N)/el.Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(el.Seconds()*1e3/float64(b.N), "ms/op")
}

func BenchmarkWebGPUConv(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, be := range benchBackends(b) {
		for _, s := range benchSizes() {
			for _, c := range kerneltest.VGGConvs(s) {
				cs := c.Shape
				b.Run(fmt.Sprintf("%s/%d/%s/fwd", be.Name(), s, c.Name), func(b *testing.B) {
					x := randTensor(b, be, rng, cs.Cin*cs.H*cs.W, 0, 1)
					w := randTensor(b, be, rng, cs.Cout*cs.Cin*9, -0.1, 0.1)
					bias := randTensor(b, be, rng, cs.Cout, -0.1, 0.1)
					y := randTensor(b, be, rng, cs.Cout*cs.H*cs.W, 0, 0)
					defer func() { be.Free(x); be.Free(w); be.Free(bias); be.Free(y) }()
					timeOps(b, be, y, cs.FLOPs(), func() { be.Conv3x3(y, x, w, bias, cs) })
				})
				b.Run(fmt.Sprintf("%s/%d/%s/bwd", be.Name(), s, c.Name), func(b *testing.B) {
					dy := randTensor(b, be, rng, cs.Cout*cs.H*cs.W, -1, 1)
					y := randTensor(b, be, rng, cs.Cout*cs.H*cs.W, -1, 1)
					w := randTensor(b, be, rng, cs.Cout*cs.Cin*9, -0.1, 0.1)
					dx := randTensor(b, be, rng, cs.Cin*cs.H*cs.W, 0, 0)
					defer func() { be.Free(dy); be.Free(y); be.Free(w); be.Free(dx) }()
					timeOps(b, be, dx, cs.FLOPs(), func() { be.Conv3x3Backward(dx, dy, y, w, cs) })
				})
			}
		}
	}
}

// BenchmarkWebGPUGram is the Gram matrix of a conv1_1 and a conv3_1 feature
// map (MatMul with transB), and the matching style-gradient product G·F.
func BenchmarkWebGPUGram(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, be := range benchBackends(b) {
		for _, s := range benchSizes() {
			for _, l := range []struct {
				name  string
				c, hw int
			}{{"conv1_1", 64, s * s}, {"conv3_1", 256, s * s / 16}} {
				b.Run(fmt.Sprintf("%s/%d/%s/gram", be.Name(), s, l.name), func(b *testing.B) {
					f := randTensor(b, be, rng, l.c*l.hw, 0, 1)
					g := randTensor(b, be, rng, l.c*l.c, 0, 0)
					defer func() { be.Free(f); be.Free(g) }()
					timeOps(b, be, g, 2*float64(l.c*l.c*l.hw), func() {
						be.MatMul(g, f, f, l.c, l.c, l.hw, false, true, 1, 0)
					})
				})
				b.Run(fmt.Sprintf("%s/%d/%s/GF", be.Name(), s, l.name), func(b *testing.B) {
					f := randTensor(b, be, rng, l.c*l.hw, 0, 1)
					g := randTensor(b, be, rng, l.c*l.c, -1, 1)
					d := randTensor(b, be, rng, l.c*l.hw, 0, 0)
					defer func() { be.Free(f); be.Free(g); be.Free(d) }()
					timeOps(b, be, d, 2*float64(l.c*l.c*l.hw), func() {
						be.MatMul(d, g, f, l.c, l.hw, l.c, false, false, 1, 0)
					})
				})
			}
		}
	}
}

// BenchmarkWebGPUSmallOps: pooling, a dot product and an Adam step at the
// size of conv1_2's output (Adam at the image's size), in GFLOP/s of one
// flop per element (a bandwidth figure, really).
func BenchmarkWebGPUSmallOps(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, be := range benchBackends(b) {
		for _, s := range benchSizes() {
			ps := kernels.PoolShape{C: 64, H: s, W: s}
			n := 64 * s * s
			b.Run(fmt.Sprintf("%s/%d/pool/fwd", be.Name(), s), func(b *testing.B) {
				x := randTensor(b, be, rng, n, -1, 1)
				y := randTensor(b, be, rng, n/4, 0, 0)
				defer func() { be.Free(x); be.Free(y) }()
				timeOps(b, be, y, float64(n), func() { be.Pool2x2(y, x, ps, kernels.MaxPool) })
			})
			b.Run(fmt.Sprintf("%s/%d/pool/bwd", be.Name(), s), func(b *testing.B) {
				x := randTensor(b, be, rng, n, -1, 1)
				dy := randTensor(b, be, rng, n/4, -1, 1)
				dx := randTensor(b, be, rng, n, 0, 0)
				defer func() { be.Free(x); be.Free(dy); be.Free(dx) }()
				timeOps(b, be, dx, float64(n), func() { be.Pool2x2Backward(dx, dy, x, ps, kernels.MaxPool) })
			})
			b.Run(fmt.Sprintf("%s/%d/dot", be.Name(), s), func(b *testing.B) {
				x := randTensor(b, be, rng, n, -1, 1)
				d := randTensor(b, be, rng, 1, 0, 0)
				defer func() { be.Free(x); be.Free(d) }()
				timeOps(b, be, d, 2*float64(n), func() { be.Dot(d, 0, x, x) })
			})
			m := 3 * s * s
			b.Run(fmt.Sprintf("%s/%d/adam", be.Name(), s), func(b *testing.B) {
				x := randTensor(b, be, rng, m, -1, 1)
				g := randTensor(b, be, rng, m, -1, 1)
				mm := randTensor(b, be, rng, m, 0, 0)
				v := randTensor(b, be, rng, m, 0, 0)
				defer func() { be.Free(x); be.Free(g); be.Free(mm); be.Free(v) }()
				step := 0
				timeOps(b, be, x, 10*float64(m), func() {
					step++
					be.Adam(x, g, mm, v, kernels.AdamParams{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: step})
				})
			})
		}
	}
}
