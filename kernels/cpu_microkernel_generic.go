//go:build !(goexperiment.simd && amd64)

package kernels

// Without GOEXPERIMENT=simd (and always under WebAssembly) the portable
// scalar kernel is the only one.
var (
	gemmMR          = 2
	gemmNR          = 3
	microKernel     = microKernelGeneric2x3
	microKernelName = "scalar 2×3"
)
