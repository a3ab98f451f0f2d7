package naive

import "github.com/crema-app/crema/kernels"

// Dots is Dot pair by pair.
func (nb Backend) Dots(dst kernels.Tensor, i int, a, b []kernels.Tensor) {
	for j := range a {
		nb.Dot(dst, i+j, a[j], b[j])
	}
}
