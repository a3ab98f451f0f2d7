package webgpu

import (
	"math"

	"github.com/crema-app/crema/kernels"
)

// adamParams is the uniform of adam.wgsl.
type adamParams struct {
	n                uint32
	lr, beta1, beta2 float32
	eps              float32
	c1, c2           float32 // the bias corrections 1-β1^t and 1-β2^t
}

var (
	adamModule = newModule("adam.wgsl", adamParams{})

	kAdam = &kernelSpec{name: "adam", module: adamModule, entry: "main", bindings: "uwrww"}
)

func (g *Backend) Adam(x, gr, m, v kernels.Tensor, p kernels.AdamParams) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := x.Len()
	c1 := 1 - math.Pow(float64(p.Beta1), float64(p.Step))
	c2 := 1 - math.Pow(float64(p.Beta2), float64(p.Step))
	g.dispatch(kAdam, adamParams{n: uint32(n), lr: p.LR, beta1: p.Beta1, beta2: p.Beta2, eps: p.Eps,
		c1: float32(c1), c2: float32(c2)}, groups1D(n), 1, 1, g.gt(x), g.gt(gr), g.gt(m), g.gt(v))
}
