package cpu

// The CPU backend's matrix engine: C[M, N] += A[M, K]·B[K, N] in the style
// of Goto & van de Geijn. A is packed once per call into panels of mr rows
// (element (r, k) of panel i at i·mr·K + k·mr + r), with the product's alpha
// folded in; B is packed per job and per K block of gemmKC into panels of nr
// columns (element (k, j) of panel p at p·nr·kc + k·nr + j) by a
// gemmOperand, which is how a convolution feeds its im2col tiles straight
// from the image without ever materialising the [Cin·9, H·W] column matrix.
// A register-tiled micro-kernel multiplies one A panel by one B panel into
// an mr×nr tile of C; mr and nr are the kernel's, chosen per product among
// the measured kernels (kernel.go).
//
// Why our own engine and not gonum's blas32 (gonum.org/v1/gonum/blas/blas32
// v0.17.0, measured by BenchmarkGemmGonum, figures in BENCHMARKS.md): with
// GOEXPERIMENT=simd the AVX-512 micro-kernel here is 4-8× faster than
// gonum's Sgemm. In the default build gonum's SSE-assembly axpy beats the
// scalar kernel on a plain GEMM, but as a convolution this engine still
// wins (13.8 vs 8.3 GFLOP/s on conv3_2 with the earlier 2×3 kernel), because it packs im2col tiles
// straight from the image where gonum would need the whole [Cin·9, H·W]
// column matrix built first; and gonum's assembly does not exist under
// WebAssembly, where both are scalar Go.

const (
	// gemmKC is the depth of one K block: an MR×KC slice of A and a KC×NR
	// slice of B stay in L1 while the micro-kernel runs over them.
	gemmKC = 256
	// gemmNC is about the number of columns of one job's B block (rounded
	// down to a multiple of NR): KC×NC floats, ~192 KiB, stay in L2.
	gemmNC = 192
)

// gemmOperand supplies the B operand and the epilogue of one product.
type gemmOperand interface {
	// packB writes B[k0:k0+kc, n0:n0+nc] into dst (len ≥ ceil(nc/nr)·nr·kc)
	// as nr-column panels, zero-filling columns past nc.
	packB(dst []float32, k0, kc, n0, nc, nr int)
	// begin prepares C[m0:m1, n0:n1] before any product is added to it.
	begin(m0, m1, n0, n1 int)
	// end finishes C[m0:m1, n0:n1] after the whole K range was added.
	end(m0, m1, n0, n1 int)
	// cmat is C: [M, N], row-major.
	cmat() []float32
}

// packPanels packs an A operand [M, K] into c.packedA as mr-row panels,
// k-major within a panel (element (i, k) of panel p at k·mr + r, i = p·mr + r),
// zero-padding the last panel's missing rows. fill(dst, i, r) writes row i of
// A into dst[k·mr + r] for every k. It runs on the workers.
func (c *Backend) packPanels(mr, M, K int, fill func(dst []float32, i, r int)) {
	panels := (M + mr - 1) / mr
	c.packedA = grow(c.packedA, panels*mr*K)
	pa := c.packedA
	c.parallel(panels, func(_, p int) {
		dst := pa[p*mr*K : (p+1)*mr*K]
		for r := 0; r < mr; r++ {
			i := p*mr + r
			if i >= M {
				for k := 0; k < K; k++ {
					dst[k*mr+r] = 0
				}
				continue
			}
			fill(dst, i, r)
		}
	})
}

// packARows packs alpha·A, A given row-major as [M, K] (lda = K) or, when
// trans, as [K, M].
func (c *Backend) packARows(mr int, a []float32, M, K int, trans bool, alpha float32) {
	c.packPanels(mr, M, K, func(dst []float32, row, r int) {
		if trans {
			for k := 0; k < K; k++ {
				dst[k*mr+r] = alpha * a[k*M+row]
			}
			return
		}
		if alpha == 1 {
			for k, v := range a[row*K : (row+1)*K] {
				dst[k*mr+r] = v
			}
			return
		}
		for k, v := range a[row*K : (row+1)*K] {
			dst[k*mr+r] = alpha * v
		}
	})
}

// packAConvT packs, as the A operand [Cin, Cout·9] of the input-gradient
// convolution, the weights w: [Cout, Cin, 3, 3] transposed in/out and rotated
// by 180°: A[i, (o·3+ky)·3+kx] = w[o, i, 2-ky, 2-kx].
func (c *Backend) packAConvT(mr int, w []float32, cin, cout int) {
	c.packPanels(mr, cin, cout*9, func(dst []float32, i, r int) {
		for o := 0; o < cout; o++ {
			src := w[(o*cin+i)*9 : (o*cin+i)*9+9]
			for t := 0; t < 9; t++ {
				dst[(o*9+t)*mr+r] = src[8-t]
			}
		}
	})
}

// kernelFor is the micro-kernel of an [M, N] product (kernel.go: choose).
func (c *Backend) kernelFor(M, N int) *microKernel { return choose(c.kernels, M, N) }

// gemm runs C += A·B with kernel k over the packed A in pa (packed for
// k.mr: c.packedA, or a Weights' kept panels), with B and the epilogue
// from op. Jobs are tiles of NC columns; when there are fewer column tiles
// than workers, the rows are split too.
// Each job hands the micro-kernel one packed block per K step.
func (c *Backend) gemm(k *microKernel, pa []float32, op gemmOperand, M, N, K int) {
	mr, nr := k.mr, k.nr
	nc := max(1, gemmNC/nr) * nr
	nTiles := (N + nc - 1) / nc
	mPanels := (M + mr - 1) / mr
	mChunks := 1
	if nTiles < c.workers {
		mChunks = min(mPanels, (c.workers+nTiles-1)/nTiles)
	}
	kc0 := min(gemmKC, K)
	if len(c.packedB) < c.workers {
		c.packedB = make([][]float32, c.workers)
	}
	for w := range c.packedB {
		c.packedB[w] = grow(c.packedB[w], kc0*nc+mr*nr)
	}
	c.parallel(nTiles*mChunks, func(worker, job int) {
		buf := c.packedB[worker]
		pb := buf[:kc0*nc]
		tile := buf[kc0*nc : kc0*nc+mr*nr] // [mr, nr]: edge tiles
		t, mc := job/mChunks, job%mChunks
		n0 := t * nc
		n1 := min(N, n0+nc)
		p0 := mc * mPanels / mChunks
		p1 := (mc + 1) * mPanels / mChunks
		m0, m1 := p0*mr, min(M, p1*mr)
		op.begin(m0, m1, n0, n1)
		cdata := op.cmat()
		bPanels := (n1 - n0 + nr - 1) / nr
		colsLast := n1 - n0 - (bPanels-1)*nr
		rowsLast := m1 - (p1-1)*mr
		for k0 := 0; k0 < K && m1 > m0 && n1 > n0; k0 += gemmKC { // (kernels need ≥ 1 panel)
			kc := min(gemmKC, K-k0)
			op.packB(pb, k0, kc, n0, n1-n0, nr)
			k.run(kc, pa[p0*mr*K+k0*mr:], mr*K, p1-p0, rowsLast,
				pb[:bPanels*nr*kc], bPanels, colsLast, cdata[m0*N+n0:], N, tile)
		}
		op.end(m0, m1, n0, n1)
	})
}
