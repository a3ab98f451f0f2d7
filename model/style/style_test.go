package style

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// randomActs returns c×n post-ReLU-like activations: positive with some
// exact zeros, plus a per-channel offset so that means matter.
func randomActs(rng *rand.Rand, c, n int) []float32 {
	a := make([]float32, c*n) // [C, N]
	for ch := 0; ch < c; ch++ {
		off := rng.Float64()
		for i := 0; i < n; i++ {
			v := off + rng.NormFloat64()
			if v < 0 && rng.IntN(2) == 0 {
				v = 0
			}
			a[ch*n+i] = float32(math.Abs(v))
		}
	}
	return a
}

// naiveBackend is the oracle, shape-checked.
func naiveBackend() kernels.Backend { return kernels.Checked(naive.Backend{}) }

// lossFunc evaluates a loss at host activations a, returning J and ∂J/∂A
// (times weight, accumulated onto a zero dA).
type lossFunc func(a []float32, weight float32) (float64, []float32)

func makeLoss(t *testing.T, b kernels.Backend, fwd func(loss kernels.Tensor, slot int, da, a kernels.Tensor, w float32), before func()) lossFunc {
	loss := kerneltest.Upload(t, b, make([]float32, 3)) // [3]: the loss in slot 1
	return func(a []float32, weight float32) (float64, []float32) {
		if before != nil {
			before()
		}
		at := kerneltest.Upload(t, b, a)
		da := kerneltest.Upload(t, b, make([]float32, len(a)))
		fwd(loss, 1, da, at, weight)
		var j [1]float32
		if err := b.ReadAt(j[:], loss, 1); err != nil {
			t.Fatal(err)
		}
		g := kerneltest.Download(t, b, da)
		b.Free(at)
		b.Free(da)
		return float64(j[0]), g
	}
}

// checkGradient compares the analytic gradient with central differences in
// every coordinate (kerneltest.CheckGradient, step 1e-2: the activations are
// O(1)), and checks that the weight scales the gradient, not the loss.
func checkGradient(t *testing.T, name string, f lossFunc, a []float32) {
	t.Helper()
	j0, g := f(a, 1)
	if !(j0 > 0) {
		t.Fatalf("%s: loss %g, want > 0 away from the target", name, j0)
	}
	unweighted := func(x []float32) float64 { j, _ := f(x, 0); return j }
	kerneltest.CheckGradient(t, unweighted, a, g, kerneltest.GradCheck{Step: 1e-2, Tol: 2e-2})
	var maxG float64
	for _, v := range g {
		maxG = math.Max(maxG, math.Abs(float64(v)))
	}
	// The weight scales the gradient, not the reported loss.
	j3, g3 := f(a, 3)
	if math.Abs(j3-j0) > 1e-6*math.Abs(j0) {
		t.Errorf("%s: loss %g with weight 3, %g with weight 1: the loss must be unweighted", name, j3, j0)
	}
	for i := range g {
		if d := math.Abs(float64(g3[i]) - 3*float64(g[i])); d > 1e-4*maxG+1e-6 {
			t.Fatalf("%s: weight 3 gives ∂J/∂A[%d] = %g, want 3·%g", name, i, g3[i], g[i])
		}
	}
}

func TestContentGradientAndValue(t *testing.T) {
	b := naiveBackend()
	rng := rand.New(rand.NewPCG(1, 2))
	const c, n = 3, 10
	target := randomActs(rng, c, n)
	a := randomActs(rng, c, n)
	l, err := NewContent(b, kerneltest.Upload(t, b, target), c, n)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	f := makeLoss(t, b, l.Forward, nil)
	j, _ := f(a, 1)
	var want float64
	for i := range a {
		d := float64(a[i]) - float64(target[i])
		want += d * d
	}
	want /= 4 * c * n
	if math.Abs(j-want) > 1e-5*want {
		t.Fatalf("J_c = %g, want 1/(4CN)·Σ(A−T)² = %g", j, want)
	}
	checkGradient(t, "content", f, a)
}

// TestGramValue checks the Gram loss against the formula written out
// with loops (same size style and generated image, so it is exactly Gatys').
func TestGramValue(t *testing.T) {
	b := naiveBackend()
	rng := rand.New(rand.NewPCG(3, 4))
	const c, n = 4, 9
	s := randomActs(rng, c, n)
	a := randomActs(rng, c, n)
	l, err := NewLayer(b, Spec{}, c, n)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.AddTarget(kerneltest.Upload(t, b, s), n, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Finish(); err != nil {
		t.Fatal(err)
	}
	j, _ := makeLoss(t, b, l.Forward, nil)(a, 1)
	var want float64
	for i := 0; i < c; i++ {
		for k := 0; k < c; k++ {
			var ga, gs float64
			for p := 0; p < n; p++ {
				ga += float64(a[i*n+p]) * float64(a[k*n+p])
				gs += float64(s[i*n+p]) * float64(s[k*n+p])
			}
			want += (ga - gs) * (ga - gs)
		}
	}
	want /= 4 * c * c * n * n
	if math.Abs(j-want) > 1e-5*want {
		t.Fatalf("J_s = %g, want 1/(4C²N²)·Σ(G−G_S)² = %g", j, want)
	}
}

// TestStyleGradients checks every statistic and cost by finite differences,
// with two style images of other sizes blended 0.7/0.3.
func TestStyleGradients(t *testing.T) {
	b := naiveBackend()
	cases := []Spec{
		{Stat: Gram, Cost: MSE},
		{Stat: Cov, Cost: MSE},
		{Stat: MeanStd, Cost: MSE},
		{Stat: MMD, Cost: MSE},
		{Stat: Gram, Cost: SWD, Seed: 9},
	}
	for _, spec := range cases {
		t.Run(spec.Stat+"_"+spec.Cost, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			const c, n = 3, 12
			l, err := NewLayer(b, spec, c, n)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Free()
			for _, st := range []struct {
				m int
				w float64
			}{{7, 0.7}, {16, 0.3}} {
				if err := l.AddTarget(kerneltest.Upload(t, b, randomActs(rng, c, st.m)), st.m, st.w); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Finish(); err != nil {
				t.Fatal(err)
			}
			if !(l.Scale() > 0) {
				t.Fatalf("scale %g", l.Scale())
			}
			if spec.Stat == MMD && !(l.MMDc() > 0) {
				t.Fatalf("mmd c = %g, want > 0", l.MMDc())
			}
			// swd draws new directions each evaluation: fix them for the check.
			f := makeLoss(t, b, l.Forward, func() { l.Reseed(spec.Seed) })
			checkGradient(t, spec.Stat+"/"+spec.Cost, f, randomActs(rng, c, n))
		})
	}
}

// TestStyleZeroAtTarget: the loss vanishes when the generated activations
// are the style's own (same size, one style).
func TestStyleZeroAtTarget(t *testing.T) {
	b := naiveBackend()
	rng := rand.New(rand.NewPCG(7, 8))
	const c, n = 3, 8
	s := randomActs(rng, c, n)
	for _, spec := range []Spec{{Stat: Gram}, {Stat: Cov}, {Stat: MeanStd}, {Stat: MMD}, {Cost: SWD}} {
		l, err := NewLayer(b, spec, c, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AddTarget(kerneltest.Upload(t, b, s), n, 2); err != nil {
			t.Fatal(err)
		}
		if err := l.Finish(); err != nil {
			t.Fatal(err)
		}
		j, _ := makeLoss(t, b, l.Forward, nil)(s, 1)
		if math.Abs(j) > 1e-9 {
			t.Errorf("%v: loss %g at the style's own activations, want 0", spec, j)
		}
		l.Free()
	}
}

// TestStatScaleMatchesGram: a statistic's loss is the Gram scale times its
// relative error, so scaling the generated activations' deviation the same
// way gives losses of the same order for every statistic.
func TestStatScaleMatchesGram(t *testing.T) {
	b := naiveBackend()
	rng := rand.New(rand.NewPCG(11, 12))
	const c, n = 8, 64
	s := randomActs(rng, c, n)
	a := make([]float32, len(s))
	for i := range s {
		a[i] = s[i] * 1.1 // every statistic off by roughly 10–20 %
	}
	var gram float64
	for _, spec := range []Spec{{Stat: Gram}, {Stat: Cov}, {Stat: MeanStd}, {Stat: MMD}} {
		l, _ := NewLayer(b, spec, c, n)
		if err := l.AddTarget(kerneltest.Upload(t, b, s), n, 1); err != nil {
			t.Fatal(err)
		}
		l.Finish()
		j, _ := makeLoss(t, b, l.Forward, nil)(a, 1)
		l.Free()
		if spec.Stat == Gram {
			gram = j
			continue
		}
		if r := j / gram; r < 0.1 || r > 10 {
			t.Errorf("%s loss %g is %.3g× the Gram loss %g: scales do not match", spec.Stat, j, r, gram)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Stat: "hist"}, `style: unknown style_stat "hist" (want gram, cov, meanstd, mmd)`},
		{Spec{Cost: "l1"}, `style: unknown style_cost "l1" (want mse, swd)`},
		{Spec{Stat: "cov", Cost: "swd"}, "style: style_cost swd compares whole feature distributions and takes no style_stat (got cov; leave it gram)"},
	} {
		err := c.spec.Check()
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: error %v, want %q", c.spec, err, c.want)
		}
	}
	b := naiveBackend()
	if _, err := NewLayer(b, Spec{}, 2, 2); err != nil {
		t.Fatal(err)
	}
	l, _ := NewLayer(b, Spec{}, 2, 2)
	x := kerneltest.Upload(t, b, make([]float32, 6))
	if err := l.AddTarget(x, 4, 1); err == nil || !strings.Contains(err.Error(), "want 2×4") {
		t.Errorf("wrong-size target: %v", err)
	}
	if err := l.Finish(); err == nil || err.Error() != "style: no style target added" {
		t.Errorf("Finish without target: %v", err)
	}
}
