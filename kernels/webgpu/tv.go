package webgpu

import "github.com/crema-app/crema/kernels"

// tvParams is the uniform of tv.wgsl.
type tvParams struct {
	n      uint32 // elements of x: [C, H, W]
	H, W   uint32
	weight float32
}

var (
	tvModule = newModule("tv.wgsl", tvParams{})

	kTVGrad = &kernelSpec{name: "tv", module: tvModule, entry: "main", bindings: "urw"}
)

// TV adds the gradient with tv.wgsl and sums the loss with reduce.wgsl's
// MODE_TV.
func (g *Backend) TV(loss kernels.Tensor, i int, dx, x kernels.Tensor, c, h, w int, weight float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := c * h * w
	xs := g.gt(x)
	g.dispatch(kTVGrad, tvParams{n: uint32(n), H: uint32(h), W: uint32(w), weight: weight}, groups1D(n), 1, 1, xs, g.gt(dx))
	g.reduce(g.gt(loss), i, reduceTV, xs, xs, n, h, w, weight)
}
