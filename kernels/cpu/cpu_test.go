package cpu_test

import (
	"fmt"
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
