package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/crema-app/crema/kernels"
)

// robustCases are the table's cases for what the WGSL specification lets a
// GPU get wrong where a CPU does not: NaN in max pooling (whose result the
// Backend interface defines bit for bit) and in SortRows (whose order it
// leaves open), the extremes of float32 next to a sort's padding, and Dots,
// the many-dot-products call whose pairs a GPU batches.
func robustCases() []Case {
	var cs []Case
	for _, s := range []kernels.PoolShape{{C: 2, H: 5, W: 7}, {C: 64, H: 9, W: 6}} {
		cs = append(cs, poolNaN(s, false), poolNaN(s, true))
	}
	for _, rc := range [][2]int{{3, 7}, {2, 300}, {2, 3000}} {
		cs = append(cs, sortNaN(rc[0], rc[1]), sortExtremes(rc[0], rc[1]))
	}
	for _, c := range []struct{ n, hist int }{{1, 1}, {1000, 3}, {100003, 3}} {
		cs = append(cs, dots(c.n, c.hist))
	}
	return cs
}

// nanInput is x from {0, 1, 2} (ties) with a NaN in about one element of
// six, at every position of the 2×2 windows.
func nanInput(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.IntN(3))
		if r.IntN(6) == 0 {
			x[i] = float32(math.NaN())
		}
	}
	return x
}

// poolNaN: max pooling with NaN, forward or backward, must match the
// reference bit for bit (NaN where it has NaN): the first element of a
// window is kept even when NaN, later NaNs are skipped.
func poolNaN(s kernels.PoolShape, backward bool) Case {
	name := fmt.Sprintf("Pool2x2/max/%dx%dx%d/nan", s.C, s.H, s.W)
	if backward {
		name = fmt.Sprintf("Pool2x2Backward/max/%dx%dx%d/nan", s.C, s.H, s.W)
	}
	return Case{
		Name: name, Short: true, Tol: TolExact, NaN: true,
		Inputs: func(r *rand.Rand) [][]float32 {
			return [][]float32{nanInput(r, s.C*s.H*s.W), Uniform(r, s.C*s.OutH()*s.OutW(), -1, 1)}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			x, dy := e.T(in[0]), e.T(in[1])
			if backward {
				dx := e.T(Uniform(rand.New(rand.NewPCG(1, 2)), s.C*s.H*s.W, -9, 9))
				if e.err != nil {
					return nil
				}
				e.B.Pool2x2Backward(dx, dy, x, s, kernels.MaxPool)
				return [][]float32{e.Get(dx)}
			}
			dst := e.T(Uniform(rand.New(rand.NewPCG(1, 2)), s.C*s.OutH()*s.OutW(), -9, 9))
			if e.err != nil {
				return nil
			}
			e.B.Pool2x2(dst, x, s, kernels.MaxPool)
			return [][]float32{e.Get(dst)}
		},
		CheckRef: func(out [][]float32) error {
			nan := 0
			for _, v := range out[0] {
				if v != v {
					nan++
				}
			}
			if !backward && (nan == 0 || nan == len(out[0])) {
				return fmt.Errorf("%d of %d outputs are NaN: the NaN cases are not exercised", nan, len(out[0]))
			}
			return nil
		},
	}
}

// sortNaN: SortRows of rows holding NaN may order them in any way, but idx
// must be a permutation of each row's columns and dst[r, c] must be
// src[r, idx[r, c]], bit for bit.
func sortNaN(nr, nc int) Case {
	return Case{
		Name: fmt.Sprintf("SortRows/%dx%d/nan", nr, nc), Short: nr*nc <= 1000, Tol: TolExact,
		Inputs: func(r *rand.Rand) [][]float32 {
			x := Uniform(r, nr*nc, -1, 1)
			for i := range x {
				if r.IntN(5) == 0 {
					x[i] = float32(math.NaN())
				}
			}
			return [][]float32{x}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			src, d, idx := e.T(in[0]), e.Z(nr*nc), e.Z(nr*nc)
			if e.err != nil {
				return nil
			}
			e.B.SortRows(d, idx, src, nr, nc)
			return [][]float32{e.Get(d), e.Get(idx)}
		},
		Check: func(in, out [][]float32) error {
			src, d, idx := in[0], out[0], out[1]
			for r := 0; r < nr; r++ {
				seen := make([]bool, nc)
				for c := 0; c < nc; c++ {
					k := idx[r*nc+c]
					j := int(k)
					if float32(j) != k || j < 0 || j >= nc || seen[j] {
						return fmt.Errorf("row %d: idx[%d] = %g is not a new column of %d", r, c, k, nc)
					}
					seen[j] = true
					if math.Float32bits(d[r*nc+c]) != math.Float32bits(src[r*nc+j]) {
						return fmt.Errorf("row %d: dst[%d] = %g, but src[%d] = %g", r, c, d[r*nc+c], j, src[r*nc+j])
					}
				}
			}
			return nil
		},
	}
}

// sortExtremes: rows of ±MaxFloat32, ±0 and many ties beside ordinary
// values, cols not a power of two, so that the largest finite float meets
// the GPU's padding: compared exactly with the reference (stable, −0 = +0).
// No subnormals: WGSL lets a GPU flush them to zero when it compares
// (SwiftShader does), so they may tie with ±0 there.
func sortExtremes(nr, nc int) Case {
	return Case{
		Name: fmt.Sprintf("SortRows/%dx%d/extremes", nr, nc), Short: nr*nc <= 1000, Tol: TolExact,
		Inputs: func(r *rand.Rand) [][]float32 {
			x := make([]float32, nr*nc)
			vals := []float32{math.MaxFloat32, -math.MaxFloat32, 0, float32(math.Copysign(0, -1)), 1, -1, 0x1p-126}
			for i := range x {
				x[i] = vals[r.IntN(len(vals))]
			}
			return [][]float32{x}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			src, d, idx := e.T(in[0]), e.Z(nr*nc), e.Z(nr*nc)
			if e.err != nil {
				return nil
			}
			e.B.SortRows(d, idx, src, nr, nc)
			return [][]float32{e.Get(d), e.Get(idx)}
		},
	}
}

// dots: Dots in L-BFGS's pattern — for each of hist stored pairs (s_j,
// y_j), the dots of sNew, yNew and g with both, then the six among sNew,
// yNew and g — into slots from 2 of a larger tensor whose other slots must
// be left alone.
func dots(n, hist int) Case {
	return Case{
		Name: fmt.Sprintf("Dots/%d/history%d", n, hist), Short: n <= 1000, Tol: TolReduce,
		Inputs: func(r *rand.Rand) [][]float32 {
			out := [][]float32{Uniform(r, 6*hist+10, -1, 1)} // dst, garbage to keep
			for range 3 + 2*hist {
				out = append(out, Uniform(r, n, -0.2, 1))
			}
			return out
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			dst := e.T(in[0])
			vs := make([]kernels.Tensor, len(in)-1) // sNew, yNew, g, s_0, y_0, ...
			for i := range vs {
				vs[i] = e.T(in[i+1])
			}
			if e.err != nil {
				return nil
			}
			var a, b []kernels.Tensor
			for j := 0; j < hist; j++ {
				s, y := vs[3+2*j], vs[4+2*j]
				for _, x := range vs[:3] {
					a, b = append(a, x, x), append(b, s, y)
				}
			}
			for _, p := range [][2]int{{0, 0}, {0, 1}, {1, 1}, {2, 0}, {2, 1}, {2, 2}} {
				a, b = append(a, vs[p[0]]), append(b, vs[p[1]])
			}
			e.B.Dots(dst, 2, a, b)
			e.B.Dots(dst, 0, nil, nil) // no pairs: nothing happens
			return [][]float32{e.Get(dst)}
		},
	}
}
