package cpu

import (
	"os"
	"runtime"
	"strings"
)

// Kernel says in words, for the page's badge, which kind of GEMM
// micro-kernel most of c's products run on (the fastest measured):
// "WebAssembly SIMD (relaxed)" or "WebAssembly SIMD128" in a browser that
// has SIMD, "Go kernel (SIMD off)" when CREMA_WASM_SIMD=off turned it off,
// "Go kernel (no SIMD here)" in a browser without it, "AVX-512" or "AVX2"
// natively with GOEXPERIMENT=simd, else "Go kernel".
func (c *Backend) Kernel() string {
	return kernelKind(c.kernels[0].name, len(c.kernels) > 1, simdNote, simdOff())
}

// simdOff reports whether the WebAssembly SIMD kernels were turned off on
// purpose (CREMA_WASM_SIMD=off in the worker's go.env; kernel_js.go).
func simdOff() bool { return runtime.GOOS == "js" && os.Getenv("CREMA_WASM_SIMD") == "off" }

// kernelKind is Kernel for the fastest kernel's name (kernel.go's names:
// wasmsimd.KernelName's, "scalar 2×4", "AVX-512 4×32", …); others says
// whether there were other candidates, note why no SIMD kernel was one
// (simdNote) and off whether that was on purpose.
func kernelKind(name string, others bool, note string, off bool) string {
	switch {
	case strings.HasPrefix(name, "wasm relaxed-SIMD "):
		return "WebAssembly SIMD (relaxed)"
	case strings.HasPrefix(name, "wasm SIMD128 "):
		return "WebAssembly SIMD128"
	case name != scalar2x4.name:
		kind, _, _ := strings.Cut(name, " ") // "AVX-512 4×32" → "AVX-512"
		return kind
	case off:
		return "Go kernel (SIMD off)"
	case note != "":
		return "Go kernel (no SIMD here)"
	case others:
		return "Go kernel (measured faster than SIMD)"
	}
	return "Go kernel"
}
