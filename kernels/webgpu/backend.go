package webgpu

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/crema-app/crema/kernels"
)

// Backend runs every operation as a WGSL compute shader on the browser's GPU
// (Open). Operations are only recorded; they are submitted in one batch at
// Read, Write or every maxPendingDispatches dispatches, so nothing but what
// Read asks for comes back to the host. Read must not be called from inside
// a js.FuncOf callback (it waits for a Promise).
//
// Errors are never silent. Every batch runs inside error scopes (validation,
// out of memory, internal) whose verdicts Read awaits before it trusts the
// data; every pipeline is compiled when the backend opens. Once the device
// reports an error or is lost, the backend is broken: every operation is a
// no-op, the device is released, and Read and Alloc return an error that
// wraps kernels.ErrDevice (and kernels.ErrDeviceLost for a loss) and says
// what happened. Allocations beyond the budget or the adapter's limits fail
// with an error that wraps kernels.ErrDevice too, without breaking it.
type Backend struct {
	mu       sync.Mutex
	ex       executor
	adapter  adapter
	limits   limits
	software bool  // a CPU implementation (SwiftShader, lavapipe)
	parallel int   // workgroups the adapter runs at once (adapter.parallelism)
	budget   int64 // bytes it may keep allocated (the adapter's budget, or SetBudget's)
	fault    Fault // the failure a test asked for (Options.Fault)

	// The recorded, not yet submitted work (stream.go).
	cmds       []uint32
	uni        []byte
	slots      int // uniform slots used in uni
	dispatches int // pending in cmds
	stats      Stats
	poison     bool // InjectFault(FaultValidation): make the next batch invalid
	oom        bool // InjectFault(FaultOutOfMemory): fail the next new buffer

	broken error // why the device is unusable (lost or failed); nil while it works
	err    error // an allocation failure inside an operation, for the next Read
	last   error // the last error wrapping kernels.ErrDevice returned (LastError)

	nextID uint32
	pipes  map[string]uint32 // pipeline ids by kernelSpec name, all made at Open
	pool   map[int][]uint32  // freed buffer ids by size
	pooled int64             // bytes in pool
	live   int64             // bytes of live tensors (scratch included)
	doomed []uint32          // buffers to destroy after the next flush

	dummy   *tensor // bound where an operation has no tensor for a binding
	scratch [numScratch]*tensor
	flipped map[*tensor]*derived // conv weights → w' of the backward conv
	tables  map[[2]int]*tensor   // (scols, dcols) → ResampleRows column map

	convTile convTile // tests: the tile conv uses when set
	convS    int      // tests: the split-K slices conv and MatMul ask for when set
}

var _ kernels.Backend = (*Backend)(nil)

// Fault names a failure a test of the error paths asks for (Options.Fault,
// InjectFault). The zero value is none.
type Fault string

const (
	// FaultPipeline adds a pipeline whose shader does not compile to those
	// made at Open, which then fails.
	FaultPipeline Fault = "pipeline"
	// FaultSelfTest makes SelfTest find a wrong value, as a driver bug would.
	FaultSelfTest Fault = "selftest"
	// FaultValidation (InjectFault only) makes the next submitted batch
	// invalid, as an invalid dispatch would: its work is lost and the next
	// Read fails with the device's validation error.
	FaultValidation Fault = "validation"
	// FaultOutOfMemory (InjectFault only) makes the next allocation of a new
	// buffer fail as the device's out-of-memory error would.
	FaultOutOfMemory Fault = "oom"
	// FaultHang makes every read wait forever, as a GPU that stops
	// answering would; each gives up after HangWait.
	FaultHang Fault = "hang"
)

// HangWait is how long a read waits under FaultHang: short, so that tests
// of a GPU that stops answering need not wait OpenWait.
const HangWait = 2 * time.Second

// OpenWait is how long opening the backend (OpenWith, then SelfTest and
// whatever else runs before Opened) waits for each answer of the GPU — the
// adapter, the device, a buffer, a readback — and, while the shaders
// compile, for the next pipeline to finish, before it gives up with an
// error that says what did not answer. A GPU, driver or browser that never
// answers would otherwise leave the page waiting for its backend for good;
// it costs the visitor that long, and "auto" falls back to the CPU. Compilation as a whole may take longer: 59 s for 47
// pipelines on SwiftShader without disable_workgroup_init (BENCHMARKS.md),
// up to 5 s for one.
const OpenWait = 45 * time.Second

// Options configure OpenWith; the zero value is what Open uses.
type Options struct {
	// Fault makes Open or the self-test fail on purpose (FaultPipeline,
	// FaultSelfTest, FaultHang), for tests of the error paths.
	Fault Fault
}

// waitError says that the GPU did not answer within wait.
type waitError struct {
	what string // what was awaited
	wait time.Duration
}

func (e *waitError) Error() string {
	return fmt.Sprintf("webgpu: the GPU did not answer within %v (%s)", e.wait, e.what)
}

// Opened ends the opening: from here on, waits for the GPU have no limit
// (a run's readback waits for as much work as the run queued, which at a
// large size on a slow GPU may take longer than OpenWait).
func (g *Backend) Opened() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ex.limitWaits(0)
}

// newBackend returns the Go half of a backend over the executor ex of
// adapter a with limits lim, and creates every pipeline.
func newBackend(ex executor, a adapter, lim limits, opt Options) (*Backend, error) {
	// Byte sizes and offsets travel as uint32 words in the command stream
	// and elements are indexed with u32 in WGSL.
	lim.maxBuffer = min(lim.maxBuffer, 1<<32-16)
	lim.maxStorageBinding = min(lim.maxStorageBinding, 1<<32-16)
	lim.uniformAlign = max(lim.uniformAlign, 256)
	g := &Backend{
		ex:       ex,
		adapter:  a,
		limits:   lim,
		software: a.isSoftware(),
		parallel: a.parallelism(),
		budget:   budget(lim, a),
		fault:    opt.Fault,
		pipes:    map[string]uint32{},
		pool:     map[int][]uint32{},
		flipped:  map[*tensor]*derived{},
		tables:   map[[2]int]*tensor{},
	}
	if err := g.makePipelines(); err != nil {
		return nil, err
	}
	var err error
	if g.dummy, err = g.newTensor(4, "crema dummy"); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Backend) Name() string { return "webgpu" }

func (g *Backend) Describe() string { return "WebGPU: " + g.adapter.info }

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

// Stats are cumulative counts of what a backend sent to its device, for
// measuring how much crosses to the GPU per iteration.
type Stats struct {
	Dispatches int // compute dispatches recorded
	Submits    int // command buffers submitted (batches)
	Reads      int // readbacks (Read and ReadAt calls that reached the device)
}

// Counters returns the cumulative Stats of b, a WebGPU backend (checked or
// not); on other backends it returns zero Stats.
func Counters(b kernels.Backend) Stats {
	if g := unwrap(b); g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.stats
	}
	return Stats{}
}

// unwrap returns the *Backend under b's wrappers, or nil.
func unwrap(b kernels.Backend) *Backend {
	for {
		u, ok := b.(interface{ Unwrap() kernels.Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	g, _ := b.(*Backend)
	return g
}

// DestroyDevice destroys the GPU device under b, a WebGPU backend (checked
// or not), as a driver reset would: later operations do nothing and Read
// returns an error wrapping kernels.ErrDeviceLost. It is for tests of the
// fallback path; on other backends it does nothing.
func DestroyDevice(b kernels.Backend) {
	if g := unwrap(b); g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.ex.destroy()
	}
}

// InjectFault makes b, a WebGPU backend (checked or not), fail as fault
// says, for tests of the error paths: FaultValidation makes the next
// submitted batch invalid, FaultOutOfMemory the next new buffer fail. On
// other backends it does nothing.
func InjectFault(b kernels.Backend, fault Fault) {
	if g := unwrap(b); g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		switch fault {
		case FaultValidation:
			g.poison = true
		case FaultOutOfMemory:
			g.oom = true
		}
	}
}

// Close releases the device. The backend is broken from then on.
func (g *Backend) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken == nil {
		g.broken = devErr(false, "webgpu: the backend was closed")
		g.ex.destroy()
	}
}

// LastError is the last error wrapping kernels.ErrDevice that the backend
// returned (kernels.LastError reads it through wrappers), or nil.
func (g *Backend) LastError() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// Budget is the number of bytes the backend lets itself allocate at once
// (see budget), and the largest tensor it can hold, in bytes (the adapter's
// maxBufferSize and maxStorageBufferBindingSize).
func (g *Backend) Budget() (total, perTensor int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.budget, min(g.limits.maxBuffer, g.limits.maxStorageBinding)
}

// SetBudget replaces the budget (tests; a shell that knows better).
func (g *Backend) SetBudget(bytes int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.budget = bytes
}

// devErr is a device error (a *kernels.DeviceError: it wraps
// kernels.ErrDevice, and kernels.ErrDeviceLost when lost) with the text of
// format and args.
func devErr(lost bool, format string, args ...any) error {
	return &kernels.DeviceError{Msg: fmt.Sprintf(format, args...), Lost: lost}
}

// fail records err (which wraps kernels.ErrDevice) as the last error and
// returns it.
func (g *Backend) fail(err error) error {
	if errors.Is(err, kernels.ErrDevice) {
		g.last = err
	}
	return err
}

// breakDown makes the backend unusable for good because of err (which wraps
// kernels.ErrDevice), releases the device unless it is already gone, and
// returns err.
func (g *Backend) breakDown(err error, release bool) error {
	if g.broken == nil {
		g.broken = err
		if release {
			g.ex.destroy()
		}
	}
	return g.fail(g.broken)
}

// ---- memory ----

func (g *Backend) Alloc(n int) (kernels.Tensor, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken != nil {
		return nil, g.fail(g.broken)
	}
	t, err := g.newTensor(n, "")
	if err != nil {
		return nil, g.fail(err)
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
	if g.err != nil && g.broken == nil {
		err := g.err
		g.err = nil
		return g.fail(err)
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
