package webgpu

import (
	"errors"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
)

// TestStreamCarriesNamedWordsAndUniform: Fill is recorded as one cmdDispatch
// of the elementwise pipeline, whose uniform slot holds elementwiseParams'
// words in declaration order and whose shader source carries the struct and
// the constants generated from Go.
func TestStreamCarriesNamedWordsAndUniform(t *testing.T) {
	g, f := newFakeBackend(t)
	x, err := g.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	g.Fill(x, 2.5)
	if len(f.runs) != 0 {
		t.Fatalf("%d submissions before Read, want the work only recorded", len(f.runs))
	}
	if err := g.Read(make([]float32, 10), x); err != nil {
		t.Fatal(err)
	}
	if len(f.runs) != 1 {
		t.Fatalf("%d submissions, want 1", len(f.runs))
	}
	ds := decode(t, f, f.runs[0])
	if len(ds) != 1 {
		t.Fatalf("%d dispatches, want 1", len(ds))
	}
	d := ds[0]
	if d.pipe.label != "crema elementwise" || d.pipe.entry != "main" || d.pipe.bindings != "uwrr" || d.pipe.module != "elementwise.wgsl" {
		t.Errorf("pipeline %+v, want elementwise.wgsl's main with bindings uwrr", d.pipe)
	}
	want := []uint32{10, uint32(opFill), 0, 1, math.Float32bits(2.5), 0, 0, 0}
	for i, w := range want {
		if d.uniform[i] != w {
			t.Fatalf("uniform words %v, want %v (n, op, flags, cols, s0, padding)", d.uniform[:8], want)
		}
	}
	dummy := g.dummy.id
	if ids := d.bufferIDs; len(ids) != 3 || ids[0] != x.(*tensor).id || ids[1] != dummy || ids[2] != dummy {
		t.Errorf("buffers %v, want [x dummy dummy]", ids)
	}
	if d.groups != [3]uint32{1, 1, 1} {
		t.Errorf("workgroups %v, want 1×1×1 for 10 elements", d.groups)
	}
	code := d.pipe.code
	if !strings.HasPrefix(code, "// elementwise.wgsl") ||
		!contains(code, "struct Params {\n  n: u32,\n  op: u32,\n  flags: u32,\n  cols: u32,\n  s0: f32,\n  pad0: u32,\n  pad1: u32,\n  pad2: u32,\n}\n",
			"const OP_FILL: u32 = 0u;\n", "const OP_RELU_MASK: u32 = 8u;\n", "const A_IS_D: u32 = 1u;\n", "const B_IS_D: u32 = 2u;\n") {
		t.Errorf("elementwise source lacks the file or the generated declarations:\n%s", code[max(0, len(code)-600):])
	}
}

// TestDispatchChecksItsUniform: a dispatch with another module's uniform, or
// the wrong number of tensors, is a programming error.
func TestDispatchChecksItsUniform(t *testing.T) {
	g, _ := newFakeBackend(t)
	x := g.dummy
	for name, f := range map[string]func(){
		"uniform": func() { g.dispatch(kElementwise, poolParams{}, 1, 1, 1, x, x, x) },
		"tensors": func() { g.dispatch(kElementwise, elementwiseParams{}, 1, 1, 1, x, x) },
	} {
		msg := panicOf(f)
		if !strings.HasPrefix(msg, "webgpu: elementwise ") {
			t.Errorf("%s: panic %q, want one naming the pipeline", name, msg)
		}
	}
}

func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
		}
	}()
	f()
	return ""
}

// TestAllocLimitsAndReuse: the per-buffer limit and the budget are errors
// that say which; a freed buffer is reused and cleared by cmdClear.
func TestAllocLimitsAndReuse(t *testing.T) {
	g, f := newFakeBackend(t)
	if _, err := g.Alloc(1 << 40); err == nil || !contains(err.Error(), "webgpu: cannot allocate 1099511627776 floats", "per buffer") {
		t.Errorf("Alloc(2^40): err = %v, want the per-buffer limit", err)
	}
	f.failNew = errors.New("out of memory")
	if _, err := g.Alloc(checkedAllocBytes / 4); err == nil || !contains(err.Error(), "webgpu: cannot allocate", "out of memory") {
		t.Errorf("Alloc failing on the device: err = %v, want its message", err)
	}
	f.failNew = nil
	g.SetBudget(8 << 20)
	a, err := g.Alloc(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Alloc(1 << 20); err == nil || !contains(err.Error(), "budget is 8.0 MiB") || !errors.Is(err, kernels.ErrDevice) {
		t.Errorf("Alloc past the budget: err = %v, want the budget, wrapping kernels.ErrDevice", err)
	}
	id := a.(*tensor).id
	g.Free(a)
	b, err := g.Alloc(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if b.(*tensor).id != id {
		t.Errorf("a freed buffer of the same size was not reused")
	}
	g.flush()
	w := f.runs[len(f.runs)-1].cmds
	if len(w) != 3 || command(w[0]) != cmdClear || w[1] != id || w[2] != 4<<20 {
		t.Errorf("stream %v, want [cmdClear %d %d]", w, id, 4<<20)
	}
}

// TestDeviceLost: once a read fails the device is lost for good: every
// later Read and Alloc wraps kernels.ErrDeviceLost and nothing is recorded.
func TestDeviceLost(t *testing.T) {
	g, f := newFakeBackend(t)
	x, err := g.Alloc(4)
	if err != nil {
		t.Fatal(err)
	}
	DestroyDevice(kernels.Checked(g))
	if !f.destroyed {
		t.Fatal("DestroyDevice of a checked backend did not reach the device")
	}
	err = g.Read(make([]float32, 4), x)
	if !errors.Is(err, kernels.ErrDeviceLost) || !errors.Is(err, kernels.ErrDevice) || err.Error() != "webgpu: the GPU device was lost (device destroyed)" {
		t.Fatalf("Read after the loss: %v, want webgpu: ... wrapping ErrDeviceLost", err)
	}
	g.Fill(x, 1)
	if len(g.cmds) != 0 {
		t.Errorf("%d words recorded after the loss, want none", len(g.cmds))
	}
	if _, err := g.Alloc(4); !errors.Is(err, kernels.ErrDeviceLost) {
		t.Errorf("Alloc after the loss: %v, want ErrDeviceLost", err)
	}
}

// TestProtocolNamesEveryCommand: exec.js receives every command word and
// binding kind by name, uses each, and writes none of their values itself.
func TestProtocolNamesEveryCommand(t *testing.T) {
	op, bind := protocol()
	if len(op) != 3 || op["DISPATCH"] != uint32(cmdDispatch) || op["COPY"] != uint32(cmdCopy) || op["CLEAR"] != uint32(cmdClear) {
		t.Errorf("OP = %v", op)
	}
	if len(bind) != 4 || bind["UNIFORM"] != "u" || bind["READ"] != "r" || bind["WRITE"] != "w" || bind["NONE"] != "-" {
		t.Errorf("BIND = %v", bind)
	}
	src, err := os.ReadFile("exec.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(src)
	for name := range op {
		if !strings.Contains(js, "OP."+name) {
			t.Errorf("exec.js never uses OP.%s", name)
		}
	}
	for name := range bind {
		if !strings.Contains(js, "BIND."+name) {
			t.Errorf("exec.js never uses BIND.%s", name)
		}
	}
	if m := regexp.MustCompile(`op === \d|=== "[urw-]"`).FindString(js); m != "" {
		t.Errorf("exec.js compares with a literal (%q): use the names Go passes", m)
	}
}
