package kernels

import "math"

// elemChunk is the smallest slice an elementwise op hands to one worker:
// below it, starting goroutines costs more than the loop.
const elemChunk = 1 << 15

func (c *CPU) Fill(dst Tensor, v float32) {
	d := host(dst)
	c.chunks(len(d), elemChunk, func(_, lo, hi int) {
		s := d[lo:hi]
		for i := range s {
			s[i] = v
		}
	})
}

func (c *CPU) Scale(dst Tensor, alpha float32) {
	d := host(dst)
	c.chunks(len(d), elemChunk, func(_, lo, hi int) {
		s := d[lo:hi]
		for i := range s {
			s[i] *= alpha
		}
	})
}

func (c *CPU) Axpy(dst Tensor, alpha float32, x Tensor) {
	checkLen("Axpy x", x, dst.Len())
	d, xs := host(dst), host(x)
	c.chunks(len(d), elemChunk, func(_, lo, hi int) {
		s, xv := d[lo:hi], xs[lo:hi]
		for i := range s {
			s[i] += alpha * xv[i]
		}
	})
}

func (c *CPU) Mul(dst, a, b Tensor) {
	checkLen("Mul a", a, dst.Len())
	checkLen("Mul b", b, dst.Len())
	d, as, bs := host(dst), host(a), host(b)
	c.chunks(len(d), elemChunk, func(_, lo, hi int) {
		s, av, bv := d[lo:hi], as[lo:hi], bs[lo:hi]
		for i := range s {
			s[i] = av[i] * bv[i]
		}
	})
}

func (c *CPU) Div(dst, a, b Tensor) {
	checkLen("Div a", a, dst.Len())
	checkLen("Div b", b, dst.Len())
	d, as, bs := host(dst), host(a), host(b)
	c.chunks(len(d), elemChunk, func(_, lo, hi int) {
		s, av, bv := d[lo:hi], as[lo:hi], bs[lo:hi]
		for i := range s {
			s[i] = av[i] / bv[i]
		}
	})
}

func (c *CPU) Sqrt(dst, a Tensor, eps float32) {
	checkLen("Sqrt a", a, dst.Len())
	d, as := host(dst), host(a)
	c.chunks(len(d), elemChunk, func(_, lo, hi int) {
		s, av := d[lo:hi], as[lo:hi]
		for i := range s {
			s[i] = float32(math.Sqrt(float64(av[i] + eps)))
		}
	})
}

// Adam is Naive's update in float32, with the bias corrections folded into
// two scalars computed in float64.
func (c *CPU) Adam(x, g, m, v Tensor, p AdamParams) {
	n := x.Len()
	checkLen("Adam g", g, n)
	checkLen("Adam m", m, n)
	checkLen("Adam v", v, n)
	xs, gs, ms, vs := host(x), host(g), host(m), host(v)
	c1 := float32(1 / (1 - math.Pow(float64(p.Beta1), float64(p.Step))))
	c2 := float32(1 / (1 - math.Pow(float64(p.Beta2), float64(p.Step))))
	b1, b2 := p.Beta1, p.Beta2
	c.chunks(n, elemChunk, func(_, lo, hi int) {
		xv, gv, mv, vv := xs[lo:hi], gs[lo:hi], ms[lo:hi], vs[lo:hi]
		for i := range xv {
			gi := gv[i]
			mi := b1*mv[i] + (1-b1)*gi
			vi := b2*vv[i] + (1-b2)*gi*gi
			mv[i], vv[i] = mi, vi
			xv[i] -= p.LR * (mi * c1) / (float32(math.Sqrt(float64(vi*c2))) + p.Eps)
		}
	})
}
