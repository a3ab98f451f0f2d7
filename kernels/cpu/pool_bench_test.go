package cpu_test

import (
	"math/rand"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/naive"
)

// poolInput is conv1_2's output at the page's 256 px (256×170), zero about
// half the time in no order, as after a ReLU.
func poolInput() (kernels.PoolShape, []float32) {
	s := kernels.PoolShape{C: 64, H: 170, W: 256}
	r := rand.New(rand.NewSource(1))
	x := make([]float32, s.C*s.H*s.W)
	for i := range x {
		if r.Intn(2) == 0 {
			x[i] = r.Float32()
		}
	}
	return s, x
}

// poolBranch is max pooling with a branch per comparison (the kernel
// before moreMax), the twin BenchmarkPool2x2 sets the backend against.
func poolBranch(d, xs []float32, s kernels.PoolShape) {
	oh, ow := s.OutH(), s.OutW()
	for ch := 0; ch < s.C; ch++ {
		for y := 0; y < oh; y++ {
			r0 := xs[(ch*s.H+2*y)*s.W:]
			r1 := xs[(ch*s.H+2*y+1)*s.W:]
			for j := 0; j < ow; j++ {
				v := r0[2*j]
				if e := r0[2*j+1]; e > v {
					v = e
				}
				if e := r1[2*j]; e > v {
					v = e
				}
				if e := r1[2*j+1]; e > v {
					v = e
				}
				d[(ch*oh+y)*ow+j] = v
			}
		}
	}
}

// BenchmarkPool2x2: max pooling and its gradient on one thread (as the
// browser's worker runs them), against the branching twin.
//
//	GOOS=js GOARCH=wasm go test -c -o /tmp/cpu.wasm ./kernels/cpu/ &&
//	  tools/wasmtest/gowasm-browser /tmp/cpu.wasm -test.run xxx -test.bench 'Pool2x2|Fill' -test.benchtime 20x
func BenchmarkPool2x2(b *testing.B) {
	s, xs := poolInput()
	c := cpu.New(1)
	x, y := naive.Wrap(xs), naive.Wrap(make([]float32, s.C*s.OutH()*s.OutW()))
	dx := naive.Wrap(make([]float32, len(xs)))
	b.Run("forward/branch", func(b *testing.B) {
		b.SetBytes(int64(5 * len(xs)))
		for b.Loop() {
			poolBranch(naive.Data(y), xs, s)
		}
	})
	b.Run("forward", func(b *testing.B) {
		b.SetBytes(int64(5 * len(xs)))
		for b.Loop() {
			c.Pool2x2(y, x, s, kernels.MaxPool)
		}
	})
	b.Run("backward", func(b *testing.B) {
		b.SetBytes(int64(9 * len(xs)))
		for b.Loop() {
			c.Pool2x2Backward(dx, y, x, s, kernels.MaxPool)
		}
	})
}

// BenchmarkFill: the backend's Fill (a clear, or doubling copies) against a
// loop of stores, on one thread.
func BenchmarkFill(b *testing.B) {
	_, xs := poolInput()
	c := cpu.New(1)
	x := naive.Wrap(xs)
	for _, f := range []struct {
		name string
		v    float32
	}{{"zero", 0}, {"value", 0.5}} {
		v := f.v
		b.Run(f.name+"/loop", func(b *testing.B) {
			b.SetBytes(int64(4 * len(xs)))
			for b.Loop() {
				for i := range xs {
					xs[i] = v
				}
			}
		})
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(xs)))
			for b.Loop() {
				c.Fill(x, v)
			}
		})
	}
}
