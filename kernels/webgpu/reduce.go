package webgpu

import "github.com/crema-app/crema/kernels"

// reduceMode is the sum reduce.wgsl computes; the shader switches on the
// constants reduceModes generates (MODE_SUM ...).
type reduceMode uint32

const (
	reduceSum reduceMode = iota // Σ a
	reduceDot                   // Σ a ⊙ b
	reduceTV                    // the total-variation loss of a: [C, H, W]
)

var reduceModes = []wgslConst{
	{"MODE_SUM", uint32(reduceSum)},
	{"MODE_DOT", uint32(reduceDot)},
	{"MODE_TV", uint32(reduceTV)},
}

// reduceParams is the uniform of reduce.wgsl.
type reduceParams struct {
	n     uint32 // terms
	mode  reduceMode
	H, W  uint32 // the image of reduceTV
	G     uint32 // workgroups of the partial stage
	index uint32 // the slot of dst
	scale float32
}

// maxPartials is the most workgroups the partial stage runs.
const maxPartials = 512

var (
	reduceModule = newModule("reduce.wgsl", reduceParams{}, reduceModes...)

	kPartial = &kernelSpec{name: "reduce partial", module: reduceModule, entry: "partial", bindings: "urrw"}
	kFinish  = &kernelSpec{name: "reduce finish", module: reduceModule, entry: "finish", bindings: "u--ww"}
)

// reduce records dst[i] = scale·Σ term(mode) over n elements of a (and b).
func (g *Backend) reduce(dst *tensor, i int, mode reduceMode, a, b *tensor, n, h, w int, scale float32) {
	groups := min(max((n+4095)/4096, 1), maxPartials)
	part := g.scratchOf(scratchPartial, maxPartials) // [groups]
	if part == nil {
		return
	}
	p := reduceParams{n: uint32(n), mode: mode, H: uint32(h), W: uint32(w), G: uint32(groups), index: uint32(i), scale: scale}
	g.dispatch(kPartial, p, groups, 1, 1, a, b, part)
	g.dispatch(kFinish, p, 1, 1, 1, part, dst)
}

func (g *Backend) Dot(dst kernels.Tensor, i int, a, b kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	x := g.gt(a)
	g.reduce(g.gt(dst), i, reduceDot, x, g.gt(b), x.n, 1, 1, 1)
}

func (g *Backend) Sum(dst kernels.Tensor, i int, a kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	x := g.gt(a)
	g.reduce(g.gt(dst), i, reduceSum, x, x, x.n, 1, 1, 1)
}
