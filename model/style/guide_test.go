package style

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// TestGuidePools: the mask is averaged over the network's 2×2 windows (odd
// last rows and columns dropped) down to the layer's size; erosion is a
// 3×3 minimum there.
func TestGuidePools(t *testing.T) {
	// 5×6: the last row is dropped by the first pooling.
	mask := []float32{ // [5, 6]
		1, 1, 0, 0, 1, 0,
		1, 1, 0, 1, 1, 1,
		1, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 0, 0,
		9, 9, 9, 9, 9, 9,
	}
	g, err := Guide(mask, 5, 6, 2, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, 0.25, 0.75, 0.5, 0, 0}; !slices.Equal(g, want) {
		t.Fatalf("pooled %v, want %v", g, want)
	}
	g, err = Guide(mask, 5, 6, 1, 1, false)
	if err != nil || !slices.Equal(g, []float32{(1 + 0.25 + 0.5 + 0) / 4}) {
		t.Fatalf("pooled twice %v %v", g, err)
	}
	same, _ := Guide(mask, 5, 6, 5, 6, false)
	if !slices.Equal(same, mask) {
		t.Fatalf("no pooling changed the mask: %v", same)
	}
	e, err := Guide([]float32{ // [4, 4]
		1, 1, 1, 1,
		1, 1, 1, 1,
		1, 1, 1, 0.5,
		1, 1, 1, 1,
	}, 4, 4, 4, 4, true)
	want := []float32{
		1, 1, 1, 1,
		1, 1, 0.5, 0.5,
		1, 1, 0.5, 0.5,
		1, 1, 0.5, 0.5,
	}
	if err != nil || !slices.Equal(e, want) {
		t.Fatalf("eroded %v %v, want %v", e, err, want)
	}
	if _, err := Guide(mask, 5, 6, 3, 3, false); err == nil || err.Error() != "style: a 6×5 mask does not pool down to 3×3" {
		t.Errorf("unreachable size: %v", err)
	}
	// A thin stripe vanishes under erosion.
	stripe := make([]float32, 16)
	for y := 0; y < 4; y++ {
		stripe[y*4+1] = 1
	}
	if _, err := Guide(stripe, 4, 4, 4, 4, true); !IsEmptyGuide(err) {
		t.Errorf("eroded stripe: %v, want the empty-guide error", err)
	}
}

// softGuide returns n weights in [0, 1] with some exact zeros and ones.
func softGuide(rng *rand.Rand, n int) []float32 {
	g := make([]float32, n) // [N]
	for i := range g {
		switch rng.IntN(4) {
		case 0:
			g[i] = 0
		case 1:
			g[i] = 1
		default:
			g[i] = rng.Float32()
		}
	}
	g[0] = 1
	return g
}

var guidedSpecs = []Spec{{Stat: Gram}, {Stat: Cov}, {Stat: MeanStd}, {Stat: MMD}}

// TestGuidedGradients checks every guided statistic by finite differences,
// with two style images of other sizes (one with a style mask, one whole)
// blended 0.7/0.3, and that the gradient is zero wherever the guide is.
func TestGuidedGradients(t *testing.T) {
	b := naiveBackend()
	for _, spec := range guidedSpecs {
		t.Run(spec.Stat, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			const c, n = 3, 12
			guide := softGuide(rng, n)
			l, err := NewGuidedLayer(b, spec, c, n, guide)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Free()
			if err := l.AddGuidedTarget(kerneltest.Upload(t, b, randomActs(rng, c, 7)), 7, 0.7, softGuide(rng, 7)); err != nil {
				t.Fatal(err)
			}
			if err := l.AddGuidedTarget(kerneltest.Upload(t, b, randomActs(rng, c, 16)), 16, 0.3, nil); err != nil {
				t.Fatal(err)
			}
			if err := l.Finish(); err != nil {
				t.Fatal(err)
			}
			f := makeLoss(t, b, l.Forward, nil)
			a := randomActs(rng, c, n)
			checkGradient(t, "guided "+spec.Stat, f, a)
			_, g := f(a, 1)
			for i := 0; i < n; i++ {
				for ch := 0; ch < c; ch++ {
					if v := g[ch*n+i]; (guide[i] == 0) != (v == 0) {
						t.Errorf("position %d (guide %g), channel %d: gradient %g", i, guide[i], ch, v)
					}
				}
			}
		})
	}
}

// TestGuidedAllOnesIsUnguided: a guide of ones on both sides gives the
// unguided loss exactly (the same operations on the same numbers) and its
// gradient to float32 rounding, on the oracle and on the CPU backend.
func TestGuidedAllOnesIsUnguided(t *testing.T) {
	for _, b := range []kernels.Backend{naiveBackend(), kernels.Checked(cpu.New(1))} {
		for _, spec := range guidedSpecs {
			rng := rand.New(rand.NewPCG(31, 32))
			const c, n, m = 4, 15, 11
			s1, s2, a := randomActs(rng, c, m), randomActs(rng, c, n), randomActs(rng, c, n)
			ones := func(k int) []float32 {
				v := make([]float32, k)
				for i := range v {
					v[i] = 1
				}
				return v
			}
			build := func(guided bool) *Layer {
				var g, gm, gn []float32
				if guided {
					g, gm, gn = ones(n), ones(m), ones(n)
				}
				l, err := NewGuidedLayer(b, spec, c, n, g)
				if err != nil {
					t.Fatal(err)
				}
				if err := l.AddGuidedTarget(kerneltest.Upload(t, b, s1), m, 2, gm); err != nil {
					t.Fatal(err)
				}
				if err := l.AddGuidedTarget(kerneltest.Upload(t, b, s2), n, 1, gn); err != nil {
					t.Fatal(err)
				}
				if err := l.Finish(); err != nil {
					t.Fatal(err)
				}
				return l
			}
			plain, guided := build(false), build(true)
			if !guided.guided || plain.guided {
				t.Fatal("the guided layer must take the guided path")
			}
			j0, g0 := makeLoss(t, b, plain.Forward, nil)(a, 1.5)
			j1, g1 := makeLoss(t, b, guided.Forward, nil)(a, 1.5)
			if j0 != j1 || plain.Scale() != guided.Scale() || plain.MMDc() != guided.MMDc() {
				t.Errorf("%s/%s: all-ones guide: loss %v (scale %v), unguided %v (scale %v)", b.Name(), spec.Stat, j1, guided.Scale(), j0, plain.Scale())
			}
			var maxG float64
			for _, v := range g0 {
				maxG = math.Max(maxG, math.Abs(float64(v)))
			}
			for i := range g0 {
				if d := math.Abs(float64(g0[i] - g1[i])); d > 1e-6*maxG {
					t.Fatalf("%s/%s: ∂J/∂A[%d] = %g guided, %g unguided", b.Name(), spec.Stat, i, g1[i], g0[i])
				}
			}
			plain.Free()
			guided.Free()
		}
	}
}

// TestTwoRegions: the generated activations are style A's in region 1 and
// style B's in region 2. Each region's term is computed against its own
// style only (zero at its own style whatever the other region holds, not
// zero against the other style) and has zero gradient outside its region.
func TestTwoRegions(t *testing.T) {
	b := naiveBackend()
	for _, spec := range guidedSpecs {
		rng := rand.New(rand.NewPCG(41, 42))
		const c, m = 3, 10
		const n = 2 * m
		sa, sb := randomActs(rng, c, m), randomActs(rng, c, m)
		for i := range sb {
			sb[i] = 2*sb[i] + 0.5 // another style: other means and spreads
		}
		a := make([]float32, c*n) // [C, N]: A = [S_A | S_B]
		for ch := 0; ch < c; ch++ {
			copy(a[ch*n:], sa[ch*m:(ch+1)*m])
			copy(a[ch*n+m:], sb[ch*m:(ch+1)*m])
		}
		left, right := make([]float32, n), make([]float32, n) // [N]
		for i := 0; i < m; i++ {
			left[i], right[m+i] = 1, 1
		}
		term := func(guide, target []float32) (float64, []float32) {
			l, err := NewGuidedLayer(b, spec, c, n, guide)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Free()
			if err := l.AddTarget(kerneltest.Upload(t, b, target), m, 1); err != nil {
				t.Fatal(err)
			}
			if err := l.Finish(); err != nil {
				t.Fatal(err)
			}
			return makeLoss(t, b, l.Forward, nil)(a, 1)
		}
		j1, g1 := term(left, sa)
		j2, g2 := term(right, sb)
		x1, _ := term(left, sb)
		x2, _ := term(right, sa)
		if !(j1 < 1e-6*x1) || !(j2 < 1e-6*x2) {
			t.Errorf("%s: region losses %g, %g against their own styles; %g, %g against the other's", spec.Stat, j1, j2, x1, x2)
		}
		// Away from its own style, each term's gradient lives in its region.
		for i := range a {
			a[i] *= 1.3
		}
		_, g1 = term(left, sa)
		_, g2 = term(right, sb)
		for ch := 0; ch < c; ch++ {
			for i := 0; i < n; i++ {
				in1 := i < m
				if v := g1[ch*n+i]; (v != 0) != in1 {
					t.Fatalf("%s: region 1's gradient at position %d, channel %d is %g", spec.Stat, i, ch, v)
				}
				if v := g2[ch*n+i]; (v != 0) == in1 {
					t.Fatalf("%s: region 2's gradient at position %d, channel %d is %g", spec.Stat, i, ch, v)
				}
			}
		}
	}
}

func TestSWDCannotBeGuided(t *testing.T) {
	b := naiveBackend()
	const want = "style: swd cannot be guided: "
	if _, err := NewGuidedLayer(b, Spec{Cost: SWD}, 2, 4, []float32{1, 1, 0, 0}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("guided swd layer: %v", err)
	}
	l, err := NewLayer(b, Spec{Cost: SWD}, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if err := l.AddGuidedTarget(kerneltest.Upload(t, b, make([]float32, 8)), 4, 1, []float32{1, 0, 0, 0}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("guided swd target: %v", err)
	}
	if _, err := NewGuidedLayer(b, Spec{}, 2, 4, []float32{0, 0, 0, 0}); !IsEmptyGuide(err) {
		t.Errorf("empty guide: %v", err)
	}
	if _, err := NewGuidedLayer(b, Spec{}, 2, 4, []float32{1, 0}); err == nil || err.Error() != "style: guide has 2 weights, want 4" {
		t.Errorf("short guide: %v", err)
	}
}

// A style mask restricts the target to its part of the style image: a
// target guided to the left half of [S_A | S_B] is S_A's own.
func TestGuidedTargetIsThePartsStatistic(t *testing.T) {
	b := naiveBackend()
	for _, spec := range guidedSpecs {
		rng := rand.New(rand.NewPCG(51, 52))
		const c, m, n = 3, 9, 14
		sa, sb, a := randomActs(rng, c, m), randomActs(rng, c, m), randomActs(rng, c, n)
		for i := range sb {
			sb[i] = 3*sb[i] + 1
		}
		both := make([]float32, 0, 2*c*m) // [C, 2M]: [S_A | S_B]
		for ch := 0; ch < c; ch++ {
			both = append(both, sa[ch*m:(ch+1)*m]...)
			both = append(both, sb[ch*m:(ch+1)*m]...)
		}
		left := make([]float32, 2*m) // [2M]
		for i := 0; i < m; i++ {
			left[i] = 1
		}
		loss := func(target []float32, cols int, guide []float32) float64 {
			l, err := NewLayer(b, spec, c, n)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Free()
			if err := l.AddGuidedTarget(kerneltest.Upload(t, b, target), cols, 1, guide); err != nil {
				t.Fatal(err)
			}
			if err := l.Finish(); err != nil {
				t.Fatal(err)
			}
			j, _ := makeLoss(t, b, l.Forward, nil)(a, 1)
			return j
		}
		masked, own, whole := loss(both, 2*m, left), loss(sa, m, nil), loss(both, 2*m, nil)
		if math.Abs(masked-own) > 1e-5*own || math.Abs(whole-own) < 1e-2*own {
			t.Errorf("%s: loss against the masked style %g, against its part alone %g, against the whole %g", spec.Stat, masked, own, whole)
		}
	}
}
