package cpu

import (
	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// Convolutions on the CPU are GEMMs: out[Cout, H·W] = W[Cout, Cin·9] ·
// col[Cin·9, H·W], where col is the im2col matrix of the zero-padded image.
// col is never built whole: convOperand.packB writes the KC×NC block a job
// needs straight from the image into the micro-kernel's panel layout.
//
// The input gradient is the same GEMM: dx = conv3x3(dy ⊙ [y > 0], W') with
// W'[i, o, ky, kx] = W[o, i, 2-ky, 2-kx] (in/out transposed, rotated 180°),
// no bias and no ReLU. W' is repacked on every call rather than cached per
// weight tensor: repacking reads Cout·Cin·9 floats, 1/(2·H·W) of the
// convolution's FLOPs, and a cache could go stale when a tensor is rewritten.

// convOperand is the B operand (im2col of src) and epilogue (bias, ReLU) of
// one convolution.
type convOperand struct {
	src  []float32 // [cin, h, w]
	cin  int
	h, w int
	dst  []float32 // [M, h·w]
	bias []float32 // [M], or nil for none
	relu bool
}

func (op *convOperand) cmat() []float32 { return op.dst }

func (op *convOperand) begin(m0, m1, n0, n1 int) {
	n := op.h * op.w
	for m := m0; m < m1; m++ {
		row := op.dst[m*n+n0 : m*n+n1]
		var v float32
		if op.bias != nil {
			v = op.bias[m]
		}
		for j := range row {
			row[j] = v
		}
	}
}

func (op *convOperand) end(m0, m1, n0, n1 int) {
	if !op.relu {
		return
	}
	n := op.h * op.w
	for m := m0; m < m1; m++ {
		row := op.dst[m*n+n0 : m*n+n1]
		for j, v := range row {
			if !(v > 0) && v == v { // keep NaN, as the naive backend's math.Max does
				row[j] = 0
			}
		}
	}
}

// packB writes col[k0:k0+kc, n0:n0+nc] into NR-column panels. Pixels of a
// panel are walked as runs within one image row, so that each (channel, ky,
// kx) row of col is a shifted copy of an image row with zeros at the borders.
func (op *convOperand) packB(dst []float32, k0, kc, n0, nc int) {
	nr := gemmNR
	H, W := op.h, op.w
	for p := 0; p*nr < nc; p++ {
		pd := dst[p*nr*kc : (p+1)*nr*kc]
		c0 := n0 + p*nr
		cn := min(nr, nc-p*nr)
		if cn < nr {
			clear(pd)
		}
		for j := 0; j < cn; {
			pix := c0 + j
			y, x := pix/W, pix%W
			l := min(cn-j, W-x)
			ci, t := k0/9, k0%9
			ky, kx := t/3, t%3
			for kk := 0; kk < kc; kk++ {
				out := pd[kk*nr+j : kk*nr+j+l]
				if iy := y + ky - 1; iy < 0 || iy >= H {
					clear(out)
				} else {
					row := op.src[(ci*H+iy)*W : (ci*H+iy+1)*W]
					xs := x + kx - 1
					lo, hi := 0, l
					if xs < 0 {
						out[0] = 0
						lo = 1
					}
					if xs+l > W {
						out[l-1] = 0
						hi = l - 1
					}
					if hi-lo >= 16 {
						copy(out[lo:hi], row[xs+lo:xs+hi])
					} else {
						for q := lo; q < hi; q++ {
							out[q] = row[xs+q]
						}
					}
				}
				if kx++; kx == 3 {
					kx = 0
					if ky++; ky == 3 {
						ky = 0
						ci++
					}
				}
			}
			j += l
		}
	}
}

// Conv3x3 is the GEMM convolution with bias and ReLU fused into the epilogue.
func (c *Backend) Conv3x3(dst, x, w, b kernels.Tensor, s kernels.ConvShape) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.packARows(naive.Data(w), s.Cout, s.Cin*9, false)
	op := &convOperand{src: naive.Data(x), cin: s.Cin, h: s.H, w: s.W, dst: naive.Data(dst), bias: naive.Data(b), relu: true}
	c.gemm(op, s.Cout, s.H*s.W, s.Cin*9, 1)
}

// Conv3x3Backward masks dy by [y > 0] into scratch and convolves it with the
// transposed, rotated weights.
func (c *Backend) Conv3x3Backward(dx, dy, y, w kernels.Tensor, s kernels.ConvShape) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := s.Cout * s.H * s.W
	c.masked = grow(c.masked, n)
	g, gs, ys := c.masked, naive.Data(dy), naive.Data(y)
	c.chunks(n, 1<<14, func(_, lo, hi int) {
		gd, gsrc, yv := g[lo:hi], gs[lo:hi], ys[lo:hi]
		for i := range gd {
			if yv[i] > 0 {
				gd[i] = gsrc[i]
			} else {
				gd[i] = 0
			}
		}
	})
	c.packAConvT(naive.Data(w), s.Cin, s.Cout)
	op := &convOperand{src: g, cin: s.Cout, h: s.H, w: s.W, dst: naive.Data(dx)}
	c.gemm(op, s.Cin, s.H*s.W, s.Cout*9, 1)
}
