package kernels

// microKernelGeneric2x3 is the portable micro-kernel: c[r·ldc+j] +=
// alpha·Σ_k a[k·2+r]·b[k·3+j] for a 2×3 tile. Go does not vectorise, so
// this is scalar code, and the tile is kept small enough that the Go
// register allocator keeps every accumulator in a register: on amd64 a 4×4
// tile spilled accumulators to the stack (1.6 GFLOP/s on one core) and 2×4
// spilled one (2.7 GFLOP/s), while 2×3 runs at 9.4 GFLOP/s per core.
func microKernelGeneric2x3(kc int, a, b, c []float32, ldc int, alpha float32) {
	var c00, c01, c02, c10, c11, c12 float32
	a = a[:kc*2]
	b = b[:kc*3]
	for k := 0; k < kc; k++ {
		ak := a[2*k : 2*k+2 : 2*k+2]
		bk := b[3*k : 3*k+3 : 3*k+3]
		a0, a1 := ak[0], ak[1]
		c00 += a0 * bk[0]
		c10 += a1 * bk[0]
		c01 += a0 * bk[1]
		c11 += a1 * bk[1]
		c02 += a0 * bk[2]
		c12 += a1 * bk[2]
	}
	r := c[0:3:3]
	r[0] += alpha * c00
	r[1] += alpha * c01
	r[2] += alpha * c02
	r = c[ldc : ldc+3 : ldc+3]
	r[0] += alpha * c10
	r[1] += alpha * c11
	r[2] += alpha * c12
}
