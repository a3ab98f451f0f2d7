package webgpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// A shader's uniform struct is declared once, as a Go struct whose fields are
// named exactly as the shader reads them (p.M, p.kc, ...): wgslStruct
// generates the WGSL declaration from it and encodeUniform writes its bytes.
// A field is one 32-bit word: uint32 (or a type defined on it, such as
// elemOp) is u32, float32 is f32 and bool is a u32 of 0 or 1 (WGSL has no
// host-shareable bool). The struct is padded to a multiple of 16 bytes.

// uniformName is the WGSL name of every generated uniform struct.
const uniformName = "Params"

// wgslType returns the WGSL type of a uniform field of Go type t.
func wgslType(t reflect.Type) (string, bool) {
	switch t.Kind() {
	case reflect.Uint32, reflect.Bool:
		return "u32", true
	case reflect.Float32:
		return "f32", true
	}
	return "", false
}

// checkParams panics unless t is a struct of uniform fields that fits in
// one uniform slot of WebGPU's smallest offset alignment (256 bytes).
func checkParams(t reflect.Type) {
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("webgpu: uniform params %v is not a struct", t))
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, ok := wgslType(f.Type); !ok {
			panic(fmt.Sprintf("webgpu: uniform field %v.%s has type %v, want uint32, float32 or bool", t, f.Name, f.Type))
		}
		if strings.HasPrefix(f.Name, "pad") {
			panic(fmt.Sprintf("webgpu: uniform field %v.%s: pad fields are generated", t, f.Name))
		}
	}
	if uniformWords(t)*4 > 256 {
		panic(fmt.Sprintf("webgpu: uniform params %v take more than 256 bytes", t))
	}
}

// uniformWords is the 32-bit words of t's struct, padding included.
func uniformWords(t reflect.Type) int {
	return (t.NumField() + 3) &^ 3
}

// wgslStruct returns the WGSL declaration of the uniform struct t.
func wgslStruct(t reflect.Type) string {
	var b strings.Builder
	fmt.Fprintf(&b, "struct %s {\n", uniformName)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		typ, _ := wgslType(f.Type)
		fmt.Fprintf(&b, "  %s: %s,\n", f.Name, typ)
	}
	for i := t.NumField(); i < uniformWords(t); i++ {
		fmt.Fprintf(&b, "  pad%d: u32,\n", i-t.NumField())
	}
	b.WriteString("}\n")
	return b.String()
}

// encodeUniform writes params, a struct checked by checkParams, into dst as
// little-endian words (padding zeroed) and returns the bytes written.
func encodeUniform(dst []byte, params any) int {
	v := reflect.ValueOf(params)
	n := uniformWords(v.Type())
	for i := 0; i < n; i++ {
		var w uint32
		if i < v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Uint32:
				w = uint32(f.Uint())
			case reflect.Float32:
				w = math.Float32bits(float32(f.Float()))
			case reflect.Bool:
				if f.Bool() {
					w = 1
				}
			}
		}
		binary.LittleEndian.PutUint32(dst[4*i:], w)
	}
	return 4 * n
}

// wgslConst is a named u32 constant Go shares with a shader: an operation
// code the shader switches on.
type wgslConst struct {
	name  string
	value uint32
}

// wgslConsts returns the WGSL declarations of cs.
func wgslConsts(cs []wgslConst) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "const %s: u32 = %du;\n", c.name, c.value)
	}
	return b.String()
}
