package cpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels/cpu"
)

// maskBranch is MaskReLU as written before it became branch-free: the
// reference it must equal bit for bit.
func maskBranch(dst, dy, y []float32) {
	for i := range dst {
		if y[i] > 0 {
			dst[i] = dy[i]
		} else {
			dst[i] = 0
		}
	}
}

// maskInputs returns n gradients and ReLU outputs: y is +0 about half the
// time, as after a ReLU, with every edge value (±0, ±Inf, NaN, the
// smallest and largest finite floats, negatives) at the start.
func maskInputs(n int) (dy, y []float32) {
	rng := rand.New(rand.NewPCG(3, 4))
	edges := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(1), math.Float32frombits(0x80000001), math.MaxFloat32, -math.MaxFloat32, -1, 1,
		math.Float32frombits(0x7f7fffff), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000)}
	dy, y = make([]float32, n), make([]float32, n)
	for i := range y {
		dy[i] = float32(rng.NormFloat64())
		if rng.IntN(2) == 0 {
			y[i] = float32(rng.ExpFloat64())
		}
	}
	copy(y, edges)
	dy[0], dy[1] = float32(math.NaN()), float32(math.Copysign(0, -1)) // a NaN and a −0 gradient where y is +0 and −0
	dy[len(edges)] = float32(math.NaN())                              // and a NaN where y > 0 (random: half the time)
	y[len(edges)] = 2
	return dy, y
}

func TestMaskReLU(t *testing.T) {
	dy, y := maskInputs(1000)
	want, got := make([]float32, len(y)), make([]float32, len(y))
	maskBranch(want, dy, y)
	cpu.MaskReLU(got, dy, y)
	kept := 0
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("y=%v dy=%v: got %v (%#x), want %v (%#x)", y[i], dy[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
		if y[i] > 0 {
			kept++
		}
	}
	if kept < 400 || kept > 600 {
		t.Errorf("%d of %d gradients kept; the inputs should keep about half", kept, len(y))
	}
	// y longer than dst: only its first len(dst) are read.
	short := make([]float32, 3)
	cpu.MaskReLU(short, []float32{1, 2, 3}, []float32{1, 0, 5, -1})
	if short[0] != 1 || short[1] != 0 || short[2] != 3 {
		t.Errorf("MaskReLU with a longer y: %v, want [1 0 3]", short)
	}
}

// BenchmarkMaskReLU: the branch-free mask against the branch it replaced,
// on a ReLU's outputs (half of them +0, in random order).
func BenchmarkMaskReLU(b *testing.B) {
	dy, y := maskInputs(1 << 20)
	dst := make([]float32, len(y))
	for _, c := range []struct {
		name string
		f    func(dst, dy, y []float32)
	}{{"branch-free", cpu.MaskReLU}, {"branch", maskBranch}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(12 * len(y)))
			for b.Loop() {
				c.f(dst, dy, y)
			}
		})
	}
}
