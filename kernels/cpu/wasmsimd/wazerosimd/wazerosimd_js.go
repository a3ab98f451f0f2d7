//go:build js

package wazerosimd

import (
	"testing"

	"github.com/crema-app/crema/kernels/cpu"
)

// Kernels returns none under WebAssembly, where the browser runs the module
// itself (kernels/cpu's tests in Chromium); it exists so that tests using it
// build for js.
func Kernels(t testing.TB) []cpu.BlockKernel {
	t.Log("wazerosimd: wazero does not run under js; the browser runs the SIMD kernels itself")
	return nil
}
