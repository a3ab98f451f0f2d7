package cpu

// scalar2x4 is the portable micro-kernel (every build, and the reference the
// measured choice starts from): c[r·ldc+j] += Σ_k a[k·2+r]·b[k·4+j] for a 2×4 tile,
// with the k loop unrolled four times. Go does not vectorise, so this is
// scalar code. Two things make it fast on both targets: few loop iterations
// (Go's wasm backend sends every backward branch through the function's
// br_table dispatch loop) and no bounds checks inside them (A and B are read
// through fixed-size array pointers). Its eight accumulators stay in
// registers on amd64 and in wasm locals under V8. Measured on conv3_2 at
// 256² (idle 2-core Zen 5): 17.9 GFLOP/s against 16.2 for the 2×3 kernel it
// replaced; under node 1.3–1.6× faster (BENCHMARKS.md).
var scalar2x4 = microKernel{name: "scalar 2×4", mr: 2, nr: 4, tile: microKernelScalar2x4}

// microKernelScalar2x4: c[r·ldc+j] += Σ_k a[k·2+r]·b[k·4+j].
func microKernelScalar2x4(kc int, a, b, c []float32, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	a = a[:kc*2]
	b = b[:kc*4]
	for len(a) >= 8 && len(b) >= 16 {
		ap := (*[8]float32)(a)
		bp := (*[16]float32)(b)
		a0, a1 := ap[0], ap[1]
		c00 += a0 * bp[0]
		c10 += a1 * bp[0]
		c01 += a0 * bp[1]
		c11 += a1 * bp[1]
		c02 += a0 * bp[2]
		c12 += a1 * bp[2]
		c03 += a0 * bp[3]
		c13 += a1 * bp[3]
		a0, a1 = ap[2], ap[3]
		c00 += a0 * bp[4]
		c10 += a1 * bp[4]
		c01 += a0 * bp[5]
		c11 += a1 * bp[5]
		c02 += a0 * bp[6]
		c12 += a1 * bp[6]
		c03 += a0 * bp[7]
		c13 += a1 * bp[7]
		a0, a1 = ap[4], ap[5]
		c00 += a0 * bp[8]
		c10 += a1 * bp[8]
		c01 += a0 * bp[9]
		c11 += a1 * bp[9]
		c02 += a0 * bp[10]
		c12 += a1 * bp[10]
		c03 += a0 * bp[11]
		c13 += a1 * bp[11]
		a0, a1 = ap[6], ap[7]
		c00 += a0 * bp[12]
		c10 += a1 * bp[12]
		c01 += a0 * bp[13]
		c11 += a1 * bp[13]
		c02 += a0 * bp[14]
		c12 += a1 * bp[14]
		c03 += a0 * bp[15]
		c13 += a1 * bp[15]
		a = a[8:]
		b = b[16:]
	}
	for len(a) >= 2 && len(b) >= 4 { // kc mod 4 remaining steps
		a0, a1 := a[0], a[1]
		c00 += a0 * b[0]
		c10 += a1 * b[0]
		c01 += a0 * b[1]
		c11 += a1 * b[1]
		c02 += a0 * b[2]
		c12 += a1 * b[2]
		c03 += a0 * b[3]
		c13 += a1 * b[3]
		a = a[2:]
		b = b[4:]
	}
	r := c[0:4:4]
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = c[ldc : ldc+4 : ldc+4]
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
}
