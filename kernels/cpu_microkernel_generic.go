//go:build !(goexperiment.simd && amd64) && !wasm

package kernels

// Without GOEXPERIMENT=simd the portable scalar kernel is the only one
// (WebAssembly has its own: cpu_microkernel_wasm.go).
var (
	gemmMR          = 2
	gemmNR          = 3
	microKernel     = microKernelGeneric2x3
	microKernelName = "scalar 2×3"
)
