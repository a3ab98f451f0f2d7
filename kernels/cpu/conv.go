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
// one convolution, or of the output pixels [off, off+cols) of one (a share
// of kernels/pool's split by pixels): column n of the product is pixel
// off+n, in row-major order.
type convOperand struct {
	src       []float32 // [cin, h, w]
	cin       int
	h, w      int
	off, cols int       // the output pixels [off, off+cols): 0 and h·w for all
	dst       []float32 // [M, cols]
	bias      []float32 // [M], or nil for none
	relu      bool
	pack      PackConvFunc // the micro-kernel's packing of B, or nil: packB's own
}

// PackConvFunc writes rows k0 … k0+kc-1 and columns pix0 … pix0+nc-1 of
// the im2col matrix of src [cin, h, w] into dst as nr-column panels,
// zeroing the last panel's columns past nc: what convOperand.packB does
// (and is the reference for), done outside Go by a block kernel's module
// (package wasmsimd's pack_conv, 1.3–2.9× faster than Go's under WebAssembly:
// BenchmarkPackConv).
type PackConvFunc func(dst, src []float32, h, w, pix0, nc, k0, kc, nr int)

func (op *convOperand) cmat() []float32 { return op.dst }

func (op *convOperand) begin(m0, m1, n0, n1 int) {
	n := op.cols
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
	n := op.cols
	for m := m0; m < m1; m++ {
		row := op.dst[m*n+n0 : m*n+n1]
		for j, v := range row {
			// max(v, 0), as the naive backend's math.Max: NaN stays, -0
			// becomes +0. Not Go's max: for floats it is a call to the
			// runtime (runtime.fmax32) on WebAssembly, 3 % of a helper
			// worker's time in a profile of the page.
			if v <= 0 {
				row[j] = 0
			}
		}
	}
}

// packB writes col[k0:k0+kc, n0:n0+nc] into nr-column panels. It walks
// one row of col at a time (one channel and tap (ky, kx)); the block's
// pixels, taken one image row at a time, are a shifted copy of an image
// row (zero where the tap falls outside the image, or the row is padding),
// scattered into the panels in runs of up to nr floats. Image-row
// bookkeeping is thus per image row and k, not per panel and k: 1.7–2.4×
// faster than packing panel by panel (natively and under WebAssembly, for
// images wider than nr), which matters now that the SIMD products take
// about as long as the packing of their operand (BenchmarkPackConv).
func (op *convOperand) packB(dst []float32, k0, kc, n0, nc, nr int) {
	if op.pack != nil {
		op.pack(dst, op.src, op.h, op.w, op.off+n0, nc, k0, kc, nr)
		return
	}
	H, W := op.h, op.w
	if rem := nc % nr; rem != 0 { // the last panel's columns past nc
		p := nc / nr
		last := dst[p*nr*kc : (p+1)*nr*kc]
		for kk := 0; kk < kc; kk++ {
			clear(last[kk*nr+rem : (kk+1)*nr])
		}
	}
	ci, t := k0/9, k0%9
	ky, kx := t/3, t%3
	for kk := 0; kk < kc; kk++ {
		d := dst[kk*nr:] // column q of this k row at d[(q/nr)·nr·kc + q%nr]
		for q := 0; q < nc; {
			pix := op.off + n0 + q
			y, x := pix/W, pix%W
			l := min(nc-q, W-x) // the block's pixels in image row y
			iy := y + ky - 1
			if iy < 0 || iy >= H {
				scatterZero(d, q, l, nr, kc)
				q += l
				continue
			}
			row := op.src[(ci*H+iy)*W : (ci*H+iy+1)*W]
			xs := x + kx - 1 // source column of pixel x
			lo, hi := 0, l
			if xs < 0 { // left of the image
				d[(q/nr)*nr*kc+q%nr] = 0
				lo = 1
			}
			if xs+l > W { // right of the image
				e := q + l - 1
				d[(e/nr)*nr*kc+e%nr] = 0
				hi = l - 1
			}
			scatter(d, q+lo, row[xs+lo:xs+hi], nr, kc)
			q += l
		}
		if kx++; kx == 3 {
			kx = 0
			if ky++; ky == 3 {
				ky = 0
				ci++
			}
		}
	}
}

// scatter writes s to columns q, q+1, … of one k row of a packed B block
// (column j at d[(j/nr)·nr·kc + j%nr]).
func scatter(d []float32, q int, s []float32, nr, kc int) {
	p, j := q/nr, q%nr
	for len(s) > 0 {
		t := min(len(s), nr-j)
		o := p*nr*kc + j
		copy(d[o:o+t], s[:t])
		s = s[t:]
		p, j = p+1, 0
	}
}

// scatterZero is scatter of l zeros.
func scatterZero(d []float32, q, l, nr, kc int) {
	p, j := q/nr, q%nr
	for l > 0 {
		t := min(l, nr-j)
		o := p*nr*kc + j
		clear(d[o : o+t])
		l -= t
		p, j = p+1, 0
	}
}

// Conv3x3 is the GEMM convolution with bias and ReLU fused into the epilogue.
func (c *Backend) Conv3x3(dst, x, w, b kernels.Tensor, s kernels.ConvShape) {
	c.Conv3x3Pixels(dst, x, w, b, s, 0, s.H*s.W)
}

// Conv3x3Pixels is Conv3x3 for the output pixels [p0, p1) only (row-major
// pixel indices): dst [Cout, p1-p0] gets columns p0 … p1-1 of Conv3x3's
// [Cout, H·W] output, from the whole x [Cin, H, W]. kernels/pool splits a
// convolution with small weights by pixels with it, so that no two shares
// pack the same part of the im2col operand.
func (c *Backend) Conv3x3Pixels(dst, x, w, b kernels.Tensor, s kernels.ConvShape, p0, p1 int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.kernelFor(s.Cout, p1-p0)
	c.packARows(k.mr, naive.Data(w), s.Cout, s.Cin*9, false, 1)
	c.forward(k, c.packedA, naive.Data(dst), naive.Data(x), naive.Data(b), s, p0, p1)
}

// forward runs the forward convolution of output pixels [p0, p1) with
// kernel k over the weights packed in pa: dst [Cout, p1-p0] from x
// [Cin, H, W] and the biases b [Cout]; c.mu is held.
func (c *Backend) forward(k *microKernel, pa, dst, x, b []float32, s kernels.ConvShape, p0, p1 int) {
	op := &convOperand{src: x, cin: s.Cin, h: s.H, w: s.W, off: p0, cols: p1 - p0, dst: dst, bias: b, relu: true, pack: k.pack}
	c.gemm(k, pa, op, s.Cout, p1-p0, s.Cin*9)
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
		MaskReLU(g[lo:hi], gs[lo:hi], ys[lo:hi])
	})
	c.inputGrad(naive.Data(dx), g, naive.Data(w), s)
}

// Conv3x3InputGrad is Conv3x3Backward without the ReLU mask: it sets dx to
// conv3x3ᵀ(g, w) for a g that is already dy ⊙ [y > 0]. dx: [Cin, H, W];
// g: [Cout, H, W]; w: [Cout, Cin, 3, 3]. The helper workers of kernels/pool
// use it: they receive the masked gradient once, not dy and y.
func (c *Backend) Conv3x3InputGrad(dx, g, w kernels.Tensor, s kernels.ConvShape) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inputGrad(naive.Data(dx), naive.Data(g), naive.Data(w), s)
}

// inputGrad convolves g with the transposed, rotated weights into dx; c.mu
// is held.
func (c *Backend) inputGrad(dx, g, w []float32, s kernels.ConvShape) {
	c.inputGradPixels(dx, g, w, s, 0, s.H*s.W)
}

// Conv3x3InputGradPixels is Conv3x3InputGrad for the pixels [p0, p1) of dx
// only: dx [Cin, p1-p0] gets those columns of the [Cin, H·W] input
// gradient, from the whole masked gradient g [Cout, H, W].
func (c *Backend) Conv3x3InputGradPixels(dx, g, w kernels.Tensor, s kernels.ConvShape, p0, p1 int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inputGradPixels(naive.Data(dx), naive.Data(g), naive.Data(w), s, p0, p1)
}

// inputGradPixels is inputGrad for dx's pixels [p0, p1); c.mu is held.
func (c *Backend) inputGradPixels(dx, g, w []float32, s kernels.ConvShape, p0, p1 int) {
	k := c.kernelFor(s.Cin, p1-p0)
	c.packAConvT(k.mr, w, s.Cin, s.Cout)
	c.backward(k, c.packedA, dx, g, s, p0, p1)
}

// backward runs the input gradient of dx's pixels [p0, p1) with kernel k
// over the transposed, rotated weights packed in pa: dx [Cin, p1-p0] from
// the masked gradient g [Cout, H, W]; c.mu is held.
func (c *Backend) backward(k *microKernel, pa, dx, g []float32, s kernels.ConvShape, p0, p1 int) {
	op := &convOperand{src: g, cin: s.Cout, h: s.H, w: s.W, off: p0, cols: p1 - p0, dst: dx, pack: k.pack}
	c.gemm(k, pa, op, s.Cin, p1-p0, s.Cout*9)
}
