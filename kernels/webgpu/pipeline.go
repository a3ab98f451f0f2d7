package webgpu

import (
	"embed"
	"fmt"
	"reflect"
)

//go:embed *.wgsl
var wgslFiles embed.FS

// module is one .wgsl file and what Go declares for it: the struct of its
// uniform p and the constants it switches on.
type module struct {
	file   string
	params reflect.Type
	consts []wgslConst
}

// newModule declares file's uniform struct by a value of its Go type; it
// panics (at package initialisation) when the type cannot be a uniform.
func newModule(file string, params any, consts ...wgslConst) *module {
	t := reflect.TypeOf(params)
	checkParams(t)
	return &module{file: file, params: t, consts: consts}
}

// source is the module's WGSL: the file as written, then the declarations
// generated from Go (after the file, so that compiler messages keep the
// file's line numbers; WGSL declarations may come in any order).
func (m *module) source() string {
	src, err := wgslFiles.ReadFile(m.file)
	if err != nil {
		panic("webgpu: missing shader " + m.file)
	}
	return string(src) + "\n// ---- generated from Go by kernels/webgpu (uniform.go) ----\n" +
		wgslStruct(m.params) + wgslConsts(m.consts)
}

// The binding kinds of a kernelSpec, one character per binding number. exec.js
// gets them as BIND.UNIFORM, BIND.READ, BIND.WRITE and BIND.NONE.
const (
	bindUniform = 'u' // the uniform p, one slot of the uniform ring
	bindRead    = 'r' // a read-only storage buffer
	bindWrite   = 'w' // a read-write storage buffer
	bindNone    = '-' // a binding number the entry point does not use
)

// kernelSpec names one compute pipeline: an entry point of a module, its
// binding layout and its override constants.
type kernelSpec struct {
	name      string // label, unique
	module    *module
	entry     string
	bindings  string // one of bindUniform ... per binding number
	constants string // "NAME=v,..." or ""
}

// pipeline returns the id of k's pipeline, creating it on first use.
func (g *Backend) pipeline(k *kernelSpec) uint32 {
	if id, ok := g.pipes[k.name]; ok {
		return id
	}
	id := uint32(len(g.pipes))
	g.ex.newPipeline(id, "crema "+k.name, k.module.file, k.module.source(), k.entry, k.bindings, k.constants)
	g.pipes[k.name] = id
	return id
}

// checkUniform panics unless params is a value of k's uniform struct.
func (k *kernelSpec) checkUniform(params any) {
	if t := reflect.TypeOf(params); t != k.module.params {
		panic(fmt.Sprintf("webgpu: %s takes uniform %v, got %v", k.name, k.module.params, t))
	}
}
