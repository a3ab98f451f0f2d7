//go:build js && wasm

package cpu_test

import (
	"os"
	"strings"
	"syscall/js"
	"testing"

	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/cpu/wasmsimd"
)

// relaxedValidates reports whether this browser accepts relaxed SIMD.
func relaxedValidates() bool {
	b := wasmsimd.Module(true)
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	return js.Global().Get("WebAssembly").Call("validate", u8).Bool()
}

// TestWasmKernels: in a browser page (tools/wasmtest's Chromium, which
// exposes Go's memory) the candidates are the SIMD128 kernels (relaxed
// ones where the browser has relaxed SIMD, unless CREMA_WASM_SIMD=simd128) and the scalar one, and a SIMD
// kernel is measured fastest; with CREMA_WASM_SIMD=off, or under node, only
// the scalar kernel, and Describe says why. TestEveryMicroKernel runs the
// conformance table on each of them.
func TestWasmKernels(t *testing.T) {
	names := cpu.MicroKernelNames()
	desc := cpu.New(1).Describe()
	t.Logf("%s; kernels %v", desc, cpu.MicroKernels())
	mode := os.Getenv("CREMA_WASM_SIMD")
	if !js.Global().Get("document").Truthy() || mode == "off" {
		if len(names) != 1 || names[0] != "scalar 2×4" || !strings.Contains(desc, "no SIMD: ") {
			t.Fatalf("without SIMD: kernels %v, Describe %q; want only the scalar one, and the reason", names, desc)
		}
		return
	}
	var relaxed, plain int
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "wasm relaxed-SIMD"):
			relaxed++
		case strings.HasPrefix(n, "wasm SIMD128"):
			plain++
		}
	}
	wantRelaxed := mode != "simd128" && relaxedValidates()
	if plain == 0 || (relaxed > 0) != wantRelaxed {
		t.Fatalf("CREMA_WASM_SIMD=%q: kernels %v", mode, names)
	}
	if !strings.HasPrefix(names[0], "wasm ") {
		t.Errorf("the fastest kernel is %s, not a SIMD one (%v)", names[0], cpu.MicroKernels())
	}
}
