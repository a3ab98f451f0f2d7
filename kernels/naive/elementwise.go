package naive

// Elementwise operations, element by element.

import (
	"math"

	"github.com/crema-app/crema/kernels"
)

func (Backend) Fill(dst kernels.Tensor, v float32) {
	d := host(dst)
	for i := range d {
		d[i] = v
	}
}

func (Backend) Scale(dst kernels.Tensor, alpha float32) {
	d := host(dst)
	for i := range d {
		d[i] *= alpha
	}
}

func (Backend) Axpy(dst kernels.Tensor, alpha float32, x kernels.Tensor) {
	d, xs := host(dst), host(x)
	for i := range d {
		d[i] += alpha * xs[i]
	}
}

func (Backend) Mul(dst, a, b kernels.Tensor) {
	d, as, bs := host(dst), host(a), host(b)
	for i := range d {
		d[i] = as[i] * bs[i]
	}
}

func (Backend) Div(dst, a, b kernels.Tensor) {
	d, as, bs := host(dst), host(a), host(b)
	for i := range d {
		d[i] = as[i] / bs[i]
	}
}

func (Backend) Sqrt(dst, a kernels.Tensor, eps float32) {
	d, as := host(dst), host(a)
	for i := range d {
		d[i] = float32(math.Sqrt(float64(as[i] + eps)))
	}
}
