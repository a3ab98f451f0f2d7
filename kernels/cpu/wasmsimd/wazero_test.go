//go:build !js

package wasmsimd_test

import (
	"bytes"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/cpu/wasmsimd"
	"github.com/crema-app/crema/kernels/cpu/wasmsimd/internal/wasmgen"
	"github.com/crema-app/crema/kernels/cpu/wasmsimd/wazerosimd"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// TestModulesUpToDate: the committed .wasm files are what ./gen writes from
// internal/wasmgen (run `go generate ./kernels/cpu/wasmsimd` after changing
// it).
func TestModulesUpToDate(t *testing.T) {
	for _, relaxed := range []bool{false, true} {
		if !bytes.Equal(wasmsimd.Module(relaxed), wasmgen.Module(relaxed)) {
			t.Errorf("module (relaxed %v) differs from the generator's output: run go generate ./kernels/cpu/wasmsimd", relaxed)
		}
	}
}

// TestSIMD128UnderWazero runs the conformance table (and the split-K
// MatMuls of its large cases) through kernels/cpu's GEMM driver with each
// SIMD128 block kernel, executed by wazero, against the naive oracle; with
// one worker and with three (uneven splits, blocks in turn).
func TestSIMD128UnderWazero(t *testing.T) {
	ref := kernels.Checked(naive.Backend{})
	for _, k := range wazerosimd.Kernels(t) {
		for _, workers := range []int{1, 3} {
			b := kernels.Checked(cpu.NewWithBlockKernel(workers, k))
			t.Run(k.Name, func(t *testing.T) {
				if workers > 1 || testing.Short() {
					kerneltest.RunShort(t, b, ref)
					return
				}
				kerneltest.Run(t, b, ref)
				kerneltest.RunCases(t, b, ref, kerneltest.LargeCases()[:2])
			})
		}
	}
	t.Log("the relaxed-SIMD module is not run here (wazero 1.12 has no relaxed SIMD); Chromium runs it (wasmsimd_js_test.go)")
}
