package cpu

import (
	"testing"

	"github.com/crema-app/crema/kernels/cpu/wasmsimd"
)

// TestKernelKind: every kernel name this package gives maps to the words
// the page's badge shows, and the Go kernel says why no SIMD runs.
func TestKernelKind(t *testing.T) {
	s := wasmsimd.Shapes()[0]
	for _, tc := range []struct {
		name   string
		others bool
		note   string
		off    bool
		want   string
	}{
		{wasmsimd.KernelName(s, true), true, "", false, "WebAssembly SIMD (relaxed)"},
		{wasmsimd.KernelName(s, false), true, "", false, "WebAssembly SIMD128"},
		{"AVX-512 4×32", true, "", false, "AVX-512"},
		{"AVX2 4×16", true, "", false, "AVX2"},
		{scalar2x4.name, false, "wasmsimd: turned off (CREMA_WASM_SIMD=off)", true, "Go kernel (SIMD off)"},
		{scalar2x4.name, false, "wasmsimd: no SIMD module loads here: [...]", false, "Go kernel (no SIMD here)"},
		{scalar2x4.name, true, "", false, "Go kernel (measured faster than SIMD)"},
		{scalar2x4.name, false, "", false, "Go kernel"},
	} {
		if got := kernelKind(tc.name, tc.others, tc.note, tc.off); got != tc.want {
			t.Errorf("kernelKind(%q, %v, %q, %v) = %q, want %q", tc.name, tc.others, tc.note, tc.off, got, tc.want)
		}
	}
}
