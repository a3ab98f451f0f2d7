//go:build !js

// Package wazerosimd runs package wasmsimd's WebAssembly SIMD128 kernels
// natively, under wazero, as cpu.BlockKernels: so the conformance table and
// the TF.js reference test exercise the very module the browser runs,
// through kernels/cpu's GEMM driver, without a browser. It is test support
// (like kernels/kerneltest): slow, since every block is copied in and out
// of the module's memory.
package wazerosimd

import (
	"context"
	"sync"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/cpu/wasmsimd"
)

// memoryModule is a module that only defines and exports a memory of the
// given number of 64 KiB pages, instantiated as "env" for the kernels'
// import.
func memoryModule(pages int) []byte {
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	mem := []byte{1, 0x00}
	for v := pages; ; { // min pages, LEB128
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			mem = append(mem, c|0x80)
			continue
		}
		mem = append(mem, c)
		break
	}
	b = append(b, 5, byte(len(mem)))
	b = append(b, mem...)
	exp := []byte{1, 6, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0}
	b = append(b, 7, byte(len(exp)))
	return append(b, exp...)
}

// Kernels instantiates the plain SIMD128 module under wazero (which
// has no relaxed SIMD) and returns one cpu.BlockKernel per shape, with the
// module's pack_conv as its PackConv. Each call copies the block (for
// PackConv the image) into the module's memory, runs the function and
// copies the result back: the same arguments, relocated.
func Kernels(t testing.TB) []cpu.BlockKernel {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
	t.Cleanup(func() { r.Close(ctx) })
	const pages = 1024 // 64 MiB
	env, err := r.InstantiateWithConfig(ctx, memoryModule(pages), wazero.NewModuleConfig().WithName("env"))
	if err != nil {
		t.Fatalf("memory module: %v", err)
	}
	mod, err := r.InstantiateWithConfig(ctx, wasmsimd.Module(false), wazero.NewModuleConfig().WithName("gemm"))
	if err != nil {
		t.Fatalf("gemm module: %v", err)
	}
	memBytes, ok := env.Memory().Read(0, pages*65536)
	if !ok {
		t.Fatal("cannot read the memory")
	}
	mem := unsafe.Slice((*float32)(unsafe.Pointer(&memBytes[0])), len(memBytes)/4)
	var mu sync.Mutex // one block at a time in the one memory
	packFn := mod.ExportedFunction(wasmsimd.PackExport)
	if packFn == nil {
		t.Fatalf("no export %s", wasmsimd.PackExport)
	}
	// pack runs pack_conv on a copy of the whole image; the block comes
	// back into dst.
	pack := func(dst, src []float32, h, w, pix0, nc, k0, kc, nr int) {
		mu.Lock()
		defer mu.Unlock()
		nb := (nc + nr - 1) / nr * nr * kc
		offS, offD := 0, len(src)
		if offD+nb > len(mem) {
			t.Errorf("image and block of %d floats do not fit in the test memory", offD+nb)
			return
		}
		copy(mem[offS:], src)
		u := func(v int) uint64 { return api.EncodeI32(int32(v)) }
		if _, err := packFn.Call(context.Background(), u(4*offD), u(4*offS), u(h), u(w), u(pix0), u(nc), u(k0), u(kc), u(nr)); err != nil {
			t.Errorf("%s: %v", wasmsimd.PackExport, err)
			return
		}
		copy(dst[:nb], mem[offD:offD+nb])
	}
	var out []cpu.BlockKernel
	for _, s := range wasmsimd.Shapes() {
		fn := mod.ExportedFunction(s.Export)
		if fn == nil {
			t.Fatalf("no export %s", s.Export)
		}
		mr, nr := s.MR, s.NR
		out = append(out, cpu.BlockKernel{Name: wasmsimd.KernelName(s, false) + " (wazero)", MR: mr, NR: nr, PackConv: pack,
			Block: func(kc int, a []float32, aStride, panels, rowsLast int, b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32) {
				mu.Lock()
				defer mu.Unlock()
				rows := (panels-1)*mr + rowsLast
				cols := (bPanels-1)*nr + colsLast
				na := (panels-1)*aStride + kc*mr
				nb := bPanels * nr * kc
				nc := (rows-1)*ldc + cols
				offA, offB := 0, na
				offC := offB + nb
				offT := offC + nc
				if offT+mr*nr > len(mem) {
					t.Errorf("block of %d floats does not fit in the test memory", offT+mr*nr)
					return
				}
				copy(mem[offA:], a[:na])
				copy(mem[offB:], b[:nb])
				for r := 0; r < rows; r++ {
					copy(mem[offC+r*ldc:offC+r*ldc+cols], c[r*ldc:r*ldc+cols])
				}
				u := func(v int) uint64 { return api.EncodeI32(int32(v)) }
				if _, err := fn.Call(context.Background(), u(kc), u(4*offA), u(4*aStride), u(panels), u(rowsLast),
					u(4*offB), u(bPanels), u(colsLast), u(4*offC), u(4*ldc), u(4*offT)); err != nil {
					t.Errorf("%s: %v", s.Export, err)
					return
				}
				for r := 0; r < rows; r++ {
					copy(c[r*ldc:r*ldc+cols], mem[offC+r*ldc:offC+r*ldc+cols])
				}
			}})
	}
	return out
}
