package webgpu_test

import (
	"os"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// TestWebGPUConformance runs the conformance table against the naive oracle:
// its short variant, or all of it with CREMA_KERNELTEST_FULL set (on a real
// GPU; SwiftShader is too slow for the big channel counts at real sizes).
func TestWebGPUConformance(t *testing.T) {
	b := openGPU(t)
	ref := kernels.Checked(naive.Backend{})
	if os.Getenv("CREMA_KERNELTEST_FULL") != "" {
		kerneltest.Run(t, b, ref)
		return
	}
	kerneltest.RunShort(t, b, ref)
}

// TestWebGPULargeShapes covers the paths the table's shapes do not reach:
// split-K MatMul, the global merge steps of SortRows, long ResampleRows,
// reductions capped at 512 workgroups and grid-stride loops past 65535
// workgroups.
func TestWebGPULargeShapes(t *testing.T) {
	kerneltest.RunCases(t, openGPU(t), kernels.Checked(naive.Backend{}), kerneltest.LargeCases())
}

// TestWebGPUGradients: the backward shaders against finite differences of
// the forward ones.
func TestWebGPUGradients(t *testing.T) {
	kerneltest.RunGradients(t, openGPU(t))
}
