// Package pool spreads the CPU backend's convolutions over helper workers:
// in the browser, Go's WebAssembly runs on one thread, so the crema worker
// starts a few helper Web Workers running the same program (crema.wasm in
// its helper role) and hands each of them a share of every large
// convolution.
//
// A large layer is split by channels, so that each helper keeps only its
// slice of the weights:
//
//   - Conv3x3 (forward) by output channels: a helper holds rows [o0, o1) of
//     W and of the bias, receives the input x and returns dst's rows
//     [o0, o1).
//   - Conv3x3Backward (input gradient) by input channels: a helper holds
//     W[:, i0:i1] and receives the masked gradient dy ⊙ [y > 0], returning
//     dx's rows [i0, i1).
//
// A layer with small weights (at most Options.PixelWeights floats: conv1_1
// … conv3_4) is split by output pixels instead: each helper holds the
// whole W (and bias) and returns every channel of its range of pixels
// [p0, p1). A channel split makes every share pack the whole im2col
// operand (K×H·W floats) for its few rows; with 64 or 128 rows per share
// that packing costs as much as half the share's products under
// WebAssembly (BENCHMARKS.md, "Every core"), while a pixel split packs each
// column once. Its cost is memory: the whole of those layers' weights on
// every helper, about 9 MiB for each kind (forward and input gradient).
//
// A helper receives a weight slice once, the first time a weight tensor is
// used with that split (Helper.Load), not with every call, and keeps it
// packed as the GEMM's operand (cpu.Weights), as the caller keeps its own
// share: packing weights is slow under WebAssembly and the same on every
// call. A tensor that is rewritten or freed is dropped from the helpers
// and the caller. Per call only the activations travel. The calling worker
// computes one share itself (see Options.MainShare) while the helpers
// compute theirs, then copies their rows into the output.
//
// A helper that fails — it reports an error, its worker dies, or it does
// not answer within the timeout — costs speed, not the run: its share of
// the call is computed by the caller, it leaves the pool, and OnChange is
// told why. Every other operation is the wrapped backend's.
//
// This file and the split (backend.go) and the helper's side (server.go)
// are plain Go, tested natively with in-process helpers (Local); only the
// transport between Web Workers is browser code (transport_js.go,
// serve_js.go).
package pool

import (
	"fmt"
	"sync"
	"time"

	"github.com/crema-app/crema/kernels/cpu"
)

// Kind says which convolution a weight slice serves.
type Kind int

const (
	// Forward is Conv3x3: the slice is rows [o0, o1) of W (and of the bias).
	Forward Kind = iota
	// InputGrad is the input gradient of Conv3x3: the slice is W[:, i0:i1].
	InputGrad
)

// Slice is the part of one convolution's weights that a helper keeps.
type Slice struct {
	Kind      Kind
	Cin, Cout int       // the slice's convolution: Forward has the full Cin, InputGrad the full Cout
	W         []float32 // [Cout, Cin, 3, 3] of the slice's shape
	B         []float32 // [Cout] for Forward; nil for InputGrad
}

// Task is one share of a convolution: the slice Key, on an H×W image.
type Task struct {
	Key  int
	H, W int
	// In is Forward's input x [Cin, H, W] or InputGrad's masked gradient
	// g = dy ⊙ [y > 0] [Cout, H, W], in the full channel count. A share of
	// a split by pixels may get only the rows of the image its pixels need:
	// H is then their count, and P0, P1 count from the first of them. Send
	// copies In before it returns (the caller reuses the buffer).
	In []float32
	// Out is the length of the output (the slice's rows of dst or dx).
	Out int
	// Call numbers the split call: the tasks of one call share Call, and
	// with Shared memory In too (copied once per call); with Transfer a
	// share of a split by pixels gets only its rows of it.
	Call uint64
	// P0, P1: a share of a split by pixels computes the output pixels [P0,
	// P1) of every channel (row-major pixel indices); P1 = 0 for a share of
	// a split by channels, which computes every pixel of its slice's
	// channels.
	P0, P1 int
}

// OutLen is the length of the output a task t of s returns: [Cout, pixels]
// for Forward, [Cin, pixels] for InputGrad, where pixels is t's range or
// the whole image.
func (s Slice) OutLen(t Task) int {
	n := t.H * t.W
	if t.P1 > 0 {
		n = t.P1 - t.P0
	}
	if s.Kind == Forward {
		return s.Cout * n
	}
	return s.Cin * n
}

// Helper is one helper worker as the caller sees it. Messages reach it in
// order: a Load is in place before a later Send's task runs. One task at a
// time: Send, then Receive.
type Helper interface {
	// Load gives the helper s to keep under key (replacing what key held).
	Load(key int, s Slice) error
	// Drop tells the helper to forget key.
	Drop(key int)
	// Send starts task t.
	Send(t Task) error
	// Receive waits for the output of the task sent last and copies it into
	// out, or fails: the helper reported an error, its worker died, or it
	// did not answer within timeout.
	Receive(out []float32, timeout time.Duration) error
	// Close stops the helper.
	Close()
}

// How helpers receive their data (Pool's transport, Status.Transport).
const (
	// Transfer: each helper gets its own copy of a call's input, in a
	// transferred ArrayBuffer (a plain static host).
	Transfer = "transfer"
	// Shared: the input is copied once into a SharedArrayBuffer that every
	// helper reads (a cross-origin isolated page).
	Shared = "shared"
)

// Options tune a Pool.
type Options struct {
	// MainShare: the calling worker computes one share of each call itself
	// (true), or only hands out shares and copies the results (false).
	MainShare bool
	// MinFLOPs: convolutions of fewer FLOPs run on the caller alone (the
	// messages would cost more than they save).
	MinFLOPs float64
	// Timeout is the least time a helper has to answer; a call also allows
	// 20 times what the caller's own share took.
	Timeout time.Duration
	// PixelWeights: convolutions whose weights have at most this many
	// floats are split by output pixels (see the package's doc), larger ones
	// by channels; 0 splits every one by channels. A pixel split needs the
	// wrapped backend's Conv3x3Pixels (the CPU backend's); over another
	// backend every split is by channels.
	PixelWeights int
}

// DefaultOptions are the page's: the caller takes a share, convolutions
// under 8 MFLOP stay on the caller, helpers have at least 20 s to answer,
// and layers of up to 2^20 weights (conv1_1 … conv3_4; conv3_x has 256·256·9
// = 589 824, conv4_1 1 179 648) are split by pixels.
func DefaultOptions() Options {
	return Options{MainShare: true, MinFLOPs: 8e6, Timeout: 20 * time.Second, PixelWeights: 1 << 20}
}

// Status is what the pool is doing, for the page.
type Status struct {
	Requested int    `json:"requested"`        // helpers asked for
	Running   int    `json:"running"`          // helpers taking shares now
	Starting  int    `json:"starting"`         // helpers still starting
	Transport string `json:"transport"`        // Transfer (copied buffers) or Shared (SharedArrayBuffer)
	MainShare bool   `json:"main_share"`       // the worker computes a share too
	Tasks     int    `json:"tasks"`            // shares the helpers have computed so far
	Loads     int    `json:"loads"`            // weight slices sent to helpers so far
	Lost      int    `json:"lost"`             // helpers that failed or stopped
	Reason    string `json:"reason,omitempty"` // why fewer than requested run (the latest failure)
	// Where the split calls' time went, in ms so far: the worker's own
	// shares (and redone ones), handing out the inputs, and waiting for
	// the helpers' outputs (and copying them in) after its own share.
	LocalMS float64 `json:"local_ms"`
	SendMS  float64 `json:"send_ms"`
	WaitMS  float64 `json:"wait_ms"`
	// HelperMS is the helpers' own compute time, summed over helpers (as
	// they report it; in the browser only).
	HelperMS float64 `json:"helper_ms"`
	// Helper describes the first helper's CPU backend (its kernels), as it
	// reports it when it starts (in the browser only).
	Helper string `json:"helper,omitempty"`
}

// member is a helper taking part.
type member struct {
	h      Helper
	name   string
	loaded map[int]held // key → what it holds under it
}

// held is the slice a member holds under a key: the channel range and, for
// Forward, the id of the bias tensor it took its biases from.
type held struct{ lo, hi, bias int }

// Pool is a set of helpers and the weight slices they hold. The helpers
// join as they come up (Join) and leave when they fail (Lost, or a failed
// call). Its methods may be called from any goroutine; in the browser,
// Join and Lost come from the helpers' message callbacks and never block.
type Pool struct {
	opts Options

	mu        sync.Mutex
	requested int
	starting  int
	transport string
	members   []*member
	lost      int
	reason    string
	tasks     int
	loads     int
	local     time.Duration
	send      time.Duration
	wait      time.Duration
	helper    time.Duration
	describe  string
	ids       map[any]int // weight tensor → its id (keys are 2·id + Kind)
	nextID    int
	// kept are the weights of the shares the caller computes, packed once
	// (cpu.Weights), by key: one range per key (the latest).
	kept  map[int]keptShare
	calls uint64 // split calls so far (Task.Call)
	// pending is the split call handed out and not yet collected (settle),
	// or nil.
	pending *call
	// OnChange, when set, is called (without the pool's lock) whenever the
	// status changes: a helper joins or is lost.
	OnChange func(Status)
}

// New returns an empty pool that expects requested helpers to start
// (transport names how they receive data: Transfer or Shared).
func New(requested int, transport string, opts Options) *Pool {
	return &Pool{opts: opts, requested: requested, starting: requested, transport: transport, ids: map[any]int{}, kept: map[int]keptShare{}}
}

// keptShare is the caller's share of one key's weights: its range (the
// whole weights, span{}, for a split by pixels).
type keptShare struct {
	r  span
	kw *cpu.Weights
}

// keep returns the caller's share r of key's weights, packed once: the one
// kept for key and r, else made by newWeights (and kept in place of any
// other range of key's).
func (p *Pool) keep(key int, r span, newWeights func() (*cpu.Weights, error)) *cpu.Weights {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ks, ok := p.kept[key]; ok && ks.r == r {
		return ks.kw
	}
	kw, err := newWeights()
	if err != nil {
		panic(err) // the split's shapes come from a call whose tensors were checked
	}
	p.kept[key] = keptShare{r, kw}
	return kw
}

// Status says what the pool is doing.
func (p *Pool) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status()
}

func (p *Pool) status() Status {
	return Status{Requested: p.requested, Running: len(p.members), Starting: p.starting, Transport: p.transport,
		MainShare: p.opts.MainShare, Tasks: p.tasks, Loads: p.loads, Lost: p.lost, Reason: p.reason,
		LocalMS: ms(p.local), SendMS: ms(p.send), WaitMS: ms(p.wait), HelperMS: ms(p.helper), Helper: p.describe}
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// changed tells OnChange, outside the lock.
func (p *Pool) changed() {
	if f := p.OnChange; f != nil {
		f(p.Status())
	}
}

// Join adds a helper that has started; name identifies it in messages.
func (p *Pool) Join(h Helper, name string) {
	p.mu.Lock()
	p.starting = max(0, p.starting-1)
	p.members = append(p.members, &member{h: h, name: name, loaded: map[int]held{}})
	p.mu.Unlock()
	p.changed()
}

// Lost removes a helper (or one still starting, h nil) that failed or
// stopped, for the reason given. A helper that is not in the pool is
// ignored.
func (p *Pool) Lost(h Helper, name string, why error) {
	p.mu.Lock()
	if h == nil {
		p.starting = max(0, p.starting-1)
	} else if !p.remove(h) {
		p.mu.Unlock()
		return
	}
	p.lost++
	p.reason = fmt.Sprintf("%s stopped (%v)", name, why)
	if h == nil {
		p.reason = fmt.Sprintf("%s did not start (%v)", name, why)
	}
	p.mu.Unlock()
	if h != nil {
		h.Close()
	}
	p.changed()
}

// remove takes h out of the members; p.mu is held.
func (p *Pool) remove(h Helper) bool {
	for i, m := range p.members {
		if m.h == h {
			p.members = append(p.members[:i:i], p.members[i+1:]...)
			return true
		}
	}
	return false
}

// Close stops every helper.
func (p *Pool) Close() {
	p.mu.Lock()
	ms := p.members
	p.members = nil
	p.starting = 0
	p.mu.Unlock()
	for _, m := range ms {
		m.h.Close()
	}
}

// snapshot returns the members taking part now.
func (p *Pool) snapshot() []*member {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*member(nil), p.members...)
}

// id returns the id of weight tensor t, assigning one on first use.
func (p *Pool) id(t any) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.ids[t]
	if !ok {
		p.nextID++
		id = p.nextID
		p.ids[t] = id
	}
	return id
}

// forget drops the slices made from t (its weights or its biases) from
// every helper: t was rewritten or freed.
func (p *Pool) forget(t any) {
	p.mu.Lock()
	id, ok := p.ids[t]
	if !ok {
		p.mu.Unlock()
		return
	}
	delete(p.ids, t)
	// t gets a new id when next used, so its kept shares would never be
	// found again: free them.
	delete(p.kept, 2*id+int(Forward))
	delete(p.kept, 2*id+int(InputGrad))
	var drops []func()
	for _, m := range p.members {
		for key, hd := range m.loaded {
			if key/2 == id || hd.bias == id {
				delete(m.loaded, key)
				h, k := m.h, key
				drops = append(drops, func() { h.Drop(k) })
			}
		}
	}
	p.mu.Unlock()
	for _, d := range drops {
		d()
	}
}

// call numbers a new split call.
func (p *Pool) call() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return p.calls
}

// describeHelper keeps the first description a helper gives of itself.
func (p *Pool) describeHelper(s string) {
	p.mu.Lock()
	if p.describe == "" {
		p.describe = s
	}
	p.mu.Unlock()
}

// helperTime adds a helper's reported compute time.
func (p *Pool) helperTime(d time.Duration) {
	p.mu.Lock()
	p.helper += d
	p.mu.Unlock()
}

// count adds a split call's n finished helper tasks and times.
func (p *Pool) count(n int, send, local, wait time.Duration) {
	p.mu.Lock()
	p.tasks += n
	p.send += send
	p.local += local
	p.wait += wait
	p.mu.Unlock()
}
