package naive

// Reductions into a device scalar and the TV loss, summed in float64.

import "github.com/crema-app/crema/kernels"

func (Backend) Dot(dst kernels.Tensor, i int, a, b kernels.Tensor) {
	as, bs := host(a), host(b)
	var acc float64
	for k := range as {
		acc += float64(as[k]) * float64(bs[k])
	}
	host(dst)[i] = float32(acc)
}

func (Backend) Sum(dst kernels.Tensor, i int, a kernels.Tensor) {
	var acc float64
	for _, v := range host(a) {
		acc += float64(v)
	}
	host(dst)[i] = float32(acc)
}

func (Backend) TV(loss kernels.Tensor, i int, dx, x kernels.Tensor, c, h, w int, weight float32) {
	d, xs := host(dx), host(x)
	var acc float64
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				p := (ch*h+y)*w + xx
				if xx+1 < w {
					diff := xs[p+1] - xs[p]
					acc += float64(diff) * float64(diff)
					d[p+1] += 2 * weight * diff
					d[p] -= 2 * weight * diff
				}
				if y+1 < h {
					diff := xs[p+w] - xs[p]
					acc += float64(diff) * float64(diff)
					d[p+w] += 2 * weight * diff
					d[p] -= 2 * weight * diff
				}
			}
		}
	}
	host(loss)[i] = float32(float64(weight) * acc)
}
