package webgpu

import "github.com/crema-app/crema/kernels"

// rowsParams is the uniform of rows.wgsl.
type rowsParams struct {
	rows  uint32
	cols  uint32 // cols of a (scols for resample)
	dcols uint32 // cols of dst (resample)
	n     uint32 // elements to write (scatter, resample)
	alpha float32
}

var (
	rowsModule = newModule("rows.wgsl", rowsParams{})

	kRowSum   = &kernelSpec{name: "rowsum", module: rowsModule, entry: "rowsum", bindings: "ur-w"}
	kScatter  = &kernelSpec{name: "scatter", module: rowsModule, entry: "scatter", bindings: "urrw"}
	kResample = &kernelSpec{name: "resample", module: rowsModule, entry: "resample", bindings: "urrw"}
)

func (g *Backend) RowSum(dst, a kernels.Tensor, rows, cols int, alpha float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if rows == 0 {
		return
	}
	gx := min(rows, maxGroups)
	g.dispatch(kRowSum, rowsParams{rows: uint32(rows), cols: uint32(cols), alpha: alpha},
		gx, (rows+gx-1)/gx, 1, g.gt(a), g.gt(dst))
}

func (g *Backend) ScatterRows(dst, idx, src kernels.Tensor, rows, cols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := rows * cols
	g.dispatch(kScatter, rowsParams{rows: uint32(rows), cols: uint32(cols), n: uint32(n)},
		groups1D(n), 1, 1, g.gt(src), g.gt(idx), g.gt(dst))
}

func (g *Backend) ResampleRows(dst, src kernels.Tensor, rows, scols, dcols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := rows * dcols
	if n == 0 {
		return
	}
	tab := g.resampleTable(scols, dcols) // [dcols]
	if tab == nil {
		return
	}
	g.dispatch(kResample, rowsParams{rows: uint32(rows), cols: uint32(scols), dcols: uint32(dcols), n: uint32(n)},
		groups1D(n), 1, 1, g.gt(src), tab, g.gt(dst))
}

// resampleTable is the column map of ResampleRows, computed on the host with
// the reference's float64 formula and kept on the device.
func (g *Backend) resampleTable(scols, dcols int) *tensor {
	key := [2]int{scols, dcols}
	if t := g.tables[key]; t != nil {
		return t
	}
	tab := make([]float32, dcols)
	for j := range tab {
		k := int((float64(j) + 0.5) * float64(scols) / float64(dcols))
		tab[j] = float32(min(k, scols-1))
	}
	t, err := g.newTensor(dcols, "crema resample table")
	if err != nil {
		g.keep(err)
		return nil
	}
	if len(g.tables) >= 64 {
		for k, old := range g.tables {
			g.release(old)
			delete(g.tables, k)
		}
	}
	g.upload(t, tab)
	g.tables[key] = t
	return t
}
