package cpu

import (
	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// Reductions accumulate blocks of float32 products in float64: each worker
// takes one contiguous part (fixed by the length and worker count, so the
// result is deterministic) and the parts are added in order.

// sum64 is Σ s in float64 with four independent accumulators.
func sum64(s []float32) float64 {
	var a0, a1, a2, a3 float64
	for len(s) >= 4 {
		a0 += float64(s[0])
		a1 += float64(s[1])
		a2 += float64(s[2])
		a3 += float64(s[3])
		s = s[4:]
	}
	for _, v := range s {
		a0 += float64(v)
	}
	return (a0 + a1) + (a2 + a3)
}

// dot64 is Σ a⊙b in float64 with four independent accumulators.
func dot64(a, b []float32) float64 {
	b = b[:len(a)]
	var a0, a1, a2, a3 float64
	for len(a) >= 4 && len(b) >= 4 {
		a0 += float64(a[0]) * float64(b[0])
		a1 += float64(a[1]) * float64(b[1])
		a2 += float64(a[2]) * float64(b[2])
		a3 += float64(a[3]) * float64(b[3])
		a, b = a[4:], b[4:]
	}
	for i, v := range a {
		a0 += float64(v) * float64(b[i])
	}
	return (a0 + a1) + (a2 + a3)
}

// partial runs f over the chunks of n elements and returns the ordered sum
// of its results.
func (c *Backend) partial(n int, f func(lo, hi int) float64) float64 {
	var parts [64]float64
	np := min(c.workers, len(parts))
	size := max(elemChunk, (n+np-1)/np)
	cnt := (n + size - 1) / size
	c.parallel(cnt, func(_, p int) {
		parts[p] = f(p*size, min(n, (p+1)*size))
	})
	var acc float64
	for _, v := range parts[:cnt] {
		acc += v
	}
	return acc
}

func (c *Backend) Dot(dst kernels.Tensor, i int, a, b kernels.Tensor) {
	as, bs := naive.Data(a), naive.Data(b)
	naive.Data(dst)[i] = float32(c.partial(len(as), func(lo, hi int) float64 { return dot64(as[lo:hi], bs[lo:hi]) }))
}

func (c *Backend) Sum(dst kernels.Tensor, i int, a kernels.Tensor) {
	as := naive.Data(a)
	naive.Data(dst)[i] = float32(c.partial(len(as), func(lo, hi int) float64 { return sum64(as[lo:hi]) }))
}

// TV computes each channel's loss and gradient in one pass per job: the
// gradient at p gathers the four differences touching p, so jobs never
// write the same element.
func (c *Backend) TV(loss kernels.Tensor, i int, dx, x kernels.Tensor, ch, h, w int, weight float32) {
	d, xs := naive.Data(dx), naive.Data(x)
	parts := make([]float64, ch)
	w2 := 2 * weight
	c.parallel(ch, func(_, k int) {
		img := xs[k*h*w : (k+1)*h*w]
		g := d[k*h*w : (k+1)*h*w]
		var acc float64
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				p := y*w + xx
				v := img[p]
				var gr float32
				if xx+1 < w {
					df := img[p+1] - v
					acc += float64(df) * float64(df)
					gr -= df
				}
				if xx > 0 {
					gr += v - img[p-1]
				}
				if y+1 < h {
					df := img[p+w] - v
					acc += float64(df) * float64(df)
					gr -= df
				}
				if y > 0 {
					gr += v - img[p-w]
				}
				g[p] += w2 * gr
			}
		}
		parts[k] = acc
	})
	var acc float64
	for _, v := range parts {
		acc += v
	}
	naive.Data(loss)[i] = float32(float64(weight) * acc)
}
