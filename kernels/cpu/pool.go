package cpu

import (
	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// Pool2x2 runs one channel per job. Max pooling takes each window's
// elements with moreMax, which has no branch (greater; BenchmarkPool2x2
// at conv1_2's 256 px, one thread in Chromium: 13.9 → 7.8 ms forward,
// 12.0 → 9.0 ms backward).
func (c *Backend) Pool2x2(dst, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	oh, ow := s.OutH(), s.OutW()
	d, xs := naive.Data(dst), naive.Data(x)
	c.parallel(s.C, func(_, ch int) {
		for y := 0; y < oh; y++ {
			r0 := xs[(ch*s.H+2*y)*s.W : (ch*s.H+2*y)*s.W+2*ow]
			r1 := xs[(ch*s.H+2*y+1)*s.W : (ch*s.H+2*y+1)*s.W+2*ow]
			r1 = r1[:len(r0)]
			out := d[(ch*oh+y)*ow : (ch*oh+y+1)*ow]
			if p == kernels.MaxPool {
				for k := 0; k+1 < len(r0); k += 2 {
					out[k>>1] = moreMax(moreMax(moreMax(r0[k], r0[k+1]), r1[k]), r1[k+1])
				}
			} else {
				for j := range out {
					out[j] = (r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1]) * 0.25
				}
			}
		}
	})
}

// moreMax is e when e > v, else v (a max pooling window's running
// maximum: the first NaN stays, a later one is skipped, and of ±0 the
// first is kept), bit for bit, without a branch.
func moreMax(v, e float32) float32 { return pick(greater(v, e), v, e) }

// Pool2x2Backward runs one channel per job; every element of dx is written
// once (zero outside the routed positions). The max's position is found
// without a branch, as in Pool2x2.
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
				// The first largest in row-major order.
				best, v := a, xs[a]
				best, v = moreAt(best, v, a+1, xs[a+1])
				best, v = moreAt(best, v, b, xs[b])
				best, _ = moreAt(best, v, b+1, xs[b+1])
				d[best] = gv
			}
		}
	})
}

// moreAt is (i, e) when e > v, else (best, v), without a branch.
func moreAt(best int, v float32, i int, e float32) (int, float32) {
	m := greater(v, e)
	return best ^ (best^i)&int(int32(m)), pick(m, v, e)
}
