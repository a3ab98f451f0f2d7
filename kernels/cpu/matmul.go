package cpu

import (
	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// matOperand is the B operand and epilogue of MatMul.
type matOperand struct {
	b      []float32 // [k, n], or [n, k] when transB
	n, k   int
	transB bool
	c      []float32 // [m, n]
	beta   float32
}

func (op *matOperand) cmat() []float32 { return op.c }

func (op *matOperand) begin(m0, m1, n0, n1 int) {
	if op.beta == 1 {
		return
	}
	for m := m0; m < m1; m++ {
		row := op.c[m*op.n+n0 : m*op.n+n1]
		if op.beta == 0 {
			clear(row) // old contents ignored, NaN included
			continue
		}
		for j := range row {
			row[j] *= op.beta
		}
	}
}

func (op *matOperand) end(m0, m1, n0, n1 int) {}

func (op *matOperand) packB(dst []float32, k0, kc, n0, nc, nr int) {
	for p := 0; p*nr < nc; p++ {
		pd := dst[p*nr*kc : (p+1)*nr*kc]
		c0 := n0 + p*nr
		cn := min(nr, nc-p*nr)
		if cn < nr {
			clear(pd)
		}
		if op.transB {
			for j := 0; j < cn; j++ {
				row := op.b[(c0+j)*op.k+k0 : (c0+j)*op.k+k0+kc]
				for kk, v := range row {
					pd[kk*nr+j] = v
				}
			}
			continue
		}
		for kk := 0; kk < kc; kk++ {
			src := op.b[(k0+kk)*op.n+c0 : (k0+kk)*op.n+c0+cn]
			copy(pd[kk*nr:kk*nr+cn], src)
		}
	}
}

// MatMul packs alpha·op(a) and runs the blocked GEMM; beta is applied by the
// epilogue.
func (c *Backend) MatMul(dst, a, b kernels.Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mk := c.kernelFor(m, n)
	c.packARows(mk.mr, naive.Data(a), m, k, transA, alpha)
	op := &matOperand{b: naive.Data(b), n: n, k: k, transB: transB, c: naive.Data(dst), beta: beta}
	c.gemm(mk, c.packedA, op, m, n, k)
}
