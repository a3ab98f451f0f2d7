package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
)

// RunGradients checks every gradient a backend computes against finite
// differences of its own forward operation (CheckGradient): each analytic
// gradient is compared with the central difference of a scalar loss
// evaluated in float64 from the float32 forward op.
//
//   - Conv3x3Backward: L(x) = Σ r ⊙ Conv3x3(x), whose gradient is
//     Conv3x3Backward(r, y, w) with y the forward output (the ReLU mask is
//     the kink).
//   - Pool2x2Backward, max and average, on odd sizes.
//   - TV: the gradient it adds into dx against its own loss.
//   - The Gram product: G = A·Aᵀ (MatMul with transB), L = Σ R ⊙ G, so
//     dA = (R + Rᵀ)·A, computed as MatMul(R, A) then MatMul(Rᵀ, A) with
//     beta 1.
func RunGradients(t *testing.T, b kernels.Backend) {
	t.Run("Conv3x3Backward", func(t *testing.T) {
		for _, s := range []kernels.ConvShape{{Cin: 3, Cout: 4, H: 5, W: 4}, {Cin: 2, Cout: 3, H: 1, W: 3}, {Cin: 5, Cout: 7, H: 3, W: 6}} {
			t.Run(fmt.Sprintf("%dto%d/%dx%d", s.Cin, s.Cout, s.H, s.W), func(t *testing.T) { convGradient(t, b, s) })
		}
	})
	t.Run("Pool2x2Backward", func(t *testing.T) {
		for _, p := range []kernels.Pooling{kernels.MaxPool, kernels.AvgPool} {
			t.Run(p.String(), func(t *testing.T) { poolGradient(t, b, p) })
		}
	})
	t.Run("TV", func(t *testing.T) { tvGradient(t, b) })
	t.Run("Gram", func(t *testing.T) { gramGradient(t, b) })
}

// weighted is Σ y ⊙ r in float64.
func weighted(y, r []float32) float64 {
	var acc float64
	for i := range y {
		acc += float64(y[i]) * float64(r[i])
	}
	return acc
}

func convGradient(t *testing.T, b kernels.Backend, s kernels.ConvShape) {
	r := rand.New(rand.NewPCG(7, uint64(s.Cin*100+s.Cout)))
	x0 := Uniform(r, s.Cin*s.H*s.W, -1, 1)                   // [Cin, H, W]
	w := Upload(t, b, Uniform(r, s.Cout*s.Cin*9, -0.5, 0.5)) // [Cout, Cin, 3, 3]
	bias := Upload(t, b, Uniform(r, s.Cout, -0.2, 0.2))      // [Cout]
	rw := Uniform(r, s.Cout*s.H*s.W, -1, 1)                  // [Cout, H, W]
	x := Upload(t, b, x0)                                    // [Cin, H, W]
	y := Upload(t, b, make([]float32, s.Cout*s.H*s.W))       // [Cout, H, W]
	dy := Upload(t, b, rw)                                   // [Cout, H, W]
	dx := Upload(t, b, make([]float32, len(x0)))             // [Cin, H, W]
	defer free(b, w, bias, x, y, dy, dx)
	forward := func(xs []float32) []float32 {
		b.Write(x, xs)
		b.Conv3x3(y, x, w, bias, s)
		return Download(t, b, y)
	}
	mask := func(xs []float32) string {
		m := make([]byte, 0, y.Len())
		for _, v := range forward(xs) {
			m = append(m, '0'+byte(btoi(v > 0)))
		}
		return string(m)
	}
	forward(x0)
	b.Conv3x3Backward(dx, dy, y, w, s)
	CheckGradient(t, func(xs []float32) float64 { return weighted(forward(xs), rw) }, x0, Download(t, b, dx),
		GradCheck{Kink: mask})
}

// poolGradient feeds max pooling a scaled permutation: no ties, and every
// gap (0.05) exceeds 2h, so no argmax changes under the perturbation.
func poolGradient(t *testing.T, b kernels.Backend, p kernels.Pooling) {
	s := kernels.PoolShape{C: 2, H: 5, W: 7}
	r := rand.New(rand.NewPCG(8, uint64(p)))
	n := s.C * s.H * s.W
	x0 := make([]float32, n) // [C, H, W]
	for i, v := range r.Perm(n) {
		x0[i] = 0.05 * float32(v)
	}
	rw := Uniform(r, s.C*s.OutH()*s.OutW(), -1, 1) // [C, H/2, W/2]
	x := Upload(t, b, x0)
	y := Upload(t, b, make([]float32, len(rw)))
	dy := Upload(t, b, rw)
	dx := Upload(t, b, Uniform(r, n, -5, 5)) // overwritten
	defer free(b, x, y, dy, dx)
	f := func(xs []float32) float64 {
		b.Write(x, xs)
		b.Pool2x2(y, x, s, p)
		return weighted(Download(t, b, y), rw)
	}
	b.Write(x, x0)
	b.Pool2x2Backward(dx, dy, x, s, p)
	grad := Download(t, b, dx)
	CheckGradient(t, f, x0, grad, GradCheck{})
	// The dropped last row gets zero.
	for c := 0; c < s.C; c++ {
		for xx := 0; xx < s.W; xx++ {
			if v := grad[(c*s.H+s.H-1)*s.W+xx]; v != 0 {
				t.Fatalf("dropped row: dx = %g, want 0", v)
			}
		}
	}
}

func tvGradient(t *testing.T, b kernels.Backend) {
	const c, h, w, weight = 3, 4, 5, 0.37
	r := rand.New(rand.NewPCG(9, 1))
	x0 := Uniform(r, c*h*w, 0, 1)                   // [C, H, W]
	x := Upload(t, b, x0)                           // [C, H, W]
	dx := Upload(t, b, make([]float32, len(x0)))    // [C, H, W]
	scratch := Upload(t, b, make([]float32, c*h*w)) // [C, H, W]: the gradients of f's evaluations
	loss := Upload(t, b, make([]float32, 2))        // [2]
	defer free(b, x, dx, scratch, loss)
	f := func(xs []float32) float64 {
		b.Write(x, xs)
		b.TV(loss, 1, scratch, x, c, h, w, weight)
		out := []float32{0}
		if err := b.ReadAt(out, loss, 1); err != nil {
			t.Fatal(err)
		}
		return float64(out[0])
	}
	b.TV(loss, 1, dx, x, c, h, w, weight)
	CheckGradient(t, f, x0, Download(t, b, dx), GradCheck{})
}

func gramGradient(t *testing.T, b kernels.Backend) {
	const c, hw = 4, 6
	r := rand.New(rand.NewPCG(10, 1))
	a0 := Uniform(r, c*hw, -1, 1)             // [C, HW]
	rw := Uniform(r, c*c, -1, 1)              // [C, C]
	a := Upload(t, b, a0)                     // [C, HW]
	g := Upload(t, b, make([]float32, c*c))   // [C, C]
	dg := Upload(t, b, rw)                    // [C, C]
	da := Upload(t, b, make([]float32, c*hw)) // [C, HW]
	defer free(b, a, g, dg, da)
	f := func(as []float32) float64 {
		b.Write(a, as)
		b.MatMul(g, a, a, c, c, hw, false, true, 1, 0)
		return weighted(Download(t, b, g), rw)
	}
	b.Write(a, a0)
	b.MatMul(da, dg, a, c, hw, c, false, false, 1, 0)
	b.MatMul(da, dg, a, c, hw, c, true, false, 1, 1)
	CheckGradient(t, f, a0, Download(t, b, da), GradCheck{})
	if got := f(a0); math.IsNaN(got) || got == 0 {
		t.Fatalf("loss %g: degenerate", got)
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

func free(b kernels.Backend, ts ...kernels.Tensor) {
	for _, x := range ts {
		b.Free(x)
	}
}
