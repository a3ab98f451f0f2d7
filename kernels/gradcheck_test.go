package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// Finite-difference checks of every gradient the backends compute, on the
// naive oracle and on the CPU backend: each analytic gradient is compared
// with the central difference (f(x+h·eᵢ) - f(x-h·eᵢ)) / 2h of a scalar loss
// evaluated in float64 from the float32 forward op. h = 1e-2: the losses
// are piecewise linear or quadratic in x, so the difference is exact up to
// float32 rounding of f (≈1e-7·|f| / 2h ≈ 1e-5), far inside gradTol.
const (
	fdStep  = 1e-2
	gradTol = 1e-3 // max|fd - analytic| / max|analytic|
)

func gradBackends() []kernels.Backend {
	return []kernels.Backend{kernels.Naive{}, kernels.NewCPU(2)}
}

func tensorOf(t *testing.T, b kernels.Backend, data []float32) kernels.Tensor {
	t.Helper()
	x, err := b.Alloc(len(data))
	if err != nil {
		t.Fatal(err)
	}
	b.Write(x, data)
	return x
}

func readAll(t *testing.T, b kernels.Backend, x kernels.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := b.Read(out, x); err != nil {
		t.Fatal(err)
	}
	return out
}

func randSlice(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

// checkGrad compares grad with the central difference of f at x. When
// kink is set, it returns a fingerprint of the piecewise-linear region of x
// (for example the ReLU mask), and coordinates whose ±h points leave the
// region of x are skipped (at most a tenth of them may be).
func checkGrad(t *testing.T, x []float32, grad []float32, f func(x []float32) float64, kink func(x []float32) string) {
	t.Helper()
	if len(grad) != len(x) {
		t.Fatalf("gradient has %d elements, want %d", len(grad), len(x))
	}
	var base string
	if kink != nil {
		base = kink(x)
	}
	fd := make([]float32, len(x))
	skipped := 0
	xp := append([]float32(nil), x...)
	for i := range x {
		ok := false
		// A coordinate whose ±h points leave x's region is retried with a
		// smaller step (float32 rounding of f costs ~1e-7·|f|/2h).
		for _, h := range []float32{fdStep, fdStep / 5} {
			xp[i] = x[i] + h
			fp, kp := f(xp), ""
			if kink != nil {
				kp = kink(xp)
			}
			xp[i] = x[i] - h
			fm, km := f(xp), ""
			if kink != nil {
				km = kink(xp)
			}
			xp[i] = x[i]
			if kp == base && km == base {
				fd[i] = float32((fp - fm) / (2 * float64(h)))
				ok = true
				break
			}
		}
		if !ok {
			skipped++
			fd[i] = grad[i] // not comparable: crosses a kink
		}
	}
	if skipped*10 > len(x) {
		t.Fatalf("%d of %d coordinates cross a kink: inputs too close to one", skipped, len(x))
	}
	if err := kerneltest.Compare(grad, fd, gradTol); err != nil {
		t.Errorf("analytic gradient vs finite difference: %v", err)
	}
	var nz int
	for _, v := range grad {
		if v != 0 {
			nz++
		}
	}
	if nz == 0 {
		t.Errorf("gradient is all zero: the check is vacuous")
	}
}

func weighted(y, r []float32) float64 {
	var acc float64
	for i := range y {
		acc += float64(y[i]) * float64(r[i])
	}
	return acc
}

// TestConv3x3BackwardGradient: L(x) = Σ r ⊙ Conv3x3(x); dL/dx must be
// Conv3x3Backward(r, y, w) with y the forward output (ReLU mask from y).
func TestConv3x3BackwardGradient(t *testing.T) {
	for _, s := range []kernels.ConvShape{{Cin: 3, Cout: 4, H: 5, W: 4}, {Cin: 2, Cout: 3, H: 1, W: 3}, {Cin: 5, Cout: 7, H: 3, W: 6}} {
		for _, b := range gradBackends() {
			t.Run(fmt.Sprintf("%s/%dto%d/%dx%d", b.Name(), s.Cin, s.Cout, s.H, s.W), func(t *testing.T) {
				r := rand.New(rand.NewPCG(7, uint64(s.Cin*100+s.Cout)))
				x0 := randSlice(r, s.Cin*s.H*s.W, -1, 1)
				w := tensorOf(t, b, randSlice(r, s.Cout*s.Cin*9, -0.5, 0.5))
				bias := tensorOf(t, b, randSlice(r, s.Cout, -0.2, 0.2))
				rw := randSlice(r, s.Cout*s.H*s.W, -1, 1)
				x := tensorOf(t, b, x0)
				y := tensorOf(t, b, make([]float32, s.Cout*s.H*s.W))
				forward := func(xs []float32) []float32 {
					b.Write(x, xs)
					b.Conv3x3(y, x, w, bias, s)
					return readAll(t, b, y)
				}
				f := func(xs []float32) float64 { return weighted(forward(xs), rw) }
				mask := func(xs []float32) string {
					m := make([]byte, 0, y.Len())
					for _, v := range forward(xs) {
						m = append(m, '0'+byte(btoi(v > 0)))
					}
					return string(m)
				}
				forward(x0)
				dy := tensorOf(t, b, rw)
				dx := tensorOf(t, b, make([]float32, len(x0)))
				b.Conv3x3Backward(dx, dy, y, w, s)
				checkGrad(t, x0, readAll(t, b, dx), f, mask)
			})
		}
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// TestPool2x2BackwardGradient: L(x) = Σ r ⊙ Pool2x2(x) for both poolings on
// odd sizes. Max pooling inputs are a scaled permutation: no ties, and every
// gap (0.05) exceeds 2h, so no argmax changes under the perturbation.
func TestPool2x2BackwardGradient(t *testing.T) {
	s := kernels.PoolShape{C: 2, H: 5, W: 7}
	for _, p := range []kernels.Pooling{kernels.MaxPool, kernels.AvgPool} {
		for _, b := range gradBackends() {
			t.Run(fmt.Sprintf("%s/%s", b.Name(), p), func(t *testing.T) {
				r := rand.New(rand.NewPCG(8, uint64(p)))
				n := s.C * s.H * s.W
				x0 := make([]float32, n)
				for i, v := range r.Perm(n) {
					x0[i] = 0.05 * float32(v)
				}
				rw := randSlice(r, s.C*s.OutH()*s.OutW(), -1, 1)
				x := tensorOf(t, b, x0)
				y := tensorOf(t, b, make([]float32, len(rw)))
				f := func(xs []float32) float64 {
					b.Write(x, xs)
					b.Pool2x2(y, x, s, p)
					return weighted(readAll(t, b, y), rw)
				}
				b.Write(x, x0)
				dx := tensorOf(t, b, randSlice(r, n, -5, 5)) // overwritten
				b.Pool2x2Backward(dx, tensorOf(t, b, rw), x, s, p)
				grad := readAll(t, b, dx)
				checkGrad(t, x0, grad, f, nil)
				// The dropped last row and column get zero.
				for c := 0; c < s.C; c++ {
					for xx := 0; xx < s.W; xx++ {
						if v := grad[(c*s.H+s.H-1)*s.W+xx]; v != 0 {
							t.Fatalf("dropped row: dx = %g, want 0", v)
						}
					}
				}
			})
		}
	}
}

// TestTVGradient: TV's gradient (added into dx, starting from zero) against
// its own loss.
func TestTVGradient(t *testing.T) {
	const c, h, w, weight = 3, 4, 5, 0.37
	for _, b := range gradBackends() {
		t.Run(b.Name(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, 1))
			x0 := randSlice(r, c*h*w, 0, 1)
			x := tensorOf(t, b, x0)
			dx := tensorOf(t, b, make([]float32, len(x0)))
			loss := tensorOf(t, b, make([]float32, 2))
			f := func(xs []float32) float64 {
				scratch := tensorOf(t, b, make([]float32, len(xs)))
				b.Write(x, xs)
				b.TV(loss, 1, scratch, x, c, h, w, weight)
				out := []float32{0}
				if err := b.ReadAt(out, loss, 1); err != nil {
					t.Fatal(err)
				}
				return float64(out[0])
			}
			b.TV(loss, 1, dx, x, c, h, w, weight)
			checkGrad(t, x0, readAll(t, b, dx), f, nil)
		})
	}
}

// TestGramGradient: G = A·Aᵀ (MatMul with transB), L = Σ R ⊙ G, so
// dA = (R + Rᵀ)·A, computed as MatMul(R, A) then MatMul(Rᵀ, A) with beta 1.
func TestGramGradient(t *testing.T) {
	const c, hw = 4, 6
	for _, b := range gradBackends() {
		t.Run(b.Name(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(10, 1))
			a0 := randSlice(r, c*hw, -1, 1)
			rw := randSlice(r, c*c, -1, 1)
			a := tensorOf(t, b, a0)
			g := tensorOf(t, b, make([]float32, c*c))
			f := func(as []float32) float64 {
				b.Write(a, as)
				b.MatMul(g, a, a, c, c, hw, false, true, 1, 0)
				return weighted(readAll(t, b, g), rw)
			}
			b.Write(a, a0)
			dg := tensorOf(t, b, rw)
			da := tensorOf(t, b, make([]float32, c*hw))
			b.MatMul(da, dg, a, c, hw, c, false, false, 1, 0)
			b.MatMul(da, dg, a, c, hw, c, true, false, 1, 1)
			checkGrad(t, a0, readAll(t, b, da), f, nil)
			if got := f(a0); math.IsNaN(got) || got == 0 {
				t.Fatalf("loss %g: degenerate", got)
			}
		})
	}
}
