package webgpu

import "github.com/crema-app/crema/kernels"

// matmulParams is the uniform of matmul.wgsl.
type matmulParams struct {
	m, n, k        uint32 // dst [m, n] = op(a) [m, k] · op(b) [k, n]
	transA, transB bool
	kc             uint32 // columns of k per split-K slice
	S              uint32 // split-K slices
	alpha, beta    float32
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
	// Split k when dst has too few 64×64 tiles to keep a GPU busy.
	tiles := ((m + 63) / 64) * ((n + 63) / 64)
	slices := 1
	if tiles < 64 && k >= 1024 {
		slices = min((k+255)/256, (128+tiles-1)/tiles, maxGroups)
	}
	kc := (k + slices - 1) / slices
	kc = max((kc+15)&^15, 16)
	slices = max((k+kc-1)/kc, 1)
	p := matmulParams{m: uint32(m), n: uint32(n), k: uint32(k), transA: transA, transB: transB,
		kc: uint32(kc), S: uint32(slices), alpha: alpha, beta: beta}
	d := g.gt(dst)
	part := g.dummy // [slices, m, n] when split
	if slices > 1 {
		if part = g.scratchOf(scratchSplitK, slices*m*n); part == nil {
			return
		}
	}
	g.dispatch(kMatMul, p, (n+63)/64, (m+63)/64, slices, g.gt(a), g.gt(b), d, part)
	if slices > 1 {
		g.dispatch(kMatMulSum, p, groups1D(m*n), 1, 1, d, part)
	}
}
