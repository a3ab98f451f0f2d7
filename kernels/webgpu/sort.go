package webgpu

import "github.com/crema-app/crema/kernels"

// sortParams is the uniform of sort.wgsl.
type sortParams struct {
	rows, cols uint32
	P          uint32 // padded row length, a power of two
	L          uint32 // elements sorted per workgroup
	k0, k1, j  uint32 // merge steps (see sort.wgsl)
	n          uint32 // rows·P
}

var (
	sortModule = newModule("sort.wgsl", sortParams{})

	kSortInit   = &kernelSpec{name: "sort init", module: sortModule, entry: "sort_init", bindings: "uwwr"}
	kSortLocal  = &kernelSpec{name: "sort local", module: sortModule, entry: "sort_local", bindings: "uww"}
	kSortGlobal = &kernelSpec{name: "sort global", module: sortModule, entry: "sort_global", bindings: "uww"}
	kSortFinal  = &kernelSpec{name: "sort final", module: sortModule, entry: "sort_final", bindings: "uww-ww"}
)

// sortChunk is the number of elements sort_local sorts in workgroup memory.
const sortChunk = 2048

func (g *Backend) SortRows(dst, idx, src kernels.Tensor, rows, cols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if rows == 0 || cols == 0 {
		return
	}
	pw := 1
	for pw < cols {
		pw *= 2
	}
	l := min(pw, sortChunk)
	n := rows * pw
	keys, ids := g.scratchOf(scratchKeys, n), g.scratchOf(scratchIDs, n) // [rows, pw] each
	if keys == nil || ids == nil {
		return
	}
	p := func(k0, k1, j int) sortParams {
		return sortParams{rows: uint32(rows), cols: uint32(cols), P: uint32(pw), L: uint32(l),
			k0: uint32(k0), k1: uint32(k1), j: uint32(j), n: uint32(n)}
	}
	g.dispatch(kSortInit, p(0, 0, 0), groups1D(n), 1, 1, keys, ids, g.gt(src))
	if pw > 1 {
		chunks := min(n/l, maxGroups)
		g.dispatch(kSortLocal, p(2, l, 0), chunks, 1, 1, keys, ids)
		for k := 2 * l; k <= pw; k *= 2 {
			for j := k / 2; j >= l; j /= 2 {
				g.dispatch(kSortGlobal, p(k, k, j), groups1D(n/2), 1, 1, keys, ids)
			}
			g.dispatch(kSortLocal, p(k, k, 0), chunks, 1, 1, keys, ids)
		}
	}
	g.dispatch(kSortFinal, p(0, 0, 0), groups1D(rows*cols), 1, 1, keys, ids, g.gt(dst), g.gt(idx))
}
