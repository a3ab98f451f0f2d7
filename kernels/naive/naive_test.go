package naive_test

import (
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// TestGradients: the oracle's backward operations against finite
// differences of its own forward operations.
func TestGradients(t *testing.T) {
	kerneltest.RunGradients(t, kernels.Checked(naive.Backend{}))
}

// TestKnownValues checks the oracle's forward operations on inputs small
// enough to work out by hand.
func TestKnownValues(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	up := func(v ...float32) kernels.Tensor { return kerneltest.Upload(t, b, v) }
	check := func(name string, x kernels.Tensor, want ...float32) {
		t.Helper()
		if err := kerneltest.Compare(kerneltest.Download(t, b, x), want, 0); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A 2×2 image, one channel, all-ones 3×3 kernel: every output is the sum
	// of the whole image (each pixel sees all four) plus the bias; a second
	// output channel with a negative kernel is clipped by the ReLU.
	y := up(0, 0, 0, 0, 0, 0, 0, 0)
	w := up(1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1)
	b.Conv3x3(y, up(1, 2, 3, 4), w, up(0.5, 0), kernels.ConvShape{Cin: 1, Cout: 2, H: 2, W: 2})
	check("Conv3x3", y, 10.5, 10.5, 10.5, 10.5, 0, 0, 0, 0)

	// [[1 2] [3 4]] · [[5 6] [7 8]] = [[19 22] [43 50]]; with transB the
	// second operand is read as [[5 7] [6 8]].
	d := up(0, 0, 0, 0)
	b.MatMul(d, up(1, 2, 3, 4), up(5, 6, 7, 8), 2, 2, 2, false, false, 1, 0)
	check("MatMul", d, 19, 22, 43, 50)
	b.MatMul(d, up(1, 2, 3, 4), up(5, 6, 7, 8), 2, 2, 2, false, true, 2, 1)
	check("MatMul/transB/alpha2/beta1", d, 19+2*17, 22+2*23, 43+2*39, 50+2*53)

	// A 3×3 image pools to its top-left window; the odd row and column drop.
	p := up(0)
	x := up(1, 5, 9, 3, 2, 9, 9, 9, 9)
	b.Pool2x2(p, x, kernels.PoolShape{C: 1, H: 3, W: 3}, kernels.MaxPool)
	check("Pool2x2/max", p, 5)
	b.Pool2x2(p, x, kernels.PoolShape{C: 1, H: 3, W: 3}, kernels.AvgPool)
	check("Pool2x2/avg", p, 2.75)

	// Stable sort: the two 1s keep their order (columns 1 then 3).
	s, idx := up(0, 0, 0, 0), up(0, 0, 0, 0)
	b.SortRows(s, idx, up(3, 1, 2, 1), 1, 4)
	check("SortRows", s, 1, 1, 2, 3)
	check("SortRows idx", idx, 1, 3, 2, 0)

	// Nearest quantile: 4 columns into 2 take columns 1 and 3.
	r := up(0, 0)
	b.ResampleRows(r, up(10, 11, 12, 13), 1, 4, 2)
	check("ResampleRows", r, 11, 13)

	// TV of [[0 1] [2 4]]: (1-0)² + (4-2)² across, (2-0)² + (4-1)² down.
	loss, dx := up(0), up(0, 0, 0, 0)
	b.TV(loss, 0, dx, up(0, 1, 2, 4), 1, 2, 2, 1)
	check("TV", loss, 1+4+4+9)
}
