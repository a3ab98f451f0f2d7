package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/crema-app/crema/kernels"
)

// relu returns n values max(u, 0), u uniform in [-1, 1): a post-ReLU
// activation with about half zeros.
func relu(r *rand.Rand, n int) []float32 {
	s := Uniform(r, n, -1, 1)
	for i, v := range s {
		s[i] = max(v, 0)
	}
	return s
}

// clipped checks that between 5% and 95% of out is zero: the ReLU both
// clipped and passed values.
func clipped(out [][]float32) error {
	zeros := 0
	for _, v := range out[0] {
		if v == 0 {
			zeros++
		}
	}
	if n := len(out[0]); n >= 20 && (zeros*20 < n || zeros*20 > 19*n) {
		return fmt.Errorf("%d of %d outputs are zero: the ReLU mask is not exercised", zeros, n)
	}
	return nil
}

type convCase struct {
	s     kernels.ConvShape
	short bool
}

type poolCase struct {
	s     kernels.PoolShape
	short bool
}

type mmCase struct {
	m, n, k       int
	short         bool
	alpha, beta   float32
	nanDst, trans bool // nanDst: dst starts as NaN (beta must be 0)
}

// Cases returns the whole table, in a fixed order.
func Cases() []Case {
	var cs []Case
	convs := []convCase{
		{kernels.ConvShape{Cin: 3, Cout: 64, H: 9, W: 6}, true},
		{kernels.ConvShape{Cin: 3, Cout: 64, H: 1, W: 1}, true},
		{kernels.ConvShape{Cin: 3, Cout: 64, H: 33, W: 17}, false},
		{kernels.ConvShape{Cin: 5, Cout: 7, H: 4, W: 3}, true},
		{kernels.ConvShape{Cin: 64, Cout: 64, H: 5, W: 7}, true},
		{kernels.ConvShape{Cin: 64, Cout: 64, H: 16, W: 16}, false},
		{kernels.ConvShape{Cin: 64, Cout: 64, H: 9, W: 1}, false},
		{kernels.ConvShape{Cin: 64, Cout: 128, H: 9, W: 6}, false},
		{kernels.ConvShape{Cin: 128, Cout: 128, H: 5, W: 7}, false},
		{kernels.ConvShape{Cin: 128, Cout: 256, H: 9, W: 6}, false},
		{kernels.ConvShape{Cin: 128, Cout: 256, H: 2, W: 3}, true},
		{kernels.ConvShape{Cin: 256, Cout: 256, H: 5, W: 7}, false},
		{kernels.ConvShape{Cin: 256, Cout: 512, H: 1, W: 1}, true},
		{kernels.ConvShape{Cin: 256, Cout: 512, H: 9, W: 6}, false},
		{kernels.ConvShape{Cin: 512, Cout: 512, H: 5, W: 7}, false},
		{kernels.ConvShape{Cin: 512, Cout: 512, H: 3, W: 2}, true},
		{kernels.ConvShape{Cin: 512, Cout: 512, H: 1, W: 1}, true},
	}
	for _, c := range convs {
		cs = append(cs, convForward(c), convBackward(c))
	}
	pools := []poolCase{
		{kernels.PoolShape{C: 3, H: 5, W: 7}, true},
		{kernels.PoolShape{C: 64, H: 9, W: 6}, true},
		{kernels.PoolShape{C: 64, H: 1, W: 1}, true},
		{kernels.PoolShape{C: 128, H: 16, W: 16}, false},
		{kernels.PoolShape{C: 512, H: 5, W: 7}, true},
	}
	for _, p := range pools {
		for _, kind := range []kernels.Pooling{kernels.MaxPool, kernels.AvgPool} {
			cs = append(cs, poolForward(p, kind), poolBackward(p, kind, false))
		}
		cs = append(cs, poolBackward(p, kernels.MaxPool, true))
	}
	mms := []mmCase{
		{m: 3, n: 5, k: 7, short: true, alpha: 1},
		{m: 64, n: 64, k: 300, short: true, alpha: 1},
		{m: 64, n: 64, k: 300, short: true, alpha: 0.7, beta: 0.5},
		{m: 13, n: 9, k: 31, short: true, alpha: 1, nanDst: true},
		{m: 129, n: 67, k: 1000, alpha: -1.5, beta: 1},
		{m: 256, n: 256, k: 35, short: true, alpha: 2, beta: -0.25},
		{m: 512, n: 512, k: 70, alpha: 1},
	}
	for _, mm := range mms {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				cs = append(cs, matMul(mm, ta, tb))
			}
		}
	}
	for _, n := range []int{1, 1000, 100003} {
		cs = append(cs, elementwise(n, n <= 1000)...)
	}
	for _, rc := range [][2]int{{3, 5}, {64, 1}, {64, 289}, {512, 35}} {
		cs = append(cs, rows(rc[0], rc[1], rc[0]*rc[1] <= 20000)...)
	}
	for _, sz := range [][3]int{{3, 9, 6}, {3, 1, 1}, {3, 48, 40}, {64, 5, 7}} {
		cs = append(cs, tv(sz[0], sz[1], sz[2], sz[1]*sz[2] <= 64))
	}
	for _, n := range []int{1, 1000, 100003} {
		cs = append(cs, adam(n, n <= 1000))
	}
	cs = append(cs, robustCases()...)
	return cs
}

func convForward(c convCase) Case {
	s := c.s
	return Case{
		Name:  fmt.Sprintf("Conv3x3/%dto%d/%dx%d", s.Cin, s.Cout, s.H, s.W),
		Short: c.short, Tol: TolGemm,
		Inputs: func(r *rand.Rand) [][]float32 {
			sc := float32(1 / math.Sqrt(float64(s.Cin*9)))
			return [][]float32{
				Uniform(r, s.Cin*s.H*s.W, -1, 1),
				Uniform(r, s.Cout*s.Cin*9, -2*sc, 2*sc),
				Uniform(r, s.Cout, -0.3, 0.3),
			}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			dst := e.T(Uniform(rand.New(rand.NewPCG(1, 2)), s.Cout*s.H*s.W, -9, 9)) // garbage to overwrite
			x, w, b := e.T(in[0]), e.T(in[1]), e.T(in[2])
			if e.err != nil {
				return nil
			}
			e.B.Conv3x3(dst, x, w, b, s)
			return [][]float32{e.Get(dst), e.Get(x)}
		},
		CheckRef: clipped,
	}
}

func convBackward(c convCase) Case {
	s := c.s
	return Case{
		Name:  fmt.Sprintf("Conv3x3Backward/%dto%d/%dx%d", s.Cin, s.Cout, s.H, s.W),
		Short: c.short, Tol: TolGemm,
		Inputs: func(r *rand.Rand) [][]float32 {
			return [][]float32{
				Uniform(r, s.Cout*s.H*s.W, -1, 1), // dy
				relu(r, s.Cout*s.H*s.W),           // y
				Uniform(r, s.Cout*s.Cin*9, -0.1, 0.1),
			}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			dx := e.T(Uniform(rand.New(rand.NewPCG(1, 2)), s.Cin*s.H*s.W, -9, 9))
			dy, y, w := e.T(in[0]), e.T(in[1]), e.T(in[2])
			if e.err != nil {
				return nil
			}
			e.B.Conv3x3Backward(dx, dy, y, w, s)
			return [][]float32{e.Get(dx), e.Get(dy)} // dy must be unchanged
		},
	}
}

func poolForward(p poolCase, kind kernels.Pooling) Case {
	s := p.s
	tol := float64(TolExact)
	if kind == kernels.AvgPool {
		tol = TolElementwise
	}
	return Case{
		Name:  fmt.Sprintf("Pool2x2/%s/%dx%dx%d", kind, s.C, s.H, s.W),
		Short: p.short, Tol: tol,
		Inputs: func(r *rand.Rand) [][]float32 {
			return [][]float32{Uniform(r, s.C*s.H*s.W, -1, 1)}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			dst := e.T(Uniform(rand.New(rand.NewPCG(1, 2)), s.C*s.OutH()*s.OutW(), -9, 9))
			x := e.T(in[0])
			if e.err != nil {
				return nil
			}
			e.B.Pool2x2(dst, x, s, kind)
			return [][]float32{e.Get(dst)}
		},
	}
}

// poolBackward with ties draws x from {0, 1, 2}, so that max pooling must
// pick the first largest element of a window.
func poolBackward(p poolCase, kind kernels.Pooling, ties bool) Case {
	s := p.s
	tol := float64(TolExact)
	if kind == kernels.AvgPool {
		tol = TolElementwise
	}
	name := fmt.Sprintf("Pool2x2Backward/%s/%dx%dx%d", kind, s.C, s.H, s.W)
	if ties {
		name += "/ties"
	}
	return Case{
		Name: name, Short: p.short, Tol: tol,
		Inputs: func(r *rand.Rand) [][]float32 {
			x := Uniform(r, s.C*s.H*s.W, -1, 1)
			if ties {
				for i := range x {
					x[i] = float32(r.IntN(3))
				}
			}
			return [][]float32{x, Uniform(r, s.C*s.OutH()*s.OutW(), -1, 1)}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			dx := e.T(Uniform(rand.New(rand.NewPCG(1, 2)), s.C*s.H*s.W, -9, 9))
			x, dy := e.T(in[0]), e.T(in[1])
			if e.err != nil {
				return nil
			}
			e.B.Pool2x2Backward(dx, dy, x, s, kind)
			return [][]float32{e.Get(dx)}
		},
	}
}

func matMul(c mmCase, ta, tb bool) Case {
	name := fmt.Sprintf("MatMul/%dx%dx%d/a%s%s/alpha%g/beta%g", c.m, c.n, c.k, tr(ta), tr(tb), c.alpha, c.beta)
	if c.nanDst {
		name += "/nandst"
	}
	return Case{
		Name: name, Short: c.short, Tol: TolGemm,
		Inputs: func(r *rand.Rand) [][]float32 {
			d := Uniform(r, c.m*c.n, -1, 1)
			if c.nanDst {
				for i := range d {
					d[i] = float32(math.NaN())
				}
			}
			return [][]float32{Uniform(r, c.m*c.k, -1, 1), Uniform(r, c.k*c.n, -1, 1), d}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			a, b, dst := e.T(in[0]), e.T(in[1]), e.T(in[2])
			if e.err != nil {
				return nil
			}
			e.B.MatMul(dst, a, b, c.m, c.n, c.k, ta, tb, c.alpha, c.beta)
			return [][]float32{e.Get(dst)}
		},
	}
}

func tr(t bool) string {
	if t {
		return "T"
	}
	return "N"
}

// elementwise covers Copy, Fill, Scale, Axpy, Mul, Div and Sqrt on n elements,
// with the aliasing the interface allows.
func elementwise(n int, short bool) []Case {
	two := func(r *rand.Rand) [][]float32 {
		return [][]float32{Uniform(r, n, -1, 1), Uniform(r, n, 0.5, 2)}
	}
	mk := func(name string, tol float64, f func(e *Env, a, b kernels.Tensor) kernels.Tensor) Case {
		return Case{
			Name: fmt.Sprintf("%s/%d", name, n), Short: short, Tol: tol, Inputs: two,
			Do: func(e *Env, in [][]float32) [][]float32 {
				a, b := e.T(in[0]), e.T(in[1])
				if e.err != nil {
					return nil
				}
				out := f(e, a, b)
				return [][]float32{e.Get(out), e.Get(a), e.Get(b)}
			},
		}
	}
	return []Case{
		mk("Copy", TolExact, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Copy(b, a); return b }),
		mk("Fill", TolExact, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Fill(a, -0.375); return a }),
		mk("Fill/zero", TolExact, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Fill(a, 0); return a }),
		mk("Scale", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Scale(a, 1.7); return a }),
		mk("Axpy", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Axpy(a, -0.3, b); return a }),
		mk("Mul", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor {
			d := e.Z(n)
			e.B.Mul(d, a, b)
			return d
		}),
		mk("Mul/alias", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Mul(b, a, b); return b }),
		mk("Div", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor {
			d := e.Z(n)
			e.B.Div(d, a, b)
			return d
		}),
		mk("Div/alias", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Div(a, a, b); return a }),
		mk("Sqrt", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor {
			d := e.Z(n)
			e.B.Sqrt(d, b, 1e-3)
			return d
		}),
		mk("Sqrt/alias", TolElementwise, func(e *Env, a, b kernels.Tensor) kernels.Tensor { e.B.Sqrt(b, b, 0); return b }),
		{
			Name: fmt.Sprintf("Dot/%d", n), Short: short, Tol: TolReduce,
			Inputs: func(r *rand.Rand) [][]float32 {
				return [][]float32{Uniform(r, n, -0.2, 1), Uniform(r, n, -0.2, 1), Uniform(r, 4, -1, 1)}
			},
			Do: func(e *Env, in [][]float32) [][]float32 {
				a, b, d := e.T(in[0]), e.T(in[1]), e.T(in[2])
				if e.err != nil {
					return nil
				}
				e.B.Dot(d, 2, a, b)
				e.B.Dot(d, 0, a, a)
				out := make([]float32, 2)
				e.read(out, d, 1)
				return [][]float32{e.Get(d), out}
			},
		},
		{
			Name: fmt.Sprintf("Sum/%d", n), Short: short, Tol: TolReduce,
			Inputs: func(r *rand.Rand) [][]float32 {
				return [][]float32{Uniform(r, n, -0.2, 1), Uniform(r, 3, -1, 1)}
			},
			Do: func(e *Env, in [][]float32) [][]float32 {
				a, d := e.T(in[0]), e.T(in[1])
				if e.err != nil {
					return nil
				}
				e.B.Sum(d, 1, a)
				return [][]float32{e.Get(d)}
			},
		},
	}
}

// rows covers RowSum, AddRows, MulRows, SortRows, ScatterRows and
// ResampleRows on a [nr, nc] matrix.
func rows(nr, nc int, short bool) []Case {
	name := func(op string) string { return fmt.Sprintf("%s/%dx%d", op, nr, nc) }
	in := func(r *rand.Rand) [][]float32 {
		perm := make([]float32, nr*nc)
		for i := 0; i < nr; i++ {
			for j, p := range r.Perm(nc) {
				perm[i*nc+j] = float32(p)
			}
		}
		return [][]float32{Uniform(r, nr*nc, -1, 1), Uniform(r, nr, 0.5, 2), perm}
	}
	return []Case{
		{Name: name("RowSum"), Short: short, Tol: TolReduce, Inputs: in,
			Do: func(e *Env, in [][]float32) [][]float32 {
				for i, v := range in[0] {
					in[0][i] = v*0.5 + 0.4 // biased positive: no cancellation
				}
				a, d := e.T(in[0]), e.Z(nr)
				if e.err != nil {
					return nil
				}
				e.B.RowSum(d, a, nr, nc, -0.5)
				return [][]float32{e.Get(d)}
			}},
		{Name: name("AddRows"), Short: short, Tol: TolElementwise, Inputs: in,
			Do: func(e *Env, in [][]float32) [][]float32 {
				d, v := e.T(in[0]), e.T(in[1])
				if e.err != nil {
					return nil
				}
				e.B.AddRows(d, v, nr, nc, 0.75)
				return [][]float32{e.Get(d)}
			}},
		{Name: name("MulRows"), Short: short, Tol: TolElementwise, Inputs: in,
			Do: func(e *Env, in [][]float32) [][]float32 {
				d, v := e.T(in[0]), e.T(in[1])
				if e.err != nil {
					return nil
				}
				e.B.MulRows(d, v, nr, nc)
				return [][]float32{e.Get(d)}
			}},
		{Name: name("SortRows"), Short: short, Tol: TolExact, Inputs: in,
			Do: func(e *Env, in [][]float32) [][]float32 {
				src, d, idx := e.T(in[0]), e.Z(nr*nc), e.T(in[2])
				if e.err != nil {
					return nil
				}
				e.B.SortRows(d, idx, src, nr, nc)
				out := [][]float32{e.Get(d), e.Get(idx), e.Get(src)}
				e.B.SortRows(src, idx, src, nr, nc) // in place
				return append(out, e.Get(src))
			}},
		{Name: name("ScatterRows"), Short: short, Tol: TolExact, Inputs: in,
			Do: func(e *Env, in [][]float32) [][]float32 {
				src, d, idx := e.T(in[0]), e.Z(nr*nc), e.T(in[2])
				if e.err != nil {
					return nil
				}
				e.B.ScatterRows(d, idx, src, nr, nc)
				return [][]float32{e.Get(d)}
			}},
		{Name: name("ResampleRows"), Short: short, Tol: TolExact, Inputs: in,
			Do: func(e *Env, in [][]float32) [][]float32 {
				src := e.T(in[0])
				down, up := max(1, nc*3/7), nc*2+1
				d1, d2 := e.Z(nr*down), e.Z(nr*up)
				if e.err != nil {
					return nil
				}
				e.B.ResampleRows(d1, src, nr, nc, down)
				e.B.ResampleRows(d2, src, nr, nc, up)
				return [][]float32{e.Get(d1), e.Get(d2)}
			}},
	}
}

func tv(c, h, w int, short bool) Case {
	return Case{
		Name: fmt.Sprintf("TV/%dx%dx%d", c, h, w), Short: short, Tol: TolReduce,
		Inputs: func(r *rand.Rand) [][]float32 {
			return [][]float32{Uniform(r, c*h*w, 0, 1), Uniform(r, c*h*w, -1, 1), Uniform(r, 3, -1, 1)}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			x, dx, loss := e.T(in[0]), e.T(in[1]), e.T(in[2])
			if e.err != nil {
				return nil
			}
			e.B.TV(loss, 1, dx, x, c, h, w, 0.37)
			return [][]float32{e.Get(loss), e.Get(dx)}
		},
	}
}

func adam(n int, short bool) Case {
	return Case{
		Name: fmt.Sprintf("Adam/%d", n), Short: short, Tol: TolReduce,
		Inputs: func(r *rand.Rand) [][]float32 {
			return [][]float32{Uniform(r, n, -1, 1), Uniform(r, n, -1, 1), Uniform(r, n, -0.1, 0.1), Uniform(r, n, 0, 0.01)}
		},
		Do: func(e *Env, in [][]float32) [][]float32 {
			x, g, m, v := e.T(in[0]), e.T(in[1]), e.T(in[2]), e.T(in[3])
			if e.err != nil {
				return nil
			}
			p := kernels.AdamParams{LR: 0.02, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 3}
			e.B.Adam(x, g, m, v, p)
			p.Step = 4
			e.B.Adam(x, g, m, v, p)
			return [][]float32{e.Get(x), e.Get(m), e.Get(v)}
		},
	}
}
