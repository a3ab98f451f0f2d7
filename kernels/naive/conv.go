package naive

// Conv3x3 and its input gradient: the direct 7-deep loop over output pixels,
// channels and taps, in float64.

import (
	"math"

	"github.com/crema-app/crema/kernels"
)

func (Backend) Conv3x3(dst, x, w, b kernels.Tensor, s kernels.ConvShape) {
	d, xs, ws, bs := host(dst), host(x), host(w), host(b)
	for o := 0; o < s.Cout; o++ {
		for y := 0; y < s.H; y++ {
			for xx := 0; xx < s.W; xx++ {
				acc := float64(bs[o])
				for i := 0; i < s.Cin; i++ {
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							iy, ix := y+ky-1, xx+kx-1
							if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
								continue
							}
							acc += float64(ws[((o*s.Cin+i)*3+ky)*3+kx]) * float64(xs[(i*s.H+iy)*s.W+ix])
						}
					}
				}
				d[(o*s.H+y)*s.W+xx] = float32(math.Max(acc, 0))
			}
		}
	}
}

func (Backend) Conv3x3Backward(dx, dy, y, w kernels.Tensor, s kernels.ConvShape) {
	d, g, ys, ws := host(dx), host(dy), host(y), host(w)
	acc := make([]float64, len(d))
	for o := 0; o < s.Cout; o++ {
		for oy := 0; oy < s.H; oy++ {
			for ox := 0; ox < s.W; ox++ {
				p := (o*s.H+oy)*s.W + ox
				if ys[p] <= 0 {
					continue
				}
				gv := float64(g[p])
				for i := 0; i < s.Cin; i++ {
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							iy, ix := oy+ky-1, ox+kx-1
							if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
								continue
							}
							acc[(i*s.H+iy)*s.W+ix] += gv * float64(ws[((o*s.Cin+i)*3+ky)*3+kx])
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		d[i] = float32(v)
	}
}
