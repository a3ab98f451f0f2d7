package transfer

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// colourful returns planes [3, n] with correlated channels around a random
// mean, inside [0, 1].
func colourful(rng *rand.Rand, n int) []float32 {
	p := make([]float32, 3*n) // [3, n]
	m := [3]float64{0.3 + 0.4*rng.Float64(), 0.3 + 0.4*rng.Float64(), 0.3 + 0.4*rng.Float64()}
	mix := [3][2]float64{{rng.Float64(), rng.Float64()}, {rng.Float64(), rng.Float64()}, {rng.Float64(), rng.Float64()}}
	for i := 0; i < n; i++ {
		u, v := rng.NormFloat64()*0.08, rng.NormFloat64()*0.08
		for c := 0; c < 3; c++ {
			p[c*n+i] = float32(m[c] + mix[c][0]*u + mix[c][1]*v + 0.02*rng.NormFloat64())
		}
	}
	return p
}

func closeStats(t *testing.T, what string, got, want colorStats, tol float64) {
	t.Helper()
	for a := 0; a < 3; a++ {
		if d := math.Abs(got.mean[a] - want.mean[a]); d > tol {
			t.Errorf("%s: mean[%d] = %.6f, want %.6f", what, a, got.mean[a], want.mean[a])
		}
		for b := 0; b < 3; b++ {
			if d := math.Abs(got.cov[a][b] - want.cov[a][b]); d > tol*math.Max(1e-3, math.Abs(want.cov[a][b])) && d > tol*1e-3 {
				t.Errorf("%s: cov[%d][%d] = %.6g, want %.6g", what, a, b, got.cov[a][b], want.cov[a][b])
			}
		}
	}
}

// The recoloured image has the target's mean and covariance, and the map
// does not depend on the order of the channels (why the symmetric square
// root rather than Cholesky).
func TestMatchColors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	src, dst := colourful(rng, n), colourful(rng, 3000)
	target := statsOf(dst)
	got := matchColors(src, target)
	closeStats(t, "matched", statsOf(got), target, 1e-4)

	bgr := func(p []float32) []float32 {
		k := len(p) / 3
		out := make([]float32, len(p))
		copy(out, p[2*k:])
		copy(out[k:], p[k:2*k])
		copy(out[2*k:], p[:k])
		return out
	}
	perm := bgr(matchColors(bgr(src), statsOf(bgr(dst))))
	for i := range got {
		if d := math.Abs(float64(perm[i] - got[i])); d > 1e-5 {
			t.Fatalf("BGR order changes the result at %d: %g vs %g", i, perm[i], got[i])
		}
	}

	// The eigendecomposition reconstructs the matrix.
	m := target.cov
	lambda, v := eigenSym3(m)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			var r float64
			for k := 0; k < 3; k++ {
				r += v[i][k] * lambda[k] * v[j][k]
			}
			if math.Abs(r-m[i][j]) > 1e-12 {
				t.Fatalf("V·Λ·Vᵀ[%d][%d] = %g, want %g", i, j, r, m[i][j])
			}
		}
	}
}

// mixStats are the statistics of the pooled pixels.
func TestMixStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := colourful(rng, 500), colourful(rng, 500)
	pooled := make([]float32, 0, 3*1500) // [3, 1500]: a twice, b once
	for c := 0; c < 3; c++ {
		pooled = append(pooled, a[c*500:(c+1)*500]...)
		pooled = append(pooled, a[c*500:(c+1)*500]...)
		pooled = append(pooled, b[c*500:(c+1)*500]...)
	}
	closeStats(t, "mixed", mixStats([]colorStats{statsOf(a), statsOf(b)}, []float64{2, 1}), statsOf(pooled), 1e-9)
}

// color_control recolours before the run: match_content gives the style
// images the content's statistics, keep_style the content the style's
// (blended by the weights), then clips to [0, 1].
func TestColorControlPrepare(t *testing.T) {
	content, s1, s2 := testImage(24, 16, 1), testImage(20, 20, 3), testImage(16, 16, 2)
	prep := func(cc string) *inputs {
		s := smallSettings()
		s.ColorControl = cc
		s.StyleBlend = []float64{3, 1}
		r := &runner{s: s.normalized(), layers: s.StyleLayers, job: Job{Content: content, Styles: []image.Image{s1, s2}, Settings: s}}
		if err := r.planRegions(); err != nil {
			t.Fatal(err)
		}
		return r.prepare(24, 16)
	}
	same := func(what string, got, want []float32) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: value %d is %g, want %g", what, i, got[i], want[i])
			}
		}
	}
	plain := prep(ColorNone)
	m := prep(ColorMatchContent)
	for i := range m.styles {
		same("match_content style", m.styles[i], clip01(matchColors(plain.styles[i], statsOf(plain.colour))))
	}
	same("match_content content", m.colour, plain.colour)
	k := prep(ColorKeepStyle)
	want := mixStats([]colorStats{statsOf(plain.styles[0]), statsOf(plain.styles[1])}, []float64{3, 1})
	same("keep_style content", k.colour, clip01(matchColors(plain.colour, want)))
	same("keep_style content loss", k.content, k.colour)
	same("keep_style style", k.styles[1], plain.styles[1])
	if statsOf(m.styles[0]).mean == statsOf(plain.styles[0]).mean || statsOf(k.colour).mean == statsOf(plain.colour).mean {
		t.Error("colour control changed nothing")
	}
}
