package webgpu

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeExecutor stands in for exec.js on the host: it records what the Go
// half asks of it, so that tests can read the command stream and the
// uniforms without a GPU.
type fakeExecutor struct {
	buffers   map[uint32]int // live buffer ids → size
	pipelines map[uint32]fakePipeline
	runs      []fakeRun
	failNew   error  // returned by checked newBuffer calls
	failPipes string // returned by newPipelines as the device's error
	failRead  string // returned by the next read as the device's error
	destroyed bool
}

type fakePipeline struct {
	label, module, code, entry, bindings, constants string
}

type fakeRun struct {
	cmds []uint32
	uni  []byte
}

func newFake() *fakeExecutor {
	return &fakeExecutor{buffers: map[uint32]int{}, pipelines: map[uint32]fakePipeline{}}
}

func (f *fakeExecutor) newBuffer(id uint32, size int, label string, checked bool) error {
	if checked && f.failNew != nil {
		return f.failNew
	}
	f.buffers[id] = size
	return nil
}
func (f *fakeExecutor) freeBuffer(id uint32) { delete(f.buffers, id) }
func (f *fakeExecutor) newPipelines(ps []pipelineSpec) error {
	for _, p := range ps {
		f.pipelines[p.id] = fakePipeline{p.label, p.module, p.code, p.entry, p.bindings, p.constants}
	}
	if f.failPipes != "" {
		return &gpuError{msg: f.failPipes}
	}
	return nil
}
func (f *fakeExecutor) run(cmds []uint32, uni []byte) {
	f.runs = append(f.runs, fakeRun{append([]uint32(nil), cmds...), append([]byte(nil), uni...)})
}
func (f *fakeExecutor) write(id uint32, src []byte) {}
func (f *fakeExecutor) read(dst []byte, id uint32, off int) error {
	if f.destroyed {
		return fmt.Errorf("device destroyed")
	}
	if f.failRead != "" {
		msg := f.failRead
		f.failRead = ""
		return &gpuError{msg: msg}
	}
	clear(dst)
	return nil
}
func (f *fakeExecutor) lost() string             { return "" }
func (f *fakeExecutor) destroy()                 { f.destroyed = true }
func (f *fakeExecutor) limitWaits(time.Duration) {}

// fakeLimits are a small discrete GPU's.
var fakeLimits = limits{
	maxStorageBinding:  128 << 20,
	maxBuffer:          256 << 20,
	maxWorkgroupMemory: 16 << 10,
	maxStorageBuffers:  8,
	uniformAlign:       256,
}

// fakeAdapter is a hardware GPU's.
var fakeAdapter = adapter{info: "fake vendor gpu", vendor: "fake vendor", cores: 8}

// newFakeBackend returns a backend over a fake executor of a hardware GPU.
func newFakeBackend(t *testing.T) (*Backend, *fakeExecutor) {
	t.Helper()
	f := newFake()
	g, err := newBackend(f, fakeAdapter, fakeLimits, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g, f
}

// dispatch is one decoded cmdDispatch.
type dispatch struct {
	pipe      fakePipeline
	uniform   []uint32 // the slot's words
	groups    [3]uint32
	bufferIDs []uint32
}

// decode splits the stream of run r into its dispatches, failing t on an
// unknown command word.
func decode(t *testing.T, f *fakeExecutor, r fakeRun) []dispatch {
	t.Helper()
	var out []dispatch
	w := r.cmds
	for i := 0; i < len(w); {
		switch command(w[i]) {
		case cmdDispatch:
			nb := int(w[i+6])
			slot := int(w[i+2])
			uni := make([]uint32, 256/4)
			for k := range uni {
				uni[k] = binary.LittleEndian.Uint32(r.uni[slot*256+4*k:])
			}
			out = append(out, dispatch{pipe: f.pipelines[w[i+1]], uniform: uni,
				groups: [3]uint32{w[i+3], w[i+4], w[i+5]}, bufferIDs: w[i+7 : i+7+nb]})
			i += 7 + nb
		case cmdCopy:
			i += 6
		case cmdClear:
			i += 3
		default:
			t.Fatalf("unknown command word %d at %d", w[i], i)
		}
	}
	return out
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
