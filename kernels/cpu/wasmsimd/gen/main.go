// Command gen writes package wasmsimd's WebAssembly modules from
// internal/wasmgen: gemm_simd128.wasm (f32x4.mul + f32x4.add) and
// gemm_relaxed.wasm (f32x4.relaxed_madd). Run it with go generate in
// kernels/cpu/wasmsimd; TestModulesUpToDate fails when the committed files
// differ from what it would write.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/crema-app/crema/kernels/cpu/wasmsimd/internal/wasmgen"
)

func main() {
	dir := flag.String("o", ".", "output directory")
	flag.Parse()
	for name, relaxed := range map[string]bool{"gemm_simd128.wasm": false, "gemm_relaxed.wasm": true} {
		if err := os.WriteFile(filepath.Join(*dir, name), wasmgen.Module(relaxed), 0o644); err != nil {
			log.Fatalf("gen: %v", err)
		}
	}
}
