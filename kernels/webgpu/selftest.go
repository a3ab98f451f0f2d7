package webgpu

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/crema-app/crema/kernels"
)

// The self-test: every pipeline the backend made, run on small random
// inputs and compared with a reference backend (the CPU's), so that a driver
// or shader-compiler bug of the visitor's GPU — which no test here can reach —
// means the CPU is used instead, with the reason, rather than wrong pictures.

// Tolerances of the self-test: those of kernels/kerneltest's table.
const (
	stExact       = 0
	stElementwise = 1e-6
	stReduce      = 1e-5
	stGemm        = 1e-4
)

// stCase is one check: tensors made from in (on each backend), run records
// the operation, and the tensors numbered outs are compared within tol.
type stCase struct {
	name   string
	tol    float64
	tile   convTile // forced on the GPU when set
	slices int      // split-K slices forced on the GPU when > 0
	in     [][]float32
	outs   []int
	run    func(b kernels.Backend, t []kernels.Tensor)
}

// selfTestCases are the checks: conv in every tile shape, forward and
// backward, with one K slice and split in two; MatMul in its four
// transpositions, with one K slice and split in three; pooling (ties and
// NaN included), the elementwise and row operations, a sort long enough for
// the global merge steps, the reductions, Dots over several batches, TV and
// Adam.
func selfTestCases(rng *rand.Rand) []stCase {
	uni := func(n int, lo, hi float32) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = lo + (hi-lo)*rng.Float32()
		}
		return s
	}
	ints := func(n, k int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.IntN(k))
		}
		return s
	}
	var cs []stCase
	cv := kernels.ConvShape{Cin: 5, Cout: 6, H: 5, W: 7} // K = 45 and 54: two K steps, partial tiles
	for _, tile := range convTiles {
		for _, s := range []int{1, 2} {
			cs = append(cs, stCase{
				name: fmt.Sprintf("conv %dx%d, %d K slice(s)", tile.tm, tile.tn, s), tol: stGemm, tile: tile, slices: s,
				in: [][]float32{uni(cv.Cin*cv.H*cv.W, -1, 1), uni(cv.Cout*cv.Cin*9, -0.3, 0.3), uni(cv.Cout, -0.3, 0.3),
					uni(cv.Cout*cv.H*cv.W, -1, 1), uni(cv.Cout*cv.H*cv.W, -9, 9), uni(cv.Cin*cv.H*cv.W, -9, 9)},
				outs: []int{4, 5},
				run: func(b kernels.Backend, t []kernels.Tensor) {
					b.Conv3x3(t[4], t[0], t[1], t[2], cv)
					b.Conv3x3Backward(t[5], t[3], t[4], t[1], cv)
				},
			})
		}
	}
	const m, n, k = 67, 70, 40 // two tiles each way, three K steps
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, s := range []int{1, 3} {
				cs = append(cs, stCase{
					name: fmt.Sprintf("matmul transA=%v transB=%v, %d K slice(s)", ta, tb, s), tol: stGemm, slices: s,
					in:   [][]float32{uni(m*k, -1, 1), uni(k*n, -1, 1), uni(m*n, -1, 1)},
					outs: []int{2},
					run:  func(b kernels.Backend, t []kernels.Tensor) { b.MatMul(t[2], t[0], t[1], m, n, k, ta, tb, 0.7, 0.5) },
				})
			}
		}
	}
	ps := kernels.PoolShape{C: 3, H: 5, W: 7}
	px := ints(ps.C*ps.H*ps.W, 3) // ties
	px[0], px[9], px[16] = float32(math.NaN()), float32(math.NaN()), float32(math.NaN())
	for _, pool := range []kernels.Pooling{kernels.MaxPool, kernels.AvgPool} {
		x := px
		if pool == kernels.AvgPool {
			x = uni(len(px), -1, 1)
		}
		cs = append(cs, stCase{
			name: "pooling " + pool.String(), tol: stElementwise,
			in:   [][]float32{x, uni(ps.C*ps.OutH()*ps.OutW(), -1, 1), uni(ps.C*ps.OutH()*ps.OutW(), -9, 9), uni(len(x), -9, 9)},
			outs: []int{2, 3},
			run: func(b kernels.Backend, t []kernels.Tensor) {
				b.Pool2x2(t[2], t[0], ps, pool)
				b.Pool2x2Backward(t[3], t[1], t[0], ps, pool)
			},
		})
	}
	const rows, cols = 10, 100
	cs = append(cs, stCase{
		name: "elementwise", tol: stElementwise,
		in: [][]float32{uni(rows*cols, -1, 1), uni(rows*cols, 0.5, 2), uni(rows, 0.5, 2),
			make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows*cols)},
		outs: []int{3, 4, 5, 6},
		run: func(b kernels.Backend, t []kernels.Tensor) {
			b.Copy(t[3], t[0])
			b.Scale(t[3], 1.5)
			b.Axpy(t[3], -0.25, t[1])
			b.Mul(t[4], t[3], t[1])
			b.Div(t[4], t[4], t[1])
			b.AddRows(t[4], t[2], rows, cols, 0.5)
			b.Sqrt(t[5], t[1], 1e-3)
			b.MulRows(t[5], t[2], rows, cols)
			b.Fill(t[6], -0.375)
		},
	})
	const srows, scols = 3, 3000 // P = 4096: the global merge steps too
	perm := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		for c, p := range rng.Perm(cols) {
			perm[r*cols+c] = float32(p)
		}
	}
	cs = append(cs, stCase{
		name: "rows", tol: stExact,
		in: [][]float32{ints(srows*scols, 50), make([]float32, srows*scols), make([]float32, srows*scols),
			uni(rows*cols, -1, 1), perm, make([]float32, rows*cols), make([]float32, rows*41)},
		outs: []int{1, 2, 5, 6},
		run: func(b kernels.Backend, t []kernels.Tensor) {
			b.SortRows(t[1], t[2], t[0], srows, scols)
			b.ScatterRows(t[5], t[4], t[3], rows, cols)
			b.ResampleRows(t[6], t[3], rows, cols, 41)
		},
	})
	const nr = 5000
	vecs := make([][]float32, 7)
	for i := range vecs {
		vecs[i] = uni(nr, -0.2, 1)
	}
	var da, db []int
	for i := range 12 { // three batches of dots.wgsl
		da, db = append(da, i%7), append(db, (i*3+1)%7)
	}
	cs = append(cs, stCase{
		name: "reductions", tol: stReduce,
		in:   append(append([][]float32{make([]float32, 16), uni(rows*cols, 0, 1), uni(3*9*7, 0, 1), uni(3*9*7, -1, 1), make([]float32, rows)}, vecs...), make([]float32, 12)),
		outs: []int{0, 3, 4, 12},
		run: func(b kernels.Backend, t []kernels.Tensor) {
			b.Sum(t[0], 0, t[1])
			b.Dot(t[0], 1, t[5], t[6])
			b.TV(t[0], 2, t[3], t[2], 3, 9, 7, 0.37)
			b.RowSum(t[4], t[1], rows, cols, -0.5)
			as, bs := make([]kernels.Tensor, len(da)), make([]kernels.Tensor, len(da))
			for i := range da {
				as[i], bs[i] = t[5+da[i]], t[5+db[i]]
			}
			b.Dots(t[12], 0, as, bs)
		},
	})
	cs = append(cs, stCase{
		name: "adam", tol: stReduce,
		in:   [][]float32{uni(1000, -1, 1), uni(1000, -1, 1), uni(1000, -0.1, 0.1), uni(1000, 0, 0.01)},
		outs: []int{0, 2, 3},
		run: func(b kernels.Backend, t []kernels.Tensor) {
			b.Adam(t[0], t[1], t[2], t[3], kernels.AdamParams{LR: 0.02, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 3})
		},
	})
	return cs
}

// SelfTest runs every pipeline on small random inputs (selfTestCases) and
// compares the results with ref's (the CPU backend's) within the
// conformance table's tolerances; NaN must come out where ref has it. All
// the GPU's results come back in one readback. A difference, or a device
// error, is returned as an error wrapping kernels.ErrDevice that names the
// kernel; the backend should then not be used.
func (g *Backend) SelfTest(ref kernels.Backend) error {
	rng := rand.New(rand.NewPCG(15, 2024))
	cases := selfTestCases(rng)
	gpu := kernels.Checked(g)
	ref = kernels.Checked(ref)

	// The GPU: upload everything, record everything, gather the outputs
	// into one tensor and read it once.
	var all []kernels.Tensor
	defer func() {
		for _, t := range all {
			gpu.Free(t)
		}
	}()
	ts := make([][]kernels.Tensor, len(cases))
	total := 0
	for i, c := range cases {
		for _, v := range c.in {
			t, err := gpu.Alloc(len(v))
			if err != nil {
				return fmt.Errorf("webgpu: self-test: %w", err)
			}
			all = append(all, t)
			gpu.Write(t, v)
			ts[i] = append(ts[i], t)
		}
		for _, o := range c.outs {
			total += len(c.in[o])
		}
	}
	for i, c := range cases {
		g.mu.Lock()
		g.convTile, g.convS = c.tile, c.slices
		g.mu.Unlock()
		c.run(gpu, ts[i])
	}
	g.mu.Lock()
	g.convTile, g.convS = convTile{}, 0
	g.mu.Unlock()
	res, err := gpu.Alloc(total) // every output, one after another
	if err != nil {
		return fmt.Errorf("webgpu: self-test: %w", err)
	}
	all = append(all, res)
	g.mu.Lock()
	off := 0
	for i, c := range cases {
		for _, o := range c.outs {
			t := g.gt(ts[i][o])
			g.copyBuffer(g.gt(res), off, t, 0, t.n)
			off += t.n
		}
	}
	g.mu.Unlock()
	got := make([]float32, total)
	if err := gpu.Read(got, res); err != nil {
		return fmt.Errorf("webgpu: self-test: %w", err)
	}
	if g.fault == FaultSelfTest {
		got[len(got)/2] += 1 // as a miscompiled shader would
	}

	// The reference, case by case.
	off = 0
	for _, c := range cases {
		var rts []kernels.Tensor
		for _, v := range c.in {
			t, err := ref.Alloc(len(v))
			if err != nil {
				return fmt.Errorf("webgpu: self-test: reference: %v", err)
			}
			ref.Write(t, v)
			rts = append(rts, t)
		}
		c.run(ref, rts)
		var bad error
		for _, o := range c.outs {
			want := make([]float32, len(c.in[o]))
			if err := ref.Read(want, rts[o]); err != nil {
				bad = fmt.Errorf("reference: %v", err)
			} else if err := compareSelfTest(got[off:off+len(want)], want, c.tol); err != nil && bad == nil {
				bad = fmt.Errorf("output %d %v", o, err)
			}
			off += len(want)
		}
		for _, t := range rts {
			ref.Free(t)
		}
		if bad != nil {
			return g.fail(devErr(false, "webgpu: self-test: %s differs from the CPU: %v", c.name, bad))
		}
	}
	return nil
}

// compareSelfTest checks max|got-want| / max|want| < tol (exact when tol is
// 0; absolute when want is all zeros) and NaN exactly where want has it.
func compareSelfTest(got, want []float32, tol float64) error {
	var maxRef, maxDiff float64
	worst := 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) != math.IsNaN(g) {
			return fmt.Errorf("at %d is %g, want %g", i, got[i], want[i])
		}
		if math.IsNaN(w) {
			continue
		}
		maxRef = math.Max(maxRef, math.Abs(w))
		if d := math.Abs(g - w); d > maxDiff {
			maxDiff, worst = d, i
		}
	}
	if maxDiff == 0 {
		return nil
	}
	rel := maxDiff
	if maxRef > 0 {
		rel = maxDiff / maxRef
	}
	if tol == 0 || rel >= tol {
		return fmt.Errorf("at %d is %g, want %g (max|diff|/max|ref| = %.3g, tolerance %g)", worst, got[worst], want[worst], rel, tol)
	}
	return nil
}
