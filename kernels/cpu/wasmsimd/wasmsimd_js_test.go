//go:build js && wasm

package wasmsimd_test

import (
	"strings"
	"syscall/js"
	"testing"

	"github.com/crema-app/crema/kernels/cpu/wasmsimd"
)

// inBrowser reports whether the test runs in a browser page (tools/wasmtest)
// rather than under node (go_js_wasm_exec), which does not expose Go's
// memory.
func inBrowser() bool { return js.Global().Get("document").Truthy() }

// validates reports whether this browser accepts the module.
func validates(relaxed bool) bool {
	b := wasmsimd.Module(relaxed)
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	return js.Global().Get("WebAssembly").Call("validate", u8).Bool()
}

// TestLoad: in a browser both modules load on Go's memory (relaxed SIMD
// first, where the browser validates it: Chromium does); "simd128" keeps
// only the plain one; "off" none; under node, whose runner does not expose
// Go's memory, Load says so.
func TestLoad(t *testing.T) {
	if !inBrowser() {
		_, err := wasmsimd.Load(wasmsimd.ModeAuto)
		if err == nil || !strings.Contains(err.Error(), "cremaGoMemory") {
			t.Fatalf("Load under node: err = %v, want one naming cremaGoMemory", err)
		}
		t.Skip("not in a browser: the SIMD kernels run in tools/wasmtest's Chromium")
	}
	ks, err := wasmsimd.Load(wasmsimd.ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	n := len(wasmsimd.Shapes())
	if !validates(false) {
		t.Fatal("this browser rejects the SIMD128 module")
	}
	if !validates(true) {
		t.Log("this browser has no relaxed SIMD")
		n = 0
	}
	if len(ks) != n+len(wasmsimd.Shapes()) || (n > 0 && !ks[0].Relaxed) || ks[n].Relaxed {
		var names []string
		for _, k := range ks {
			names = append(names, k.Name)
		}
		t.Fatalf("Load(auto) = %v, want %d relaxed-SIMD kernels then %d SIMD128 ones", names, n, len(wasmsimd.Shapes()))
	}
	ks, err = wasmsimd.Load(wasmsimd.ModeSIMD128)
	if err != nil || len(ks) != len(wasmsimd.Shapes()) || ks[0].Relaxed {
		t.Fatalf("Load(simd128) = %d kernels, err %v; want %d plain ones", len(ks), err, len(wasmsimd.Shapes()))
	}
	if ks, err := wasmsimd.Load(wasmsimd.ModeOff); err == nil || ks != nil {
		t.Fatalf("Load(off) = %d kernels, err %v; want none and an error", len(ks), err)
	}
}
