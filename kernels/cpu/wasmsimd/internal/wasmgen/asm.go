// Package wasmgen writes the WebAssembly module of package wasmsimd: the
// bytes of a tiny module that imports a memory and exports packed-panel GEMM
// block kernels in SIMD128 (gemm.go), from a minimal WebAssembly encoder
// (this file). It is deterministic: the same source gives the same bytes,
// which wasmsimd's tests check against the committed files.
package wasmgen

import "bytes"

// Value types and the function type of every exported kernel.
const (
	i32 = 0x7f
)

// Core opcodes used by the kernels.
const (
	opBlock    = 0x02
	opLoop     = 0x03
	opIf       = 0x04
	opElse     = 0x05
	opEnd      = 0x0b
	opReturn   = 0x0f
	opBr       = 0x0c
	opBrIf     = 0x0d
	opLocalGet = 0x20
	opLocalSet = 0x21
	opLocalTee = 0x22
	opF32Load  = 0x2a
	opF32Store = 0x38
	opI32Const = 0x41
	opI32Eqz   = 0x45
	opI32Eq    = 0x46
	opI32Ne    = 0x47
	opI32LtS   = 0x48
	opI32GtS   = 0x4a
	opI32LtU   = 0x49
	opI32GeS   = 0x4e
	opI32Add   = 0x6a
	opI32Sub   = 0x6b
	opI32Mul   = 0x6c
	opI32DivU  = 0x6e
	opI32RemU  = 0x70
	opI32And   = 0x71
	opI32Or    = 0x72
	opI32Shl   = 0x74
	opF32Const = 0x43
	opF32Add   = 0x92
	opSelect   = 0x1b
	blockVoid  = 0x40
	opSIMD     = 0xfd // prefix of the SIMD opcodes below (LEB128 after it)
)

// SIMD128 and relaxed-SIMD opcodes (after the 0xfd prefix).
const (
	simdV128Load       = 0x00
	simdV128Load32Spl  = 0x09
	simdV128Store      = 0x0b
	simdV128Const      = 0x0c
	simdF32x4Add       = 0xe4
	simdF32x4Mul       = 0xe6
	simdF32x4RelaxMadd = 0x105
)

// uleb appends the unsigned LEB128 encoding of v.
func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// sleb appends the signed LEB128 encoding of v.
func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// code is a function body under construction.
type code struct{ b []byte }

func (c *code) op(ops ...byte) { c.b = append(c.b, ops...) }
func (c *code) get(l int)      { c.b = uleb(append(c.b, opLocalGet), uint64(l)) }
func (c *code) set(l int)      { c.b = uleb(append(c.b, opLocalSet), uint64(l)) }
func (c *code) tee(l int)      { c.b = uleb(append(c.b, opLocalTee), uint64(l)) }
func (c *code) i32(v int32)    { c.b = sleb(append(c.b, opI32Const), int64(v)) }
func (c *code) br(depth int)   { c.b = uleb(append(c.b, opBr), uint64(depth)) }
func (c *code) brIf(depth int) { c.b = uleb(append(c.b, opBrIf), uint64(depth)) }
func (c *code) simd(op uint64) { c.b = uleb(append(c.b, opSIMD), op) }
func (c *code) block()         { c.op(opBlock, blockVoid) }

// addTo adds by to local l.
func (c *code) addTo(l int, by int32) {
	c.get(l)
	c.i32(by)
	c.op(opI32Add)
	c.set(l)
}

// minDiff pushes min(a - b, x - y) of the locals a, b, x, y (signed).
func (c *code) minDiff(a, b, x, y int) {
	for range 2 {
		c.get(a)
		c.get(b)
		c.op(opI32Sub)
		c.get(x)
		c.get(y)
		c.op(opI32Sub)
	}
	c.op(opI32LtS)
	c.op(opSelect)
}

// next ends a counted loop's body: local l += 1, and back to the loop's
// start while l < local lim (signed).
func (c *code) next(l, lim int) {
	c.get(l)
	c.i32(1)
	c.op(opI32Add)
	c.tee(l)
	c.get(lim)
	c.op(opI32LtS)
	c.brIf(0)
}
func (c *code) loop()   { c.op(opLoop, blockVoid) }
func (c *code) ifThen() { c.op(opIf, blockVoid) }
func (c *code) end()    { c.op(opEnd) }
func (c *code) memarg(align, off int) {
	c.b = uleb(uleb(c.b, uint64(align)), uint64(off))
}

// v128Load pushes the 16 bytes at the address on the stack plus off.
func (c *code) v128Load(off int) { c.simd(simdV128Load); c.memarg(4, off) }

// v128Store stores a v128 at the address below it on the stack plus off.
func (c *code) v128Store(off int) { c.simd(simdV128Store); c.memarg(4, off) }

// loadSplat pushes the f32 at the address on the stack plus off, in 4 lanes.
func (c *code) loadSplat(off int) { c.simd(simdV128Load32Spl); c.memarg(2, off) }

// zero pushes a v128 of zeros.
func (c *code) zero() { c.simd(simdV128Const); c.op(make([]byte, 16)...) }

func (c *code) f32Load(off int)  { c.op(opF32Load); c.memarg(2, off) }
func (c *code) f32Zero()         { c.op(opF32Const, 0, 0, 0, 0) }
func (c *code) f32Store(off int) { c.op(opF32Store); c.memarg(2, off) }

// function is one exported function: its parameter count (all i32), its
// extra locals by type, and its body.
type function struct {
	name   string
	params int
	i32s   int // extra i32 locals
	v128s  int // extra v128 locals
	body   code
}

// module assembles a module that imports "env"."memory" and exports funcs
// (every function has the type (i32 × params) → ()).
func module(funcs []function) []byte {
	var out bytes.Buffer
	out.Write([]byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00})
	section := func(id byte, payload []byte) {
		out.WriteByte(id)
		out.Write(uleb(nil, uint64(len(payload))))
		out.Write(payload)
	}
	name := func(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }

	// Types: one per distinct parameter count, in order of first use.
	var typeOf []int // function index → type index
	var arities []int
	for _, f := range funcs {
		t := -1
		for i, a := range arities {
			if a == f.params {
				t = i
			}
		}
		if t < 0 {
			t = len(arities)
			arities = append(arities, f.params)
		}
		typeOf = append(typeOf, t)
	}
	types := uleb(nil, uint64(len(arities)))
	for _, a := range arities {
		types = append(types, 0x60)
		types = uleb(types, uint64(a))
		for range a {
			types = append(types, i32)
		}
		types = append(types, 0) // no results
	}
	section(1, types)

	imports := uleb(nil, 1)
	imports = name(imports, "env")
	imports = name(imports, "memory")
	imports = append(imports, 0x02, 0x00, 0x00) // memory, limits: min 0, no max
	section(2, imports)

	fsec := uleb(nil, uint64(len(funcs)))
	for _, t := range typeOf {
		fsec = uleb(fsec, uint64(t))
	}
	section(3, fsec)

	exports := uleb(nil, uint64(len(funcs)))
	for i, f := range funcs {
		exports = name(exports, f.name)
		exports = append(exports, 0x00) // function
		exports = uleb(exports, uint64(i))
	}
	section(7, exports)

	codes := uleb(nil, uint64(len(funcs)))
	for _, f := range funcs {
		var body []byte
		groups := 0
		if f.i32s > 0 {
			groups++
		}
		if f.v128s > 0 {
			groups++
		}
		body = uleb(body, uint64(groups))
		if f.i32s > 0 {
			body = append(uleb(body, uint64(f.i32s)), i32)
		}
		if f.v128s > 0 {
			body = append(uleb(body, uint64(f.v128s)), 0x7b)
		}
		body = append(body, f.body.b...)
		body = append(body, opEnd)
		codes = uleb(codes, uint64(len(body)))
		codes = append(codes, body...)
	}
	section(10, codes)
	return out.Bytes()
}
