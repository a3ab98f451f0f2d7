package webgpu

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// convParams is the uniform of conv.wgsl.
type convParams struct {
	M, N, K uint32 // out [M, N] = A [M, K] · B [K, N]; K = C·9
	H, W    uint32 // in: [C, H, W]
	kc      uint32 // taps per split-K slice
	S       uint32 // split-K slices
	tilesN  uint32 // tiles along N: ceil(N/TN)
	tiles   uint32 // tilesN · ceil(M/TM)
}

// flipParams is the uniform of convflip.wgsl.
type flipParams struct {
	Cin, Cout uint32
	n         uint32 // elements of w
}

var (
	convModule = newModule("conv.wgsl", convParams{})
	flipModule = newModule("convflip.wgsl", flipParams{})

	kConvFlip = &kernelSpec{name: "conv flip", module: flipModule, entry: "main", bindings: "urw"}
	// conv.wgsl's finish adds the split-K slices whatever the tile shape.
	kConvFwdSum = &kernelSpec{name: "conv forward finish", module: convModule, entry: "finish", bindings: "u--rww"}
	kConvBwdSum = &kernelSpec{name: "conv backward finish", module: convModule, entry: "finish", bindings: "u--rww", constants: "BACKWARD=1"}
)

// convKernels are conv.wgsl's pipelines for one tile shape and tile depth BK
// (and the finish pipelines, which all shapes share).
type convKernels struct {
	bk                       int
	tile                     convTile
	fwd, bwd, fwdSum, bwdSum *kernelSpec
}

func newConvKernels(bk int, tile convTile) *convKernels {
	k := func(name, entry, bindings, consts string) *kernelSpec {
		return &kernelSpec{name: fmt.Sprintf("%s %dx%d bk%d", name, tile.tm, tile.tn, bk), module: convModule,
			entry: entry, bindings: bindings, constants: fmt.Sprintf("BK=%d,TM=%d,TN=%d%s", bk, tile.tm, tile.tn, consts)}
	}
	return &convKernels{
		bk:     bk,
		tile:   tile,
		fwd:    k("conv forward", "main", "urrrww", ""),
		bwd:    k("conv backward", "main", "urrrww", ",BACKWARD=1"),
		fwdSum: kConvFwdSum,
		bwdSum: kConvBwdSum,
	}
}

// convKernelsOf are conv.wgsl's pipelines for every tile shape, at BK = 32.
var convKernelsOf = func() map[convTile]*convKernels {
	m := map[convTile]*convKernels{}
	for _, t := range convTiles {
		m[t] = newConvKernels(32, t)
	}
	return m
}()

func (g *Backend) Conv3x3(dst, x, w, b kernels.Tensor, s kernels.ConvShape) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conv(false, s.Cout, s.Cin, s, g.gt(x), g.gt(w), g.gt(b), g.gt(dst))
}

func (g *Backend) Conv3x3Backward(dx, dy, y, w kernels.Tensor, s kernels.ConvShape) {
	g.mu.Lock()
	defer g.mu.Unlock()
	wf := g.flippedWeights(g.gt(w), s)
	if wf == nil {
		return
	}
	// The ReLU mask is applied once, by an elementwise pass into a scratch
	// buffer, rather than while the conv gathers B (which reads each element
	// of dy nine times, and y beside it). make bench at 128² on SwiftShader:
	// the profiled input-gradient convs went from 10.1 s to 8.8 s per
	// iteration; the whole-iteration median moved within its noise.
	n := s.Cout * s.H * s.W
	masked := g.scratchOf(scratchMask, n) // [Cout, H, W]
	if masked == nil {
		return
	}
	g.elementwise(opReluMask, masked, g.gt(dy), g.gt(y), n, 1, 0)
	g.conv(true, s.Cin, s.Cout, s, masked, wf, g.gt(y), g.gt(dx))
}

// conv records conv.wgsl's implicit GEMM out[m, H·W] = A[m, c·9]·B with B
// gathered from in: [c, H, W] (see the shader), in the tile shape that wastes
// least on padding for m × H·W (tiles.go). It splits K when out has fewer
// tiles (in units of 64×64) than the adapter runs workgroups at once
// (g.parallel: on CPU implementations, which run a workgroup per core,
// that is almost never). aux is the bias [m] forward (unused backward).
func (g *Backend) conv(backward bool, m, c int, s kernels.ConvShape, in, a, aux, out *tensor) {
	n, k := s.H*s.W, c*9
	ck := convKernelsOf[g.convTileFor(m, n)]
	tm, tn := ck.tile.tm, ck.tile.tn
	main, sum := ck.fwd, ck.fwdSum
	if backward {
		main, sum = ck.bwd, ck.bwdSum
	}
	tilesN, tilesM := (n+tn-1)/tn, (m+tm-1)/tm
	slices := splitK((tilesN*tn*tilesM*tm+4095)/4096, k, 512, g.parallel)
	if g.convS > 0 {
		slices = g.convS
	}
	kc := (k + slices - 1) / slices
	kc = (kc + ck.bk - 1) / ck.bk * ck.bk
	slices = (k + kc - 1) / kc
	part := g.dummy // [slices, m, n] when split
	if slices > 1 {
		if part = g.scratchOf(scratchSplitK, slices*m*n); part == nil {
			return
		}
	}
	p := convParams{M: uint32(m), N: uint32(n), K: uint32(k), H: uint32(s.H), W: uint32(s.W),
		kc: uint32(kc), S: uint32(slices), tilesN: uint32(tilesN), tiles: uint32(tilesN * tilesM)}
	gx, gy := fold(tilesN * tilesM)
	g.dispatch(main, p, gx, gy, slices, in, a, aux, out, part)
	if slices > 1 {
		g.dispatch(sum, p, groups1D(m*n), 1, 1, aux, out, part)
	}
}

// splitK is the number of K slices for a product of tiles 64×64 tiles and
// depth k on an adapter that runs parallel workgroups at once: 1 when the
// tiles already fill it or k < minK, else enough slices of at least 256 to
// fill it.
func splitK(tiles, k, minK, parallel int) int {
	if tiles >= parallel || k < minK {
		return 1
	}
	return max(1, min((parallel+tiles-1)/tiles, k/256, maxGroups))
}

// flippedWeights returns w' = the [Cin, Cout·9] weights of the input-gradient
// convolution, computed on the device once per version of w.
func (g *Backend) flippedWeights(w *tensor, s kernels.ConvShape) *tensor {
	d := g.flipped[w]
	if d != nil && d.version == w.version && d.t.n == w.n {
		return d.t
	}
	if d == nil || d.t.n != w.n {
		if d != nil {
			g.release(d.t)
		}
		t, err := g.newTensor(w.n, "crema flipped weights")
		if err != nil {
			g.keep(err)
			delete(g.flipped, w)
			return nil
		}
		d = &derived{t: t}
		g.flipped[w] = d
	}
	g.dispatch(kConvFlip, flipParams{Cin: uint32(s.Cin), Cout: uint32(s.Cout), n: uint32(w.n)}, groups1D(w.n), 1, 1, w, d.t)
	d.version = w.version
	return d.t
}
