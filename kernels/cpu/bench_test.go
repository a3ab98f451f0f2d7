package cpu_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// loop runs op b.N times after a warm-up call and reports GFLOP/s (flops
// per op) and, where the process' CPU time is known, GFLOP per CPU-second
// ("GFLOP/cpu-s", a per-core rate).
func loop(b *testing.B, flops float64, op func()) {
	op() // warm the scratch buffers
	b.ResetTimer()
	c0 := cpuSeconds()
	for b.Loop() {
		op()
	}
	c1 := cpuSeconds()
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if c1 > c0 {
		b.ReportMetric(flops*float64(b.N)/(c1-c0)/1e9, "GFLOP/cpu-s")
	}
}

// benchTensor uploads n values uniform in [lo, hi) to be.
func benchTensor(b *testing.B, be kernels.Backend, n int, r *rand.Rand, lo, hi float32) kernels.Tensor {
	return kerneltest.Upload(b, be, kerneltest.Uniform(r, n, lo, hi))
}

// BenchmarkConv3x3 runs the forward convolution (with bias and ReLU) of each
// VGG-19 layer shape at 256×256 and reports GFLOP/s (2·Cin·9·Cout·H·W per op).
func BenchmarkConv3x3(b *testing.B) {
	be := cpu.New(0)
	for _, l := range kerneltest.VGGConvs(256) {
		b.Run(l.Name, func(b *testing.B) {
			s := l.Shape
			r := rand.New(rand.NewPCG(1, 2))
			x := benchTensor(b, be, s.Cin*s.H*s.W, r, -1, 1)
			w := benchTensor(b, be, s.Cout*s.Cin*9, r, -0.05, 0.05)
			bias := benchTensor(b, be, s.Cout, r, -0.1, 0.1)
			y := benchTensor(b, be, s.Cout*s.H*s.W, r, 0, 0)
			loop(b, s.FLOPs(), func() { be.Conv3x3(y, x, w, bias, s) })
		})
	}
}

// BenchmarkConv3x3Backward runs the input gradient (ReLU mask fused) of each
// VGG-19 layer shape at 256×256; it has the forward's FLOP count.
func BenchmarkConv3x3Backward(b *testing.B) {
	be := cpu.New(0)
	for _, l := range kerneltest.VGGConvs(256) {
		b.Run(l.Name, func(b *testing.B) {
			s := l.Shape
			r := rand.New(rand.NewPCG(1, 2))
			dy := benchTensor(b, be, s.Cout*s.H*s.W, r, -1, 1)
			y := benchTensor(b, be, s.Cout*s.H*s.W, r, -1, 1)
			w := benchTensor(b, be, s.Cout*s.Cin*9, r, -0.05, 0.05)
			dx := benchTensor(b, be, s.Cin*s.H*s.W, r, 0, 0)
			loop(b, s.FLOPs(), func() { be.Conv3x3Backward(dx, dy, y, w, s) })
		})
	}
}

// BenchmarkConvKept: the input gradient (a share of a helper worker: the
// masked gradient given) of conv1_2, conv3_2, conv4_2 and conv5_1 at a 128²
// image, with the weights packed on every call ("packed") and kept packed
// in a Weights ("kept"), on one thread. Weight packing does not shrink with
// the image, so it weighs most on the deep layers and small images.
func BenchmarkConvKept(b *testing.B) {
	be := cpu.New(1)
	for _, l := range kerneltest.VGGConvs(128) {
		if l.Name != "conv1_2" && l.Name != "conv3_2" && l.Name != "conv4_2" && l.Name != "conv5_1" {
			continue
		}
		s := l.Shape
		r := rand.New(rand.NewPCG(1, 2))
		g := benchTensor(b, be, s.Cout*s.H*s.W, r, -1, 1)
		wd := kerneltest.Uniform(r, s.Cout*s.Cin*9, -0.05, 0.05)
		w := kerneltest.Upload(b, be, wd)
		kw, err := cpu.NewWeights(wd, s.Cin, s.Cout)
		if err != nil {
			b.Fatal(err)
		}
		dx := benchTensor(b, be, s.Cin*s.H*s.W, r, 0, 0)
		b.Run(l.Name+"/packed", func(b *testing.B) {
			loop(b, s.FLOPs(), func() { be.Conv3x3InputGrad(dx, g, w, s) })
		})
		b.Run(l.Name+"/kept", func(b *testing.B) {
			loop(b, s.FLOPs(), func() { be.Conv3x3InputGradPixelsKept(dx, g, kw, s, 0, s.H*s.W) })
		})
	}
}

// gemmShapes are the GEMMs of conv3_2's forward pass (M=Cout, N=H·W,
// K=Cin·9) and of a Gram matrix of conv1_1 (C×C×HW at 256²).
var gemmShapes = []struct {
	name    string
	m, n, k int
	transB  bool
}{
	{"conv3_2", 256, 4096, 2304, false},
	{"gram1_1", 64, 64, 65536, true},
}

// BenchmarkGemm is the CPU backend's MatMul on gemmShapes.
func BenchmarkGemm(b *testing.B) {
	be := cpu.New(0)
	for _, g := range gemmShapes {
		b.Run(g.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			a := benchTensor(b, be, g.m*g.k, r, -1, 1)
			bb := benchTensor(b, be, g.k*g.n, r, -1, 1)
			c := benchTensor(b, be, g.m*g.n, r, 0, 0)
			loop(b, 2*float64(g.m*g.n*g.k), func() { be.MatMul(c, a, bb, g.m, g.n, g.k, false, g.transB, 1, 0) })
		})
	}
}

// BenchmarkGemmGonum is gonum's blas32.Gemm (v0.17.0) on the same shapes,
// the alternative gemm.go was measured against.
func BenchmarkGemmGonum(b *testing.B) {
	for _, g := range gemmShapes {
		b.Run(g.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			mk := func(rows, cols int) blas32.General {
				d := make([]float32, rows*cols)
				for i := range d {
					d[i] = 2*r.Float32() - 1
				}
				return blas32.General{Rows: rows, Cols: cols, Stride: cols, Data: d}
			}
			a := mk(g.m, g.k)
			bb := mk(g.k, g.n)
			tb := blas.NoTrans
			if g.transB {
				bb = mk(g.n, g.k)
				tb = blas.Trans
			}
			c := mk(g.m, g.n)
			b.ResetTimer()
			for b.Loop() {
				blas32.Gemm(blas.NoTrans, tb, 1, a, bb, 0, c)
			}
			b.ReportMetric(2*float64(g.m*g.n*g.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMicroKernel is the CPU backend's description and the measured
// rate of every candidate micro-kernel (one thread, one packed block), for
// the record of which kernel a benchmark run used.
func BenchmarkMicroKernel(b *testing.B) {
	b.Skip(fmt.Sprint(cpu.New(0).Describe(), "; measured: ", cpu.MicroKernels()))
}

// BenchmarkEachMicroKernel runs conv3_2's forward pass at 64² (the
// conv3_x shape of a 256² image) on each candidate micro-kernel, forced.
func BenchmarkEachMicroKernel(b *testing.B) {
	s := kerneltest.VGGConvs(256)[5].Shape
	for _, name := range cpu.MicroKernelNames() {
		be, err := cpu.NewWithKernel(0, name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x := benchTensor(b, be, s.Cin*s.H*s.W, r, -1, 1)
			w := benchTensor(b, be, s.Cout*s.Cin*9, r, -0.05, 0.05)
			bias := benchTensor(b, be, s.Cout, r, -0.1, 0.1)
			y := benchTensor(b, be, s.Cout*s.H*s.W, r, 0, 0)
			loop(b, s.FLOPs(), func() { be.Conv3x3(y, x, w, bias, s) })
		})
	}
}

// imulChain multiplies x by m n times: a chain of dependent 64-bit IMULs
// (3 cycles each on Zen 4/5 and on Intel cores since Sandy Bridge).
//
//go:noinline
func imulChain(n, m int) int {
	x := 1
	for range n {
		x *= m
	}
	return x
}

// BenchmarkClock estimates the core clock under load from a dependent IMUL
// chain (3 cycles per multiply), for the fp32 peak estimates in
// BENCHMARKS.md: a VM's lscpu shows only the TSC rate.
func BenchmarkClock(b *testing.B) {
	const n = 10_000_000
	c0 := cpuSeconds()
	for b.Loop() {
		imulChain(n, 7)
	}
	c1 := cpuSeconds()
	b.ReportMetric(3*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GHz")
	if c1 > c0 {
		b.ReportMetric(3*n*float64(b.N)/(c1-c0)/1e9, "GHz/cpu-s")
	}
}
