package naive

// 2×2 pooling and its gradient, window by window.

import "github.com/crema-app/crema/kernels"

func (Backend) Pool2x2(dst, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	oh, ow := s.OutH(), s.OutW()
	d, xs := host(dst), host(x)
	for c := 0; c < s.C; c++ {
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				base := (c*s.H+2*y)*s.W + 2*xx
				win := [4]float32{xs[base], xs[base+1], xs[base+s.W], xs[base+s.W+1]}
				var v float32
				if p == kernels.MaxPool {
					v = win[0]
					for _, e := range win[1:] {
						if e > v {
							v = e
						}
					}
				} else {
					v = float32((float64(win[0]) + float64(win[1]) + float64(win[2]) + float64(win[3])) / 4)
				}
				d[(c*oh+y)*ow+xx] = v
			}
		}
	}
}

func (Backend) Pool2x2Backward(dx, dy, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	oh, ow := s.OutH(), s.OutW()
	d, g, xs := host(dx), host(dy), host(x)
	for i := range d {
		d[i] = 0
	}
	for c := 0; c < s.C; c++ {
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				base := (c*s.H+2*y)*s.W + 2*xx
				idx := [4]int{base, base + 1, base + s.W, base + s.W + 1}
				gv := g[(c*oh+y)*ow+xx]
				if p == kernels.MaxPool {
					best := idx[0]
					for _, j := range idx[1:] {
						if xs[j] > xs[best] {
							best = j
						}
					}
					d[best] = gv
				} else {
					for _, j := range idx {
						d[j] = gv / 4
					}
				}
			}
		}
	}
}
