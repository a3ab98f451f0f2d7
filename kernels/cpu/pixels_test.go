package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// TestConvPixels: Conv3x3Pixels and Conv3x3InputGradPixels give exactly the
// columns [p0, p1) of Conv3x3's and Conv3x3InputGrad's outputs (the same
// products, summed in the same order), for ranges that start and end inside
// image rows, single pixels, the whole image, and images narrower and wider
// than a panel, with one worker and several. The Kept variants (weights
// packed once, in a Weights shared by every range) give the same bits.
func TestConvPixels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, workers := range []int{1, 3} {
		c := cpu.New(workers)
		for _, s := range []kernels.ConvShape{{Cin: 3, Cout: 5, H: 7, W: 9}, {Cin: 20, Cout: 33, H: 11, W: 23}, {Cin: 64, Cout: 8, H: 5, W: 40}} {
			hw := s.H * s.W
			x := kerneltest.Uniform(r, s.Cin*hw, -1, 1)
			w := kerneltest.Uniform(r, s.Cout*s.Cin*9, -0.3, 0.3)
			b := kerneltest.Uniform(r, s.Cout, -0.3, 0.3)
			g := kerneltest.Uniform(r, s.Cout*hw, -1, 1)
			y := make([]float32, s.Cout*hw)
			c.Conv3x3(naive.Wrap(y), naive.Wrap(x), naive.Wrap(w), naive.Wrap(b), s)
			dx := make([]float32, s.Cin*hw)
			c.Conv3x3InputGrad(naive.Wrap(dx), naive.Wrap(g), naive.Wrap(w), s)
			kw, err := cpu.NewWeights(w, s.Cin, s.Cout)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range [][2]int{{0, hw}, {0, 1}, {hw - 1, hw}, {s.W / 2, hw/2 + 3}, {s.W + 1, 3*s.W - 1}, {hw / 3, hw}} {
				p0, p1 := pr[0], pr[1]
				name := fmt.Sprintf("workers=%d %+v pixels [%d,%d)", workers, s, p0, p1)
				got := make([]float32, s.Cout*(p1-p0))
				c.Conv3x3Pixels(naive.Wrap(got), naive.Wrap(x), naive.Wrap(w), naive.Wrap(b), s, p0, p1)
				sameColumns(t, name+" forward", got, y, s.Cout, hw, p0, p1)
				gotDx := make([]float32, s.Cin*(p1-p0))
				c.Conv3x3InputGradPixels(naive.Wrap(gotDx), naive.Wrap(g), naive.Wrap(w), s, p0, p1)
				sameColumns(t, name+" input gradient", gotDx, dx, s.Cin, hw, p0, p1)
				kept := make([]float32, len(got))
				c.Conv3x3PixelsKept(naive.Wrap(kept), naive.Wrap(x), kw, naive.Wrap(b), s, p0, p1)
				sameBits(t, name+" forward, kept weights", kept, got)
				keptDx := make([]float32, len(gotDx))
				c.Conv3x3InputGradPixelsKept(naive.Wrap(keptDx), naive.Wrap(g), kw, s, p0, p1)
				sameBits(t, name+" input gradient, kept weights", keptDx, gotDx)
			}
		}
	}
}

// TestWeightsKept: one Weights serves every micro-kernel (each packs its
// own panels, kept side by side), and a second call reuses them with the
// same result; NewWeights refuses weights of the wrong length.
func TestWeightsKept(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	s := kernels.ConvShape{Cin: 13, Cout: 21, H: 6, W: 19}
	hw := s.H * s.W
	x := kerneltest.Uniform(r, s.Cin*hw, -1, 1)
	g := kerneltest.Uniform(r, s.Cout*hw, -1, 1)
	w := kerneltest.Uniform(r, s.Cout*s.Cin*9, -0.3, 0.3)
	b := kerneltest.Uniform(r, s.Cout, -0.3, 0.3)
	kw, err := cpu.NewWeights(w, s.Cin, s.Cout)
	if err != nil {
		t.Fatal(err)
	}
	ref := naive.Backend{}
	y := make([]float32, s.Cout*hw)
	ref.Conv3x3(naive.Wrap(y), naive.Wrap(x), naive.Wrap(w), naive.Wrap(b), s)
	dx := make([]float32, s.Cin*hw)
	mask := make([]float32, s.Cout*hw) // all positive: Conv3x3Backward's mask keeps g whole
	for i := range mask {
		mask[i] = 1
	}
	ref.Conv3x3Backward(naive.Wrap(dx), naive.Wrap(g), naive.Wrap(mask), naive.Wrap(w), s)
	for _, name := range cpu.MicroKernelNames() {
		c, err := cpu.NewWithKernel(2, name)
		if err != nil {
			t.Fatal(err)
		}
		for call := 1; call <= 2; call++ {
			got := make([]float32, len(y))
			c.Conv3x3PixelsKept(naive.Wrap(got), naive.Wrap(x), kw, naive.Wrap(b), s, 0, hw)
			sameColumns(t, fmt.Sprintf("%s call %d forward", name, call), got, y, s.Cout, hw, 0, hw)
			gotDx := make([]float32, len(dx))
			c.Conv3x3InputGradPixelsKept(naive.Wrap(gotDx), naive.Wrap(g), kw, s, 0, hw)
			sameColumns(t, fmt.Sprintf("%s call %d input gradient", name, call), gotDx, dx, s.Cin, hw, 0, hw)
		}
	}
	if _, err := cpu.NewWeights(w[1:], s.Cin, s.Cout); err == nil || err.Error() != "cpu: 2456 weights for a 13 → 21 convolution, want 2457" {
		t.Errorf("NewWeights with one weight short: %v", err)
	}
}

// sameBits checks that got and want are the same floats, bit for bit.
func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d is %v, want %v", name, i, got[i], want[i])
		}
	}
}

// sameColumns checks got [rows, p1-p0] against columns [p0, p1) of want
// [rows, hw], within 1e-6 relative to the largest value (the order of the
// sums is the same; only the micro-kernel's FMA grouping may differ).
func sameColumns(t *testing.T, name string, got, want []float32, rows, hw, p0, p1 int) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	n := p1 - p0
	for i := range rows {
		for j := range n {
			g, w := got[i*n+j], want[i*hw+p0+j]
			if math.Abs(float64(g-w)) > 1e-6*scale {
				t.Fatalf("%s: row %d pixel %d is %v, want %v", name, i, p0+j, g, w)
			}
		}
	}
}
