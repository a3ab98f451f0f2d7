package webgpu

import "github.com/crema-app/crema/kernels"

// poolParams is the uniform of pool.wgsl.
type poolParams struct {
	H, W   uint32 // x: [C, H, W]
	OH, OW uint32 // the pooled height and width
	isMax  bool
	n      uint32 // threads: outputs (forward) or windows (backward)
}

var (
	poolModule = newModule("pool.wgsl", poolParams{})

	kPoolFwd = &kernelSpec{name: "pool forward", module: poolModule, entry: "forward", bindings: "ur-w"}
	kPoolBwd = &kernelSpec{name: "pool backward", module: poolModule, entry: "backward", bindings: "urrw"}
)

func (g *Backend) Pool2x2(dst, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	g.mu.Lock()
	defer g.mu.Unlock()
	oh, ow := s.OutH(), s.OutW()
	n := s.C * oh * ow
	g.dispatch(kPoolFwd, poolParams{H: uint32(s.H), W: uint32(s.W), OH: uint32(oh), OW: uint32(ow),
		isMax: p == kernels.MaxPool, n: uint32(n)}, groups1D(n), 1, 1, g.gt(x), g.gt(dst))
}

func (g *Backend) Pool2x2Backward(dx, dy, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	g.mu.Lock()
	defer g.mu.Unlock()
	oh, ow := s.OutH(), s.OutW()
	n := s.C * ((s.H + 1) / 2) * ((s.W + 1) / 2) // windows, partial ones included
	g.dispatch(kPoolBwd, poolParams{H: uint32(s.H), W: uint32(s.W), OH: uint32(oh), OW: uint32(ow),
		isMax: p == kernels.MaxPool, n: uint32(n)}, groups1D(n), 1, 1, g.gt(x), g.gt(dy), g.gt(dx))
}
