package cpu

import "github.com/crema-app/crema/kernels"

// Dots is Dot pair by pair (each on every core).
func (c *Backend) Dots(dst kernels.Tensor, i int, a, b []kernels.Tensor) {
	for j := range a {
		c.Dot(dst, i+j, a[j], b[j])
	}
}
