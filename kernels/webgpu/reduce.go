package webgpu

import (
	"slices"

	"github.com/crema-app/crema/kernels"
)

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

// dotsParams is the uniform of dots.wgsl.
type dotsParams struct {
	n      uint32 // elements of every vector
	nv     uint32 // vectors bound (partial)
	np     uint32 // pairs: in the batch (partial), in the call (finish)
	ia, ib uint32 // pair q multiplies v[ia>>4q & 15] by v[ib>>4q & 15]
	G      uint32 // workgroups of the partial stage
	base   uint32 // the first pair of the batch (partial) or of the dispatch (finish)
	index  uint32 // the slot of dst for the call's first pair (finish)
}

// Dots batches: at most dotsVectors distinct vectors and dotsPairs pairs
// per partial dispatch (dots.wgsl).
const (
	dotsVectors = 6
	dotsPairs   = 8
)

var (
	dotsModule = newModule("dots.wgsl", dotsParams{})

	kDotsPartial = &kernelSpec{name: "dots partial", module: dotsModule, entry: "partial", bindings: "urrrrrrw-"}
	kDotsFinish  = &kernelSpec{name: "dots finish", module: dotsModule, entry: "finish", bindings: "u------ww"}
)

// Dots groups the pairs, in order, into batches of at most dotsPairs pairs
// over at most dotsVectors distinct vectors, records one partial dispatch
// per batch and one finish for them all.
func (g *Backend) Dots(dst kernels.Tensor, i int, a, b []kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(a) == 0 {
		return
	}
	d := g.gt(dst)
	n := g.gt(a[0]).n
	groups := min(max((n+4095)/4096, 1), maxPartials)
	part := g.scratchOf(scratchDots, len(a)*groups) // [pairs, groups]
	if part == nil {
		return
	}
	var vs []*tensor
	var p dotsParams
	send := func() {
		if p.np == 0 {
			return
		}
		p.nv = uint32(len(vs))
		bound := make([]*tensor, 0, dotsVectors+1)
		bound = append(bound, vs...)
		for len(bound) < dotsVectors {
			bound = append(bound, vs[0])
		}
		g.dispatch(kDotsPartial, p, groups, 1, 1, append(bound, part)...)
	}
	slot := func(t *tensor, vs []*tensor) ([]*tensor, uint32) {
		for k, v := range vs {
			if v == t {
				return vs, uint32(k)
			}
		}
		return append(vs, t), uint32(len(vs))
	}
	for j := range a {
		x, y := g.gt(a[j]), g.gt(b[j])
		w := len(vs)
		if !slices.Contains(vs, x) {
			w++
		}
		if y != x && !slices.Contains(vs, y) {
			w++
		}
		if int(p.np) == dotsPairs || w > dotsVectors {
			send()
			vs, p = vs[:0], dotsParams{base: uint32(j)}
		}
		var ia, ib uint32
		vs, ia = slot(x, vs)
		vs, ib = slot(y, vs)
		p.n, p.G = uint32(n), uint32(groups)
		p.ia |= ia << (4 * p.np)
		p.ib |= ib << (4 * p.np)
		p.np++
	}
	send()
	for base := 0; base < len(a); base += maxGroups {
		fin := dotsParams{n: uint32(n), np: uint32(len(a)), G: uint32(groups), base: uint32(base), index: uint32(i)}
		g.dispatch(kDotsFinish, fin, min(len(a)-base, maxGroups), 1, 1, part, d)
	}
}

func (g *Backend) Sum(dst kernels.Tensor, i int, a kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	x := g.gt(a)
	g.reduce(g.gt(dst), i, reduceSum, x, x, x.n, 1, 1, 1)
}
