package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// TestCPUMatchesNaive runs the conformance table (and, unless -short, its
// large cases) on the CPU backend with one worker, with the machine's workers
// and with more workers than cores (uneven job splits), against the naive
// oracle.
func TestCPUMatchesNaive(t *testing.T) {
	ref := kernels.Checked(naive.Backend{})
	for _, workers := range []int{1, 0, 3} {
		b := kernels.Checked(cpu.New(workers))
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			t.Log(b.Describe())
			if testing.Short() {
				kerneltest.RunShort(t, b, ref)
				return
			}
			kerneltest.Run(t, b, ref)
			kerneltest.RunCases(t, b, ref, kerneltest.LargeCases())
		})
	}
}

// TestEveryMicroKernel runs the conformance table on each GEMM micro-kernel
// this machine can run (the scalar one in every build; the AVX-512 and AVX2
// ones with GOEXPERIMENT=simd), forced for every product, against the naive
// oracle: the measured choice may pick any of them.
func TestEveryMicroKernel(t *testing.T) {
	ref := kernels.Checked(naive.Backend{})
	names := cpu.MicroKernelNames()
	t.Logf("micro-kernels, fastest first: %v", cpu.MicroKernels())
	for _, name := range names {
		b, err := cpu.NewWithKernel(2, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			kerneltest.Run(t, kernels.Checked(b), ref)
			if !testing.Short() {
				kerneltest.RunCases(t, kernels.Checked(b), ref, kerneltest.LargeCases()[:2]) // the split-K MatMuls
			}
		})
	}
	if _, err := cpu.NewWithKernel(1, "no such kernel"); err == nil {
		t.Error("NewWithKernel accepted an unknown kernel")
	}
}

// TestGradients: the CPU backend's backward operations against finite
// differences of its forward operations.
func TestGradients(t *testing.T) {
	kerneltest.RunGradients(t, kernels.Checked(cpu.New(2)))
}

// TestTensorsAreShared: the CPU and naive backends use each other's tensors.
func TestTensorsAreShared(t *testing.T) {
	c := cpu.New(1)
	x := kerneltest.Upload(t, c, []float32{1, 2, 3})
	if got := naive.Data(x); len(got) != 3 || got[2] != 3 {
		t.Fatalf("naive.Data of a CPU tensor = %v, want [1 2 3]", got)
	}
	y := kerneltest.Upload(t, naive.Backend{}, []float32{4, 5, 6})
	c.Axpy(x, 2, y)
	if got := kerneltest.Download(t, c, x); got[0] != 9 || got[1] != 12 || got[2] != 15 {
		t.Fatalf("Axpy on a naive tensor = %v, want [9 12 15]", got)
	}
}

// TestAllocLimit: a request beyond one host tensor's limit is an error that
// names the backend, not a crash.
func TestAllocLimit(t *testing.T) {
	_, err := cpu.New(1).Alloc(naive.MaxElems + 1)
	if err == nil || err.Error() != "cpu: cannot allocate 1073741825 floats (4295.0 MB): over the 4294 MB limit of one tensor" {
		t.Fatalf("Alloc past the limit: err = %v", err)
	}
}

// TestConvReLUEdges: the fused ReLU keeps NaN and turns negatives into +0,
// bit for bit as the naive backend's math.Max(v, 0) does, on every
// micro-kernel. Random weights and biases, with one NaN pixel (whose 3×3
// neighbourhood's outputs are NaN in every channel).
func TestConvReLUEdges(t *testing.T) {
	s := kernels.ConvShape{Cin: 2, Cout: 3, H: 4, W: 5}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	x, w, bias := random(s.Cin*s.H*s.W), random(s.Cout*s.Cin*9), random(s.Cout) // [2, 4, 5], [3, 2, 3, 3], [3]
	x[s.W+1] = float32(math.NaN())                                              // channel 0, pixel (1, 1)
	want := run(t, naive.Backend{}, s, x, w, bias)
	for _, name := range cpu.MicroKernelNames() {
		b, err := cpu.NewWithKernel(1, name)
		if err != nil {
			t.Fatal(err)
		}
		got := run(t, b, s, x, w, bias)
		nans, zeros := 0, 0
		for i := range want {
			g := got[i]
			switch {
			case g != g:
				nans++
			case g == 0:
				zeros++
				if math.Signbit(float64(g)) {
					t.Errorf("%s: output %d is -0, want +0", name, i)
				}
			case g < 0 || math.Abs(float64(g-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))):
				t.Errorf("%s: output %d = %v, naive %v", name, i, g, want[i])
			}
			if (g != g) != (want[i] != want[i]) || (want[i] == 0) != (g == 0) {
				t.Errorf("%s: output %d = %v, naive %v", name, i, g, want[i])
			}
		}
		if nans != 3*9 || zeros == 0 { // pixel (1, 1) and its 8 neighbours, in each of 3 channels
			t.Errorf("%s: %d NaN and %d zero outputs, want 27 NaN and some zeros", name, nans, zeros)
		}
	}
}

// run is one Conv3x3 of b on host slices.
func run(t *testing.T, b kernels.Backend, s kernels.ConvShape, x, w, bias []float32) []float32 {
	t.Helper()
	dst, err := b.Alloc(s.Cout * s.H * s.W)
	if err != nil {
		t.Fatal(err)
	}
	b.Conv3x3(dst, kerneltest.Upload(t, b, x), kerneltest.Upload(t, b, w), kerneltest.Upload(t, b, bias), s)
	return kerneltest.Download(t, b, dst)
}
