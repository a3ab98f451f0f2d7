package cpu

import (
	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// Pool2x2 runs one channel per job.
func (c *Backend) Pool2x2(dst, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	oh, ow := s.OutH(), s.OutW()
	d, xs := naive.Data(dst), naive.Data(x)
	c.parallel(s.C, func(_, ch int) {
		for y := 0; y < oh; y++ {
			r0 := xs[(ch*s.H+2*y)*s.W : (ch*s.H+2*y)*s.W+2*ow]
			r1 := xs[(ch*s.H+2*y+1)*s.W : (ch*s.H+2*y+1)*s.W+2*ow]
			out := d[(ch*oh+y)*ow : (ch*oh+y+1)*ow]
			if p == kernels.MaxPool {
				for j := range out {
					v := r0[2*j]
					if e := r0[2*j+1]; e > v {
						v = e
					}
					if e := r1[2*j]; e > v {
						v = e
					}
					if e := r1[2*j+1]; e > v {
						v = e
					}
					out[j] = v
				}
			} else {
				for j := range out {
					out[j] = (r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1]) * 0.25
				}
			}
		}
	})
}

// Pool2x2Backward runs one channel per job; every element of dx is written
// once (zero outside the routed positions).
func (c *Backend) Pool2x2Backward(dx, dy, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	oh, ow := s.OutH(), s.OutW()
	d, g, xs := naive.Data(dx), naive.Data(dy), naive.Data(x)
	c.parallel(s.C, func(_, ch int) {
		clear(d[ch*s.H*s.W : (ch+1)*s.H*s.W])
		for y := 0; y < oh; y++ {
			o0, o1 := (ch*s.H+2*y)*s.W, (ch*s.H+2*y+1)*s.W
			gr := g[(ch*oh+y)*ow : (ch*oh+y+1)*ow]
			for j, gv := range gr {
				a, b := o0+2*j, o1+2*j
				if p == kernels.AvgPool {
					q := gv / 4
					d[a], d[a+1], d[b], d[b+1] = q, q, q, q
					continue
				}
				best := a // first largest in row-major order
				if xs[a+1] > xs[best] {
					best = a + 1
				}
				if xs[b] > xs[best] {
					best = b
				}
				if xs[b+1] > xs[best] {
					best = b + 1
				}
				d[best] = gv
			}
		}
	})
}
