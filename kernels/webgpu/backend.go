package webgpu

import (
	"fmt"
	"strings"
	"sync"

	"github.com/crema-app/crema/kernels"
)

// Backend runs every operation as a WGSL compute shader on the browser's GPU
// (Open). Operations are only recorded; they are submitted in one batch at
// Read, Write or every maxPendingDispatches dispatches, so nothing but what
// Read asks for comes back to the host. Read must not be called from inside
// a js.FuncOf callback (it waits for a Promise). After a device loss every
// operation is a no-op and Read returns an error wrapping
// kernels.ErrDeviceLost.
type Backend struct {
	mu       sync.Mutex
	ex       executor
	info     string
	limits   limits
	software bool // a CPU implementation (SwiftShader, lavapipe)

	// The recorded, not yet submitted work (stream.go).
	cmds       []uint32
	uni        []byte
	slots      int // uniform slots used in uni
	dispatches int
	submits    int

	lost    bool
	lostMsg string
	err     error // a failure to report at the next Read

	nextID uint32
	pipes  map[string]uint32 // pipeline ids by kernelSpec name
	pool   map[int][]uint32  // freed buffer ids by size
	pooled int64             // bytes in pool
	live   int64             // bytes of live tensors (scratch included)
	doomed []uint32          // buffers to destroy after the next flush

	dummy   *tensor // bound where an operation has no tensor for a binding
	scratch [numScratch]*tensor
	flipped map[*tensor]*derived // conv weights → w' of the backward conv
	tables  map[[2]int]*tensor   // (scols, dcols) → ResampleRows column map

	convK    map[convTile]*convKernels // conv pipelines by tile shape
	convTile convTile                  // tests: the tile conv uses when set
	convS    int                       // tests: the split-K slices conv asks for when set
}

var _ kernels.Backend = (*Backend)(nil)

// newBackend returns the Go half of a backend over the executor ex of an
// adapter described by info, with lim its limits.
func newBackend(ex executor, info string, lim limits) (*Backend, error) {
	// Byte sizes and offsets travel as uint32 words in the command stream
	// and elements are indexed with u32 in WGSL.
	lim.maxBuffer = min(lim.maxBuffer, 1<<32-16)
	lim.maxStorageBinding = min(lim.maxStorageBinding, 1<<32-16)
	lim.uniformAlign = max(lim.uniformAlign, 256)
	low := strings.ToLower(info)
	g := &Backend{
		ex:     ex,
		info:   info,
		limits: lim,
		software: strings.Contains(low, "swiftshader") || strings.Contains(low, "llvmpipe") ||
			strings.Contains(low, "lavapipe") || strings.Contains(low, "cpu"),
		pipes:   map[string]uint32{},
		pool:    map[int][]uint32{},
		flipped: map[*tensor]*derived{},
		tables:  map[[2]int]*tensor{},
		convK:   map[convTile]*convKernels{},
	}
	var err error
	if g.dummy, err = g.newTensor(4, "crema dummy"); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Backend) Name() string { return "webgpu" }

func (g *Backend) Describe() string { return "WebGPU: " + g.info }

// gt returns t as a tensor of this backend. A tensor of another backend, or
// a freed one, panics: its id would name another buffer or none.
func (g *Backend) gt(t kernels.Tensor) *tensor {
	x, ok := t.(*tensor)
	if !ok || x.owner != g {
		panic(fmt.Sprintf("webgpu: tensor %T does not belong to this backend", t))
	}
	if x.freed {
		panic("webgpu: use of a freed tensor")
	}
	return x
}

// DestroyDevice destroys the GPU device under b, a WebGPU backend (checked
// or not), as a driver reset would: later operations do nothing and Read
// returns an error wrapping kernels.ErrDeviceLost. It is for tests of the
// fallback path; on other backends it does nothing.
func DestroyDevice(b kernels.Backend) {
	for {
		u, ok := b.(interface{ Unwrap() kernels.Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	if g, ok := b.(*Backend); ok {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.ex.destroy()
	}
}

// ---- memory ----

func (g *Backend) Alloc(n int) (kernels.Tensor, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lost {
		return nil, g.lostError()
	}
	t, err := g.newTensor(n, "")
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (g *Backend) Free(t kernels.Tensor) {
	if t == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	x := g.gt(t)
	if d := g.flipped[x]; d != nil {
		g.release(d.t)
		delete(g.flipped, x)
	}
	g.release(x)
}

func (g *Backend) Write(dst kernels.Tensor, src []float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.upload(g.gt(dst), src)
}

func (g *Backend) Read(dst []float32, src kernels.Tensor) error {
	return g.ReadAt(dst, src, 0)
}

func (g *Backend) ReadAt(dst []float32, src kernels.Tensor, off int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.gt(src)
	if g.err != nil && !g.lost {
		err := g.err
		g.err = nil
		return err
	}
	return g.download(dst, s, off)
}

func (g *Backend) Copy(dst, src kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d, s := g.gt(dst), g.gt(src)
	if d != s {
		g.copyBuffer(d, 0, s, 0, d.n)
	}
}
