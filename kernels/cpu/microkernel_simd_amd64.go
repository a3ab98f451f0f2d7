//go:build goexperiment.simd && amd64

package cpu

import "simd/archsimd"

// With GOEXPERIMENT=simd on amd64, the micro-kernel uses the experimental
// simd/archsimd package: AVX-512 (8×32 tile, 16 zmm accumulators) where the
// CPU has it, AVX2+FMA (4×16 tile) otherwise, the scalar kernel as a last
// resort. The packing layout follows gemmMR/gemmNR, chosen here once.
var (
	gemmMR, gemmNR, microKernel, microKernelName = pickMicroKernel()
)

func pickMicroKernel() (int, int, func(int, []float32, []float32, []float32, int, float32), string) {
	switch {
	case archsimd.X86.AVX512():
		return 8, 32, microKernelAVX512x8x32, "AVX-512 8×32 (GOEXPERIMENT=simd)"
	case archsimd.X86.AVX2() && archsimd.X86.FMA():
		return 4, 16, microKernelAVX2x4x16, "AVX2 4×16 (GOEXPERIMENT=simd)"
	}
	return 2, 4, microKernelScalar2x4, "scalar 2×4"
}

// microKernelAVX512x8x32: c[r·ldc+j] += alpha·Σ_k a[k·8+r]·b[k·32+j].
func microKernelAVX512x8x32(kc int, a, b, c []float32, ldc int, alpha float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	var c40, c41, c50, c51, c60, c61, c70, c71 archsimd.Float32x16
	a = a[:kc*8]
	b = b[:kc*32]
	for len(a) >= 8 && len(b) >= 32 {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(b[0:16]))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(b[16:32]))
		av := archsimd.BroadcastFloat32x16(a[0])
		c00 = av.MulAdd(b0, c00)
		c01 = av.MulAdd(b1, c01)
		av = archsimd.BroadcastFloat32x16(a[1])
		c10 = av.MulAdd(b0, c10)
		c11 = av.MulAdd(b1, c11)
		av = archsimd.BroadcastFloat32x16(a[2])
		c20 = av.MulAdd(b0, c20)
		c21 = av.MulAdd(b1, c21)
		av = archsimd.BroadcastFloat32x16(a[3])
		c30 = av.MulAdd(b0, c30)
		c31 = av.MulAdd(b1, c31)
		av = archsimd.BroadcastFloat32x16(a[4])
		c40 = av.MulAdd(b0, c40)
		c41 = av.MulAdd(b1, c41)
		av = archsimd.BroadcastFloat32x16(a[5])
		c50 = av.MulAdd(b0, c50)
		c51 = av.MulAdd(b1, c51)
		av = archsimd.BroadcastFloat32x16(a[6])
		c60 = av.MulAdd(b0, c60)
		c61 = av.MulAdd(b1, c61)
		av = archsimd.BroadcastFloat32x16(a[7])
		c70 = av.MulAdd(b0, c70)
		c71 = av.MulAdd(b1, c71)
		a = a[8:]
		b = b[32:]
	}
	al := archsimd.BroadcastFloat32x16(alpha)
	store2 := func(row []float32, x0, x1 archsimd.Float32x16) {
		p0 := (*[16]float32)(row[0:16])
		p1 := (*[16]float32)(row[16:32])
		x0.MulAdd(al, archsimd.LoadFloat32x16(p0)).Store(p0)
		x1.MulAdd(al, archsimd.LoadFloat32x16(p1)).Store(p1)
	}
	store2(c[0:], c00, c01)
	store2(c[ldc:], c10, c11)
	store2(c[2*ldc:], c20, c21)
	store2(c[3*ldc:], c30, c31)
	store2(c[4*ldc:], c40, c41)
	store2(c[5*ldc:], c50, c51)
	store2(c[6*ldc:], c60, c61)
	store2(c[7*ldc:], c70, c71)
}

// microKernelAVX2x4x16: c[r·ldc+j] += alpha·Σ_k a[k·4+r]·b[k·16+j].
func microKernelAVX2x4x16(kc int, a, b, c []float32, ldc int, alpha float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	a = a[:kc*4]
	b = b[:kc*16]
	for len(a) >= 4 && len(b) >= 16 {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(b[0:8]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(b[8:16]))
		av := archsimd.BroadcastFloat32x8(a[0])
		c00 = av.MulAdd(b0, c00)
		c01 = av.MulAdd(b1, c01)
		av = archsimd.BroadcastFloat32x8(a[1])
		c10 = av.MulAdd(b0, c10)
		c11 = av.MulAdd(b1, c11)
		av = archsimd.BroadcastFloat32x8(a[2])
		c20 = av.MulAdd(b0, c20)
		c21 = av.MulAdd(b1, c21)
		av = archsimd.BroadcastFloat32x8(a[3])
		c30 = av.MulAdd(b0, c30)
		c31 = av.MulAdd(b1, c31)
		a = a[4:]
		b = b[16:]
	}
	al := archsimd.BroadcastFloat32x8(alpha)
	store2 := func(row []float32, x0, x1 archsimd.Float32x8) {
		p0 := (*[8]float32)(row[0:8])
		p1 := (*[8]float32)(row[8:16])
		x0.MulAdd(al, archsimd.LoadFloat32x8(p0)).Store(p0)
		x1.MulAdd(al, archsimd.LoadFloat32x8(p1)).Store(p1)
	}
	store2(c[0:], c00, c01)
	store2(c[ldc:], c10, c11)
	store2(c[2*ldc:], c20, c21)
	store2(c[3*ldc:], c30, c31)
}
