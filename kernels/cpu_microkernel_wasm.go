//go:build wasm

package kernels

// Under WebAssembly the micro-kernel is a scalar 2×4 tile with the k loop
// unrolled four times. Go's wasm backend gives the register allocator 16
// float32 "registers" (wasm locals) and sends every backward branch through
// the function's br_table dispatch loop, so what matters is few loop
// iterations and no bounds checks inside them: each step of four reads A and
// B through fixed-size array pointers (no checks) and runs 32 multiply-adds
// on 8 accumulators, which stay in locals. Measured with node (V8), single
// thread: 2.0–3.7 GFLOP/s for the 2×3 kernel → 3.4–6.0 GFLOP/s (BENCHMARKS.md).
var (
	gemmMR          = 2
	gemmNR          = 4
	microKernel     = microKernelWasm2x4
	microKernelName = "scalar 2×4, k unrolled ×4 (wasm)"
)

// microKernelWasm2x4: c[r·ldc+j] += alpha·Σ_k a[k·2+r]·b[k·4+j].
func microKernelWasm2x4(kc int, a, b, c []float32, ldc int, alpha float32) {
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
	r[0] += alpha * c00
	r[1] += alpha * c01
	r[2] += alpha * c02
	r[3] += alpha * c03
	r = c[ldc : ldc+4 : ldc+4]
	r[0] += alpha * c10
	r[1] += alpha * c11
	r[2] += alpha * c12
	r[3] += alpha * c13
}
