package kernels_test

import (
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// TestCPUMatchesNaive runs the conformance table on the CPU backend with
// one worker, with the machine's workers and with more workers than cores
// (uneven job splits), against the naive oracle.
func TestCPUMatchesNaive(t *testing.T) {
	for _, workers := range []int{1, 0, 3} {
		cpu := kernels.NewCPU(workers)
		t.Run(cpu.Describe(), func(t *testing.T) {
			if testing.Short() {
				kerneltest.RunShort(t, cpu, kernels.Naive{})
				return
			}
			kerneltest.Run(t, cpu, kernels.Naive{})
		})
	}
}
