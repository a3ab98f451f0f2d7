package naive

// Operations on the rows of a [rows, cols] matrix.

import (
	"sort"

	"github.com/crema-app/crema/kernels"
)

func (Backend) RowSum(dst, a kernels.Tensor, rows, cols int, alpha float32) {
	d, as := host(dst), host(a)
	for r := 0; r < rows; r++ {
		var acc float64
		for c := 0; c < cols; c++ {
			acc += float64(as[r*cols+c])
		}
		d[r] = float32(float64(alpha) * acc)
	}
}

func (Backend) AddRows(dst, v kernels.Tensor, rows, cols int, alpha float32) {
	d, vs := host(dst), host(v)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			d[r*cols+c] += alpha * vs[r]
		}
	}
}

func (Backend) MulRows(dst, v kernels.Tensor, rows, cols int) {
	d, vs := host(dst), host(v)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			d[r*cols+c] *= vs[r]
		}
	}
}

func (Backend) SortRows(dst, idx, src kernels.Tensor, rows, cols int) {
	d, ix, s := host(dst), host(idx), host(src)
	perm := make([]int, cols)
	row := make([]float32, cols)
	for r := 0; r < rows; r++ {
		copy(row, s[r*cols:(r+1)*cols])
		for c := range perm {
			perm[c] = c
		}
		sort.SliceStable(perm, func(i, j int) bool { return row[perm[i]] < row[perm[j]] })
		for c, p := range perm {
			d[r*cols+c] = row[p]
			ix[r*cols+c] = float32(p)
		}
	}
}

func (Backend) ScatterRows(dst, idx, src kernels.Tensor, rows, cols int) {
	d, ix, s := host(dst), host(idx), host(src)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			d[r*cols+int(ix[r*cols+c])] = s[r*cols+c]
		}
	}
}

func (Backend) ResampleRows(dst, src kernels.Tensor, rows, scols, dcols int) {
	d, s := host(dst), host(src)
	for r := 0; r < rows; r++ {
		for j := 0; j < dcols; j++ {
			k := int((float64(j) + 0.5) * float64(scols) / float64(dcols))
			if k >= scols {
				k = scols - 1
			}
			d[r*dcols+j] = s[r*scols+k]
		}
	}
}
