//go:build js && wasm

package wasmsimd

import (
	"errors"
	"fmt"
	"runtime"
	"syscall/js"
	"unsafe"
)

// Kernel is one loaded block kernel.
type Kernel struct {
	Name    string
	Relaxed bool
	Shape
	fn   js.Value
	pack js.Value // its module's pack_conv
}

// Modes of Load.
const (
	ModeAuto    = ""        // relaxed SIMD where the browser has it, and plain SIMD128
	ModeSIMD128 = "simd128" // plain SIMD128 only (as in a browser without relaxed SIMD)
	ModeOff     = "off"     // none (as in a browser without SIMD): the pure-Go kernel
)

// Load instantiates the modules the browser can run on the Go program's
// memory and returns their kernels (relaxed ones first), or an error saying
// why there are none. mode is one of the Mode constants.
func Load(mode string) ([]*Kernel, error) {
	switch mode {
	case ModeOff:
		return nil, errors.New("wasmsimd: turned off (CREMA_WASM_SIMD=off)")
	case ModeAuto, ModeSIMD128:
	default:
		return nil, fmt.Errorf("wasmsimd: unknown mode %q (want \"\", %q or %q)", mode, ModeSIMD128, ModeOff)
	}
	wa := js.Global().Get("WebAssembly")
	if wa.Type() != js.TypeObject {
		return nil, errors.New("wasmsimd: no WebAssembly object")
	}
	mem := js.Global().Get("cremaGoMemory")
	if !mem.Truthy() || !mem.InstanceOf(wa.Get("Memory")) {
		return nil, errors.New("wasmsimd: the host did not expose Go's memory (globalThis.cremaGoMemory)")
	}
	if err := checkMemory(mem); err != nil {
		return nil, err
	}
	var out []*Kernel
	var reasons []string
	for _, relaxed := range []bool{true, false} {
		if relaxed && mode == ModeSIMD128 {
			continue
		}
		inst, err := instantiate(wa, mem, Module(relaxed))
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		exports := inst.Get("exports")
		for _, s := range Shapes() {
			out = append(out, &Kernel{Name: KernelName(s, relaxed), Relaxed: relaxed, Shape: s, fn: exports.Get(s.Export), pack: exports.Get(PackExport)})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("wasmsimd: no SIMD module loads here: %v", reasons)
	}
	return out, nil
}

// checkMemory verifies that mem is this program's memory: a value written
// from Go is read back through mem's buffer.
func checkMemory(mem js.Value) error {
	probe := []float32{1234.5}
	addr := uintptr(unsafe.Pointer(&probe[0]))
	view := js.Global().Get("Float32Array").New(mem.Get("buffer"), addr, 1)
	got := view.Index(0).Float()
	runtime.KeepAlive(probe)
	if got != 1234.5 {
		return errors.New("wasmsimd: globalThis.cremaGoMemory is not this Go program's memory")
	}
	return nil
}

// instantiate compiles bytes (synchronously: the modules are under the 4 KB
// that browsers allow on the main thread) and instantiates them on mem.
func instantiate(wa, mem js.Value, bytes []byte) (inst js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("wasmsimd: %v", r) // a js.Error: invalid module, LinkError
		}
	}()
	u8 := js.Global().Get("Uint8Array").New(len(bytes))
	js.CopyBytesToJS(u8, bytes)
	if !wa.Call("validate", u8).Bool() {
		return js.Value{}, fmt.Errorf("wasmsimd: this browser rejects the %s module", variant(bytes))
	}
	mod := wa.Get("Module").New(u8)
	imports := js.ValueOf(map[string]any{"env": map[string]any{"memory": mem}})
	return wa.Get("Instance").New(mod, imports), nil
}

func variant(b []byte) string {
	if &b[0] == &moduleRelaxed[0] {
		return "relaxed-SIMD"
	}
	return "SIMD128"
}

// addr is the address of s's first element in the Go program's memory
// (Go's wasm heap does not move).
func addr(s []float32) int { return int(uintptr(unsafe.Pointer(unsafe.SliceData(s)))) }

// Block runs the kernel on one packed block (the arguments are those of
// kernels/cpu's blockFunc: strides in floats; a, b, c and tile are slices of
// Go memory that hold the block).
func (k *Kernel) Block(kc int, a []float32, aStride, panels, rowsLast int,
	b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32) {
	k.fn.Invoke(kc, addr(a), aStride*4, panels, rowsLast, addr(b), bPanels, colsLast, addr(c), ldc*4, addr(tile))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
	runtime.KeepAlive(tile)
}

// PackConv packs a convolution's B block with the module's pack_conv (the
// arguments are kernels/cpu's PackConvFunc's; dst and src are slices of Go
// memory).
func (k *Kernel) PackConv(dst, src []float32, h, w, pix0, nc, k0, kc, nr int) {
	k.pack.Invoke(addr(dst), addr(src), h, w, pix0, nc, k0, kc, nr)
	runtime.KeepAlive(dst)
	runtime.KeepAlive(src)
}
