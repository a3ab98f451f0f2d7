package kerneltest

import (
	"fmt"
	"math/rand/v2"
)

// LargeCases are the shapes that take other paths on a GPU than the table's:
// split-K MatMul (a Gram matrix of a long feature map, and the G·F product),
// the global merge steps of SortRows (rows longer than a workgroup's
// 2048-element chunk, with ties, and in place), ResampleRows of long rows,
// a reduction capped at 512 workgroups and grid-stride loops past 65535
// workgroups of 256 threads. They are cheap enough on the CPU to run there
// too.
func LargeCases() []Case {
	const c, hw = 64, 5000
	const long = 2_500_003
	const fill = 65535*256 + 1000
	// in returns inputs of the given lengths; quant draws many ties.
	in := func(quant bool, ns ...int) func(r *rand.Rand) [][]float32 {
		return func(r *rand.Rand) [][]float32 {
			out := make([][]float32, len(ns))
			for i, n := range ns {
				out[i] = Uniform(r, n, -1, 1)
				if quant && i == 0 {
					for j, v := range out[i] {
						out[i][j] = float32(int(v*50)) / 50
					}
				}
			}
			return out
		}
	}
	return []Case{
		{Name: "MatMul/gram-splitK", Tol: TolGemm, Inputs: in(false, c*hw, c*c),
			Do: func(e *Env, in [][]float32) [][]float32 {
				f, g := e.T(in[0]), e.T(in[1]) // [C, HW], [C, C]
				if e.err != nil {
					return nil
				}
				e.B.MatMul(g, f, f, c, c, hw, false, true, 0.5, 0.25)
				return [][]float32{e.Get(g)}
			}},
		{Name: "MatMul/GF-splitK", Tol: TolGemm, Inputs: in(false, 3*hw, hw*5, 15),
			Do: func(e *Env, in [][]float32) [][]float32 {
				a, b, d := e.T(in[0]), e.T(in[1]), e.T(in[2]) // [3, HW], [HW, 5], [3, 5]
				if e.err != nil {
					return nil
				}
				e.B.MatMul(d, a, b, 3, 5, hw, false, false, 1, 0)
				return [][]float32{e.Get(d)}
			}},
		{Name: "SortRows/3x5000-ties", Tol: TolExact, Inputs: in(true, 3*hw, 3*hw, 3*hw),
			Do: func(e *Env, in [][]float32) [][]float32 {
				src, d, idx := e.T(in[0]), e.T(in[1]), e.T(in[2]) // [3, HW] each
				if e.err != nil {
					return nil
				}
				e.B.SortRows(d, idx, src, 3, hw)
				return [][]float32{e.Get(d), e.Get(idx)}
			}},
		{Name: "SortRows/2x4096-inplace", Tol: TolExact, Inputs: in(true, 2*4096, 2*4096),
			Do: func(e *Env, in [][]float32) [][]float32 {
				x, idx := e.T(in[0]), e.T(in[1]) // [2, 4096] each
				if e.err != nil {
					return nil
				}
				e.B.SortRows(x, idx, x, 2, 4096)
				return [][]float32{e.Get(x), e.Get(idx)}
			}},
		{Name: "ResampleRows/2x5000to3001", Tol: TolExact, Inputs: in(false, 2*hw, 2*3001),
			Do: func(e *Env, in [][]float32) [][]float32 {
				src, d := e.T(in[0]), e.T(in[1]) // [2, HW], [2, 3001]
				if e.err != nil {
					return nil
				}
				e.B.ResampleRows(d, src, 2, hw, 3001)
				return [][]float32{e.Get(d)}
			}},
		{Name: "Dot/2.5M", Tol: TolReduce, Inputs: in(false, long, 2),
			Do: func(e *Env, in [][]float32) [][]float32 {
				a, d := e.T(in[0]), e.T(in[1]) // [long], [2]
				if e.err != nil {
					return nil
				}
				e.B.Dot(d, 1, a, a)
				return [][]float32{e.Get(d)}
			}},
		{Name: "Fill/17M", Tol: TolExact, Inputs: in(false),
			Do: func(e *Env, _ [][]float32) [][]float32 {
				x := e.Z(fill)
				if e.err != nil {
					return nil
				}
				e.B.Fill(x, 2)
				e.B.Scale(x, 1.5)
				tail := make([]float32, 1000)
				e.read(tail, x, fill-1000)
				return [][]float32{tail}
			},
			CheckRef: func(out [][]float32) error { return constant(out[0], 3) }},
	}
}

// constant checks that every element of s is v.
func constant(s []float32, v float32) error {
	for i, x := range s {
		if x != v {
			return fmt.Errorf("element %d is %g, want %g", i, x, v)
		}
	}
	return nil
}
