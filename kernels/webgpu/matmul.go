package webgpu

import "github.com/crema-app/crema/kernels"

// matmulParams is the uniform of matmul.wgsl.
type matmulParams struct {
	m, n, k        uint32 // dst [m, n] = op(a) [m, k] · op(b) [k, n]
	transA, transB bool
	kc             uint32 // columns of k per split-K slice
	S              uint32 // split-K slices
	alpha, beta    float32
	tilesN         uint32 // 64-wide tiles along n
	tiles          uint32 // tilesN · tiles along m
}

var (
	matmulModule = newModule("matmul.wgsl", matmulParams{})

	kMatMul    = &kernelSpec{name: "matmul", module: matmulModule, entry: "main", bindings: "urrww"}
	kMatMulSum = &kernelSpec{name: "matmul finish", module: matmulModule, entry: "finish", bindings: "u--ww"}
)

func (g *Backend) MatMul(dst, a, b kernels.Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m == 0 || n == 0 {
		return
	}
	// Split k when dst has fewer 64×64 tiles than the adapter runs
	// workgroups at once (Gram matrices of large images).
	tilesN, tilesM := (n+63)/64, (m+63)/64
	slices := splitK(tilesN*tilesM, k, 1024, g.parallel)
	if g.convS > 0 {
		slices = g.convS
	}
	kc := (k + slices - 1) / slices
	kc = max((kc+15)&^15, 16)
	slices = max((k+kc-1)/kc, 1)
	p := matmulParams{m: uint32(m), n: uint32(n), k: uint32(k), transA: transA, transB: transB,
		kc: uint32(kc), S: uint32(slices), alpha: alpha, beta: beta, tilesN: uint32(tilesN), tiles: uint32(tilesN * tilesM)}
	d := g.gt(dst)
	part := g.dummy // [slices, m, n] when split
	if slices > 1 {
		if part = g.scratchOf(scratchSplitK, slices*m*n); part == nil {
			return
		}
	}
	gx, gy := fold(tilesN * tilesM)
	g.dispatch(kMatMul, p, gx, gy, slices, g.gt(a), g.gt(b), d, part)
	if slices > 1 {
		g.dispatch(kMatMulSum, p, groups1D(m*n), 1, 1, d, part)
	}
}
