//go:build js && wasm

package cpu

import (
	"os"

	"github.com/crema-app/crema/kernels/cpu/wasmsimd"
)

// Under WebAssembly the candidates are the SIMD128 block kernels of package
// wasmsimd (relaxed-SIMD and plain, each in a few tile shapes) where the
// browser can run them, and the portable scalar 2×4. CREMA_WASM_SIMD
// (go.env) forces "simd128" (no relaxed SIMD) or "off" (no SIMD: the Go
// kernel), as a browser without them would.
func candidates() []*microKernel {
	s := scalar2x4
	wks, err := wasmsimd.Load(os.Getenv("CREMA_WASM_SIMD"))
	if err != nil {
		simdNote = err.Error()
	}
	var ks []*microKernel
	for _, wk := range wks {
		ks = append(ks, &microKernel{name: wk.Name, mr: wk.MR, nr: wk.NR, block: wasmBlock(wk), pack: wk.PackConv})
	}
	return append(ks, &s)
}

func wasmBlock(wk *wasmsimd.Kernel) blockFunc {
	return func(_ *microKernel, kc int, a []float32, aStride, panels, rowsLast int,
		b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32) {
		wk.Block(kc, a, aStride, panels, rowsLast, b, bPanels, colsLast, c, ldc, tile)
	}
}
