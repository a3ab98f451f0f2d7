//go:build goexperiment.simd && amd64

package cpu

import (
	"simd/archsimd"
	"unsafe"
)

// With GOEXPERIMENT=simd on amd64 the candidates include micro-kernels on
// Go's experimental simd/archsimd package: AVX-512 2×64, 4×32 and 7×16 where
// the CPU has AVX-512, AVX2+FMA 4×16 and 7×8 where it has AVX2, beside the
// portable scalar 2×4. Which one runs is measured (kernel.go).
//
// # Why these tile shapes
//
// The Go 1.26 register allocator gives loop-carried vector values (the
// accumulators, phis) only X0–X14: its fp register mask excludes X15 (the
// ABI's zero register) and X16–X31, which only some EVEX instructions may
// use. archsimd's MulAdd is VFMADD213PS, which overwrites a multiplicand, so
// a broadcast of A used for two B vectors is copied first, and the
// broadcast (BroadcastFloat32x16 of a loaded float) is VMOVSS + VBROADCASTSS.
// A tile fits when accumulators + B vectors + broadcasts in flight + 1 copy
// ≤ 15. The old 8×32 kernel (16 accumulators) did not: objdump -d showed
// every k step spilling and reloading accumulators through a 1 KB stack
// frame. The kernels here were checked with objdump -d (binutils decodes
// EVEX; go tool objdump does not): no stack access inside the k loop;
// 2×64: 8 accumulators + 4 B vectors + 2 broadcasts; 4×32: 8 + 2 + 4 + 1;
// 7×16: 7 + 1 + 7. alpha is folded into the packed A (gemm.go), so no
// register holds it across the loop. The loop walks A and B with
// unsafe.Add after one bounds check at entry: slicing a = a[mr:] per step
// cost ~12 integer instructions per k step.
//
// # VZEROUPPER
//
// Go's scalar float code is legacy-SSE encoded (MOVSS, ADDSS); after
// 256/512-bit code leaves the upper halves of the vector registers dirty,
// every such instruction pays a merge penalty on Intel CPUs (AMD's Zen
// does not). The compiler does not insert VZEROUPPER after archsimd code
// (none in the disassembly of the old kernel), so each kernel ends with
// archsimd.ClearAVXUpperBits(), which compiles to VZEROUPPER.

func candidates() []*microKernel {
	ks := []*microKernel{}
	if archsimd.X86.AVX512() {
		ks = append(ks,
			&microKernel{name: "AVX-512 2×64", mr: 2, nr: 64, tile: avx512x2x64},
			&microKernel{name: "AVX-512 4×32", mr: 4, nr: 32, tile: avx512x4x32},
			&microKernel{name: "AVX-512 7×16", mr: 7, nr: 16, tile: avx512x7x16})
	}
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		ks = append(ks,
			&microKernel{name: "AVX2 4×16", mr: 4, nr: 16, tile: avx2x4x16},
			&microKernel{name: "AVX2 7×8", mr: 7, nr: 8, tile: avx2x7x8})
	}
	s := scalar2x4
	return append(ks, &s)
}

// add16 sets c[0:16] += x.
func add16(c []float32, x archsimd.Float32x16) {
	p := (*[16]float32)(c[:16])
	x.Add(archsimd.LoadFloat32x16(p)).Store(p)
}

// add8 sets c[0:8] += x.
func add8(c []float32, x archsimd.Float32x8) {
	p := (*[8]float32)(c[:8])
	x.Add(archsimd.LoadFloat32x8(p)).Store(p)
}

// avx512x2x64: c[r·ldc+j] += Σ_k a[k·2+r]·b[k·64+j] for r < 2, j < 64.
func avx512x2x64(kc int, a, b, c []float32, ldc int) {
	if kc <= 0 {
		return
	}
	_ = a[kc*2-1] // bounds: the loop reads a[:kc*2], b[:kc*64]
	_ = b[kc*64-1]
	_ = c[1*ldc+63]
	var c00, c01, c02, c03, c10, c11, c12, c13 archsimd.Float32x16
	pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])
	for k := kc; k > 0; k-- {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 0)))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 64)))
		b2 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 128)))
		b3 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 192)))
		av0 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 0)))
		c00 = av0.MulAdd(b0, c00)
		c01 = av0.MulAdd(b1, c01)
		c02 = av0.MulAdd(b2, c02)
		c03 = av0.MulAdd(b3, c03)
		av1 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 4)))
		c10 = av1.MulAdd(b0, c10)
		c11 = av1.MulAdd(b1, c11)
		c12 = av1.MulAdd(b2, c12)
		c13 = av1.MulAdd(b3, c13)
		pa = unsafe.Add(pa, 8)
		pb = unsafe.Add(pb, 256)
	}
	add16(c, c00)
	add16(c[0*ldc+16:], c01)
	add16(c[0*ldc+32:], c02)
	add16(c[0*ldc+48:], c03)
	add16(c[1*ldc+0:], c10)
	add16(c[1*ldc+16:], c11)
	add16(c[1*ldc+32:], c12)
	add16(c[1*ldc+48:], c13)
	archsimd.ClearAVXUpperBits()
}

// avx512x4x32: c[r·ldc+j] += Σ_k a[k·4+r]·b[k·32+j] for r < 4, j < 32.
func avx512x4x32(kc int, a, b, c []float32, ldc int) {
	if kc <= 0 {
		return
	}
	_ = a[kc*4-1] // bounds: the loop reads a[:kc*4], b[:kc*32]
	_ = b[kc*32-1]
	_ = c[3*ldc+31]
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])
	for k := kc; k > 0; k-- {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 0)))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 64)))
		av0 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 0)))
		c00 = av0.MulAdd(b0, c00)
		c01 = av0.MulAdd(b1, c01)
		av1 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 4)))
		c10 = av1.MulAdd(b0, c10)
		c11 = av1.MulAdd(b1, c11)
		av2 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 8)))
		c20 = av2.MulAdd(b0, c20)
		c21 = av2.MulAdd(b1, c21)
		av3 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 12)))
		c30 = av3.MulAdd(b0, c30)
		c31 = av3.MulAdd(b1, c31)
		pa = unsafe.Add(pa, 16)
		pb = unsafe.Add(pb, 128)
	}
	add16(c, c00)
	add16(c[0*ldc+16:], c01)
	add16(c[1*ldc+0:], c10)
	add16(c[1*ldc+16:], c11)
	add16(c[2*ldc+0:], c20)
	add16(c[2*ldc+16:], c21)
	add16(c[3*ldc+0:], c30)
	add16(c[3*ldc+16:], c31)
	archsimd.ClearAVXUpperBits()
}

// avx512x7x16: c[r·ldc+j] += Σ_k a[k·7+r]·b[k·16+j] for r < 7, j < 16.
func avx512x7x16(kc int, a, b, c []float32, ldc int) {
	if kc <= 0 {
		return
	}
	_ = a[kc*7-1] // bounds: the loop reads a[:kc*7], b[:kc*16]
	_ = b[kc*16-1]
	_ = c[6*ldc+15]
	var c00, c10, c20, c30, c40, c50, c60 archsimd.Float32x16
	pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])
	for k := kc; k > 0; k-- {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 0)))
		av0 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 0)))
		c00 = av0.MulAdd(b0, c00)
		av1 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 4)))
		c10 = av1.MulAdd(b0, c10)
		av2 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 8)))
		c20 = av2.MulAdd(b0, c20)
		av3 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 12)))
		c30 = av3.MulAdd(b0, c30)
		av4 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 16)))
		c40 = av4.MulAdd(b0, c40)
		av5 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 20)))
		c50 = av5.MulAdd(b0, c50)
		av6 := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(pa, 24)))
		c60 = av6.MulAdd(b0, c60)
		pa = unsafe.Add(pa, 28)
		pb = unsafe.Add(pb, 64)
	}
	add16(c, c00)
	add16(c[1*ldc+0:], c10)
	add16(c[2*ldc+0:], c20)
	add16(c[3*ldc+0:], c30)
	add16(c[4*ldc+0:], c40)
	add16(c[5*ldc+0:], c50)
	add16(c[6*ldc+0:], c60)
	archsimd.ClearAVXUpperBits()
}

// avx2x4x16: c[r·ldc+j] += Σ_k a[k·4+r]·b[k·16+j] for r < 4, j < 16.
func avx2x4x16(kc int, a, b, c []float32, ldc int) {
	if kc <= 0 {
		return
	}
	_ = a[kc*4-1] // bounds: the loop reads a[:kc*4], b[:kc*16]
	_ = b[kc*16-1]
	_ = c[3*ldc+15]
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])
	for k := kc; k > 0; k-- {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 0)))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 32)))
		av0 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 0)))
		c00 = av0.MulAdd(b0, c00)
		c01 = av0.MulAdd(b1, c01)
		av1 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 4)))
		c10 = av1.MulAdd(b0, c10)
		c11 = av1.MulAdd(b1, c11)
		av2 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 8)))
		c20 = av2.MulAdd(b0, c20)
		c21 = av2.MulAdd(b1, c21)
		av3 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 12)))
		c30 = av3.MulAdd(b0, c30)
		c31 = av3.MulAdd(b1, c31)
		pa = unsafe.Add(pa, 16)
		pb = unsafe.Add(pb, 64)
	}
	add8(c, c00)
	add8(c[0*ldc+8:], c01)
	add8(c[1*ldc+0:], c10)
	add8(c[1*ldc+8:], c11)
	add8(c[2*ldc+0:], c20)
	add8(c[2*ldc+8:], c21)
	add8(c[3*ldc+0:], c30)
	add8(c[3*ldc+8:], c31)
	archsimd.ClearAVXUpperBits()
}

// avx2x7x8: c[r·ldc+j] += Σ_k a[k·7+r]·b[k·8+j] for r < 7, j < 8.
func avx2x7x8(kc int, a, b, c []float32, ldc int) {
	if kc <= 0 {
		return
	}
	_ = a[kc*7-1] // bounds: the loop reads a[:kc*7], b[:kc*8]
	_ = b[kc*8-1]
	_ = c[6*ldc+7]
	var c00, c10, c20, c30, c40, c50, c60 archsimd.Float32x8
	pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])
	for k := kc; k > 0; k-- {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 0)))
		av0 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 0)))
		c00 = av0.MulAdd(b0, c00)
		av1 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 4)))
		c10 = av1.MulAdd(b0, c10)
		av2 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 8)))
		c20 = av2.MulAdd(b0, c20)
		av3 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 12)))
		c30 = av3.MulAdd(b0, c30)
		av4 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 16)))
		c40 = av4.MulAdd(b0, c40)
		av5 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 20)))
		c50 = av5.MulAdd(b0, c50)
		av6 := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 24)))
		c60 = av6.MulAdd(b0, c60)
		pa = unsafe.Add(pa, 28)
		pb = unsafe.Add(pb, 32)
	}
	add8(c, c00)
	add8(c[1*ldc+0:], c10)
	add8(c[2*ldc+0:], c20)
	add8(c[3*ldc+0:], c30)
	add8(c[4*ldc+0:], c40)
	add8(c[5*ldc+0:], c50)
	add8(c[6*ldc+0:], c60)
	archsimd.ClearAVXUpperBits()
}
