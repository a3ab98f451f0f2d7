package cpu

import (
	"cmp"
	"slices"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// rowJobs is how many rows one job of a row op takes: about elemChunk
// elements.
func rowJobs(rows, cols int) (jobs, per int) {
	per = max(1, elemChunk/max(1, cols))
	return (rows + per - 1) / per, per
}

func (c *Backend) RowSum(dst, a kernels.Tensor, rows, cols int, alpha float32) {
	d, as := naive.Data(dst), naive.Data(a)
	jobs, per := rowJobs(rows, cols)
	c.parallel(jobs, func(_, j int) {
		for r := j * per; r < min(rows, (j+1)*per); r++ {
			d[r] = float32(float64(alpha) * sum64(as[r*cols:(r+1)*cols]))
		}
	})
}

func (c *Backend) AddRows(dst, v kernels.Tensor, rows, cols int, alpha float32) {
	d, vs := naive.Data(dst), naive.Data(v)
	jobs, per := rowJobs(rows, cols)
	c.parallel(jobs, func(_, j int) {
		for r := j * per; r < min(rows, (j+1)*per); r++ {
			add := alpha * vs[r]
			row := d[r*cols : (r+1)*cols]
			for i := range row {
				row[i] += add
			}
		}
	})
}

func (c *Backend) MulRows(dst, v kernels.Tensor, rows, cols int) {
	d, vs := naive.Data(dst), naive.Data(v)
	jobs, per := rowJobs(rows, cols)
	c.parallel(jobs, func(_, j int) {
		for r := j * per; r < min(rows, (j+1)*per); r++ {
			f := vs[r]
			row := d[r*cols : (r+1)*cols]
			for i := range row {
				row[i] *= f
			}
		}
	})
}

// sortPair is one element of a row being sorted, with its source column.
type sortPair struct {
	v   float32
	col int32
}

// SortRows sorts (value, column) pairs by value then column, which is the
// stable order the naive backend's sort.SliceStable gives. One row per job; the pair
// buffer is allocated once per call and worker.
func (c *Backend) SortRows(dst, idx, src kernels.Tensor, rows, cols int) {
	d, ix, s := naive.Data(dst), naive.Data(idx), naive.Data(src)
	bufs := make([][]sortPair, c.workers)
	c.parallel(rows, func(w, r int) {
		if bufs[w] == nil {
			bufs[w] = make([]sortPair, cols)
		}
		ps := bufs[w]
		for j, v := range s[r*cols : (r+1)*cols] {
			ps[j] = sortPair{v, int32(j)}
		}
		slices.SortFunc(ps, func(a, b sortPair) int {
			if a.v < b.v {
				return -1
			}
			if b.v < a.v {
				return 1
			}
			return cmp.Compare(a.col, b.col)
		})
		dr, ir := d[r*cols:(r+1)*cols], ix[r*cols:(r+1)*cols]
		for j, p := range ps {
			dr[j], ir[j] = p.v, float32(p.col)
		}
	})
}

func (c *Backend) ScatterRows(dst, idx, src kernels.Tensor, rows, cols int) {
	d, ix, s := naive.Data(dst), naive.Data(idx), naive.Data(src)
	jobs, per := rowJobs(rows, cols)
	c.parallel(jobs, func(_, j int) {
		for r := j * per; r < min(rows, (j+1)*per); r++ {
			dr := d[r*cols : (r+1)*cols]
			for c, v := range s[r*cols : (r+1)*cols] {
				dr[int(ix[r*cols+c])] = v
			}
		}
	})
}
