package webgpu

import (
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// allKernels is every pipeline the backend creates.
func allKernels() []*kernelSpec { return kernelSpecs() }

var (
	uniformUse  = regexp.MustCompile(`\bp\.([A-Za-z_][A-Za-z0-9_]*)`)
	sharedConst = regexp.MustCompile(`\b(?:OP|MODE)_[A-Z_]+\b|\b[A-Z]_IS_[A-Z]\b`)
	bindingDecl = regexp.MustCompile(`@binding\((\d+)\)\s*var<(uniform|storage,\s*read|storage,\s*read_write)>`)
	overrideDcl = regexp.MustCompile(`\boverride\s+([A-Za-z_][A-Za-z0-9_]*)`)
)

// TestShadersAgreeWithGo parses every .wgsl file and fails where it and the
// Go declarations of its module disagree: a Params struct of its own, a
// uniform field or shared constant Go does not declare (or one Go declares
// that the shader never reads), or a pipeline whose entry point, override
// constants or binding kinds are not the file's.
func TestShadersAgreeWithGo(t *testing.T) {
	modules := map[string]*module{}
	for _, k := range allKernels() {
		if m := modules[k.module.file]; m != nil && m != k.module {
			t.Errorf("%s: two modules for one file", k.module.file)
		}
		modules[k.module.file] = k.module
	}
	files, err := fs.Glob(wgslFiles, "*.wgsl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if modules[f] == nil {
			t.Errorf("%s has no module, or no pipeline uses it", f)
		}
	}

	for file, m := range modules {
		b, err := wgslFiles.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		src := string(b)
		if !strings.HasPrefix(src, "// "+file+" — ") {
			t.Errorf("%s does not open with its header comment", file)
		}
		if strings.Contains(src, "struct "+uniformName) {
			t.Errorf("%s declares struct %s itself: it is generated from %v", file, uniformName, m.params)
		}
		if !strings.Contains(src, "var<uniform> p: "+uniformName+";") {
			t.Errorf("%s: no `var<uniform> p: %s;`", file, uniformName)
		}
		fields := map[string]bool{}
		for i := 0; i < m.params.NumField(); i++ {
			fields[m.params.Field(i).Name] = false
		}
		for _, u := range uniformUse.FindAllStringSubmatch(src, -1) {
			if _, ok := fields[u[1]]; !ok {
				t.Errorf("%s reads p.%s, which %v does not declare", file, u[1], m.params)
			}
			fields[u[1]] = true
		}
		for name, used := range fields {
			if !used {
				t.Errorf("%v declares %s, which %s never reads", m.params, name, file)
			}
		}
		for _, c := range sharedConst.FindAllString(src, -1) {
			if !slices.ContainsFunc(m.consts, func(k wgslConst) bool { return k.name == c }) {
				t.Errorf("%s uses %s, which Go does not generate for it", file, c)
			}
		}
		kinds := map[int]byte{}
		for _, d := range bindingDecl.FindAllStringSubmatch(src, -1) {
			n, _ := strconv.Atoi(d[1])
			switch kind := strings.Join(strings.Fields(strings.ReplaceAll(d[2], ",", " ")), " "); kind {
			case "uniform":
				kinds[n] = bindUniform
			case "storage read":
				kinds[n] = bindRead
			default:
				kinds[n] = bindWrite
			}
		}
		overrides := overrideDcl.FindAllStringSubmatch(src, -1)
		for _, k := range allKernels() {
			if k.module != m {
				continue
			}
			if !regexp.MustCompile(`@compute[^\n]*\nfn ` + k.entry + `\(`).MatchString(src) {
				t.Errorf("%s: no compute entry point %s in %s", k.name, k.entry, file)
			}
			for i := 0; i < len(k.bindings); i++ {
				if c := k.bindings[i]; c != bindNone && kinds[i] != c {
					t.Errorf("%s: binding %d is %q in Go, %q in %s", k.name, i, c, kinds[i], file)
				}
			}
			for _, kv := range strings.Split(k.constants, ",") {
				name, _, _ := strings.Cut(kv, "=")
				if name != "" && !slices.ContainsFunc(overrides, func(o []string) bool { return o[1] == name }) {
					t.Errorf("%s: override constant %s is not declared in %s", k.name, name, file)
				}
			}
		}
	}
}

// TestWGSLStruct: the WGSL declaration generated from a Go params struct
// names its fields as Go does, in order, and pads it to 16 bytes.
func TestWGSLStruct(t *testing.T) {
	got := wgslStruct(reflect.TypeOf(matmulParams{}))
	want := "struct Params {\n  m: u32,\n  n: u32,\n  k: u32,\n  transA: u32,\n  transB: u32,\n  kc: u32,\n  S: u32,\n" +
		"  alpha: f32,\n  beta: f32,\n  tilesN: u32,\n  tiles: u32,\n  pad0: u32,\n}\n"
	if got != want {
		t.Errorf("wgslStruct(matmulParams) =\n%s\nwant\n%s", got, want)
	}
	if got, want := wgslConsts(reduceModes), "const MODE_SUM: u32 = 0u;\nconst MODE_DOT: u32 = 1u;\nconst MODE_TV: u32 = 2u;\n"; got != want {
		t.Errorf("wgslConsts(reduceModes) = %q, want %q", got, want)
	}
}

// TestEncodeUniform: bools are 0 or 1, floats their bits, padding zero.
func TestEncodeUniform(t *testing.T) {
	buf := make([]byte, 64)
	for i := range buf {
		buf[i] = 0xff
	}
	n := encodeUniform(buf, matmulParams{m: 1, n: 2, k: 3, transA: true, kc: 16, S: 4, alpha: -1, beta: 0.5})
	want := []uint32{1, 2, 3, 1, 0, 16, 4, 0xbf800000, 0x3f000000, 0, 0, 0} // tilesN, tiles, pad0 zero
	if n != 4*len(want) {
		t.Fatalf("encodeUniform wrote %d bytes, want %d", n, 4*len(want))
	}
	for i, w := range want {
		if got := uint32(buf[4*i]) | uint32(buf[4*i+1])<<8 | uint32(buf[4*i+2])<<16 | uint32(buf[4*i+3])<<24; got != w {
			t.Errorf("word %d = %#x, want %#x", i, got, w)
		}
	}
	if buf[4*len(want)] != 0xff {
		t.Error("encodeUniform wrote past the struct")
	}
}

// TestCheckParamsRejects: only structs of 32-bit words can be uniforms, and
// padding is the generator's.
func TestCheckParamsRejects(t *testing.T) {
	for name, v := range map[string]any{
		"int field":    struct{ n int }{},
		"pad field":    struct{ n, pad0 uint32 }{},
		"not a struct": uint32(0),
		"too big":      [1]struct{}{},
	} {
		if msg := panicOf(func() { checkParams(reflect.TypeOf(v)) }); !strings.HasPrefix(msg, "webgpu: uniform ") {
			t.Errorf("%s: panic %q, want a webgpu: uniform ... message", name, msg)
		}
	}
	var words []reflect.StructField
	for i := range 65 {
		words = append(words, reflect.StructField{Name: fmt.Sprintf("W%d", i), Type: reflect.TypeOf(uint32(0))})
	}
	if msg := panicOf(func() { checkParams(reflect.StructOf(words)) }); !strings.Contains(msg, "more than 256 bytes") {
		t.Errorf("65 words: panic %q, want the 256-byte limit", msg)
	}
}

// TestNoWorkgroupComponentStores: no shader stores into one component of a
// vector in workgroup memory (As[i][j] = …, As[i].x = …): WGSL lets such a
// store access the whole vector, so invocations writing different
// components of one vector race (Tint's HLSL read-merge-writes it). Every
// workgroup vector is written whole.
func TestNoWorkgroupComponentStores(t *testing.T) {
	wgVec := regexp.MustCompile(`var<workgroup>\s+(\w+)\s*:\s*array<\s*vec`)
	// After a vector's index: a second index or a swizzle, then an assignment.
	componentStore := regexp.MustCompile(`^\s*(\[[^\]]*\]|\.[xyzwrgba]+)\s*[-+*/]?=[^=]`)
	files, err := fs.Glob(wgslFiles, "*.wgsl")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		b, _ := wgslFiles.ReadFile(f)
		src := string(b)
		for _, m := range wgVec.FindAllStringSubmatch(src, -1) {
			found++
			name := m[1]
			for ln, line := range strings.Split(src, "\n") {
				code, _, _ := strings.Cut(line, "//")
				for i := strings.Index(code, name+"["); i >= 0; {
					if i > 0 && isIdent(code[i-1]) {
						break
					}
					// Skip the balanced index, then see what follows.
					j, depth := i+len(name), 0
					for ; j < len(code); j++ {
						if code[j] == '[' {
							depth++
						} else if code[j] == ']' {
							depth--
							if depth == 0 {
								break
							}
						}
					}
					if j >= len(code) {
						break // the index continues on the next line
					}
					if componentStore.MatchString(code[j+1:]) {
						t.Errorf("%s:%d stores one component of workgroup vector %s: %s", f, ln+1, name, strings.TrimSpace(line))
					}
					next := strings.Index(code[j+1:], name+"[")
					if next < 0 {
						break
					}
					i = j + 1 + next
				}
			}
		}
	}
	if found == 0 {
		t.Fatal("no workgroup vector found: the check checks nothing")
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
