package webgpu

import (
	"embed"
	"errors"
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
	text   string // the WGSL itself instead of the file's (brokenModule)
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
	src := m.text
	if src == "" {
		b, err := wgslFiles.ReadFile(m.file)
		if err != nil {
			panic("webgpu: missing shader " + m.file)
		}
		src = string(b)
	}
	return src + "\n// ---- generated from Go by kernels/webgpu (uniform.go) ----\n" +
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

// kernelSpecs is every pipeline the backend uses; newBackend creates them
// all before the first operation.
func kernelSpecs() []*kernelSpec {
	ks := []*kernelSpec{kElementwise, kAdam, kTVGrad, kPartial, kFinish, kDotsPartial, kDotsFinish, kRowSum, kScatter, kResample,
		kPoolFwd, kPoolBwd, kSortInit, kSortLocal, kSortGlobal, kSortFinal, kMatMul, kMatMulSum, kConvFlip, kConvFwdSum, kConvBwdSum}
	for _, tile := range convTiles {
		ck := convKernelsOf[tile]
		ks = append(ks, ck.fwd, ck.bwd)
	}
	return ks
}

// brokenModule is a shader that does not compile (a float assigned to a
// u32), for FaultPipeline.
var brokenModule = &module{file: "broken.wgsl", params: reflect.TypeOf(flipParams{}),
	text: "// broken.wgsl — FaultPipeline: a type error, on purpose\n" +
		"@group(0) @binding(0) var<uniform> p: Params;\n" +
		"@compute @workgroup_size(1)\nfn main() {\n  let x: u32 = 1.5;\n  _ = x + p.n;\n}\n"}

// makePipelines creates every pipeline of kernelSpecs (and, for
// FaultPipeline, one that does not compile) in parallel, and waits for them.
func (g *Backend) makePipelines() error {
	ks := kernelSpecs()
	if g.fault == FaultPipeline {
		ks = append(ks, &kernelSpec{name: "broken", module: brokenModule, entry: "main", bindings: "u"})
	}
	ps := make([]pipelineSpec, len(ks))
	for i, k := range ks {
		if _, dup := g.pipes[k.name]; dup {
			panic("webgpu: two pipelines named " + k.name)
		}
		g.pipes[k.name] = uint32(i)
		ps[i] = pipelineSpec{id: uint32(i), label: "crema " + k.name, module: k.module.file, code: k.module.source(),
			entry: k.entry, bindings: k.bindings, constants: k.constants}
	}
	if err := g.ex.newPipelines(ps); errors.As(err, new(*waitError)) {
		return devErr(true, "%v", err)
	} else if err != nil {
		return devErr(false, "webgpu: compiling the shaders: %v", err)
	}
	return nil
}

// pipeline returns the id of k's pipeline, made by makePipelines.
func (g *Backend) pipeline(k *kernelSpec) uint32 {
	id, ok := g.pipes[k.name]
	if !ok {
		panic("webgpu: pipeline " + k.name + " is not in kernelSpecs")
	}
	return id
}

// checkUniform panics unless params is a value of k's uniform struct.
func (k *kernelSpec) checkUniform(params any) {
	if t := reflect.TypeOf(params); t != k.module.params {
		panic(fmt.Sprintf("webgpu: %s takes uniform %v, got %v", k.name, k.module.params, t))
	}
}
