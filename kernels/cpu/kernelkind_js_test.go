package cpu

import (
	"os"
	"testing"
)

// TestKernelInTheBrowser: Kernel says which kind of kernel runs as
// CREMA_WASM_SIMD leaves it (the page's ?simd= sets it): the Go kernel when
// turned off, plain SIMD128 with simd128, some SIMD kernel otherwise (this
// test's Chromium has SIMD).
func TestKernelInTheBrowser(t *testing.T) {
	got := New(1).Kernel()
	want := map[string][]string{
		"off":     {"Go kernel (SIMD off)"},
		"simd128": {"WebAssembly SIMD128"},
		"":        {"WebAssembly SIMD (relaxed)", "WebAssembly SIMD128"},
	}[os.Getenv("CREMA_WASM_SIMD")]
	for _, w := range want {
		if got == w {
			t.Logf("CREMA_WASM_SIMD=%q: %s", os.Getenv("CREMA_WASM_SIMD"), got)
			return
		}
	}
	t.Errorf("CREMA_WASM_SIMD=%q: Kernel() = %q, want one of %q", os.Getenv("CREMA_WASM_SIMD"), got, want)
}
