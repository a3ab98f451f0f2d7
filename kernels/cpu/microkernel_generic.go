//go:build !(goexperiment.simd && amd64)

package cpu

// Without GOEXPERIMENT=simd on amd64 (and always under WebAssembly) the
// portable scalar kernel is the only one.
var (
	gemmMR          = 2
	gemmNR          = 4
	microKernel     = microKernelScalar2x4
	microKernelName = "scalar 2×4"
)
