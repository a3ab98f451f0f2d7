//go:build js && wasm

package pool

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"
	"unsafe"
)

// HelperName is the Web Worker name of a helper: the page starts it on
// the crema worker's own script (web/worker.js), which boots the same
// program; the program sees the name (IsHelper) and serves shares (Serve)
// instead of the page.
const HelperName = "crema-helper"

// StartTimeout is how long a helper may take to start (fetch and compile
// the program, measure its kernels) before it counts as failed.
const StartTimeout = 60 * time.Second

// IsHelper reports whether this program runs as a helper worker.
func IsHelper() bool {
	n := js.Global().Get("name")
	return n.Type() == js.TypeString && n.String() == HelperName
}

// ParseFault reads the page's helper_fault: "" (none) or "exit@N" (the
// first helper stops at its N-th task).
func ParseFault(s string) (exitAt int, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, ok := strings.CutPrefix(s, "exit@"); ok {
		if v, err := strconv.Atoi(n); err == nil && v > 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("pool: unknown helper fault %q (want exit@N, N ≥ 1)", s)
}

// Spawn asks the page for n helper workers (MsgSpawn; web/js/pool.js
// starts them on the worker's own script) and returns the pool they join
// as they come up; one that fails to start, or takes over StartTimeout,
// leaves it with the reason. exitAt > 0 makes the first helper stop at its
// exitAt-th task (ParseFault). The page's answers (MsgHelper, with the
// helper's port, or MsgHelperError) reach the helpers through FromPage.
//
// Data travels in one of two ways. Where this worker is cross-origin
// isolated (the page was served with COOP same-origin and COEP
// require-corp), through SharedArrayBuffers: a call's input is copied once
// into one shared area that every helper reads, and each helper writes its
// output into its own shared area ("shared"). Elsewhere (a plain static
// host) each helper gets its own copy of the input in an ArrayBuffer that
// is transferred (moved, not copied again) and comes back as the next
// call's staging buffer, and likewise the output ("transfer").
func Spawn(n int, exitAt int, opts Options) *Pool {
	var in *sharedIn
	transport := Transfer
	if g := js.Global(); g.Get("crossOriginIsolated").Truthy() && g.Get("SharedArrayBuffer").Type() == js.TypeFunction {
		in, transport = &sharedIn{}, Shared
	}
	p := New(n, transport, opts)
	for i := 0; i < n; i++ {
		h := &jsHelper{p: p, name: fmt.Sprintf("helper %d", i+1), replies: make(chan js.Value, 8), in: in}
		if i == 0 {
			h.exitAt = exitAt
		}
		h.id = spawned.add(h)
		toPage(map[string]any{"type": MsgSpawn, "id": h.id, "name": HelperName})
		time.AfterFunc(StartTimeout, func() {
			if !h.ready {
				h.gone(fmt.Sprintf("no word from it within %v", StartTimeout))
			}
		})
	}
	return p
}

// FromPage takes the page's messages about helpers (MsgHelper,
// MsgHelperError) and reports whether d was one. It never blocks: the
// worker calls it from its onmessage, before it queues a message for its
// loop, so that a helper joins while a run keeps the loop busy.
func FromPage(d js.Value) bool {
	if d.Type() != js.TypeObject {
		return false
	}
	t := d.Get("type")
	if t.Type() != js.TypeString || (t.String() != MsgHelper && t.String() != MsgHelperError) {
		return false
	}
	id := d.Get("id")
	if id.Type() != js.TypeNumber {
		return true
	}
	h := spawned.get(id.Int())
	switch {
	case h == nil: // given up on (failed, timed out, closed): the page ends it
		if port := d.Get("port"); t.String() == MsgHelper && port.Type() == js.TypeObject {
			port.Call("close")
			toPage(map[string]any{"type": MsgStop, "id": id.Int()})
		}
	case t.String() == MsgHelper:
		h.connect(d.Get("port"))
	default:
		h.gone(firstLine(d.Get("message").String()))
	}
	return true
}

// toPage posts msg to the page (this worker's parent).
func toPage(msg map[string]any) { js.Global().Call("postMessage", msg) }

// helperList numbers the helpers asked of the page, so that the page's
// answers find theirs.
type helperList struct {
	mu   sync.Mutex
	last int
	byID map[int]*jsHelper
}

var spawned helperList

func (l *helperList) add(h *jsHelper) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byID == nil {
		l.byID = map[int]*jsHelper{}
	}
	l.last++
	l.byID[l.last] = h
	return l.last
}

func (l *helperList) get(id int) *jsHelper {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byID[id]
}

func (l *helperList) remove(id int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byID, id)
}

// jsHelper is one helper Web Worker, which the page started (Spawn).
type jsHelper struct {
	p       *Pool
	name    string
	id      int           // the page's name for it (MsgSpawn)
	port    js.Value      // this end of its MessageChannel, once the page sent it
	exitAt  int           // helper_fault: sent once connected
	replies chan js.Value // its answers to tasks (and its errors)
	ready   bool
	failed  bool
	spare   js.Value  // the staging buffer of the last task's input, given back
	spareO  js.Value  // the last task's output buffer, to give back
	largest int       // bytes of the largest input sent
	in      *sharedIn // the pool's shared input area; nil: transfers
	out     js.Value  // with shared memory: this helper's output area
}

// sharedIn is the input area every helper reads when memory is shared: it
// holds the input of split call number call.
type sharedIn struct {
	buf  js.Value // SharedArrayBuffer
	call uint64
	n    int // floats
}

// sharedBuffer returns buf when it is a SharedArrayBuffer of at least n
// bytes, else a new one of n bytes.
func sharedBuffer(buf js.Value, n int) js.Value {
	if buf.Type() == js.TypeObject && buf.Get("byteLength").Int() >= n {
		return buf
	}
	return js.Global().Get("SharedArrayBuffer").New(n)
}

// sendShared is Send with shared memory: the input is copied into the
// pool's area once per call, the helper told where to write.
func (h *jsHelper) sendShared(t Task) error {
	a := h.in
	if a.call != t.Call || a.n != len(t.In) || a.buf.Type() != js.TypeObject {
		a.buf = sharedBuffer(a.buf, 4*len(t.In))
		js.CopyBytesToJS(js.Global().Get("Uint8Array").New(a.buf, 0, 4*len(t.In)), bytesOf(t.In))
		a.call, a.n = t.Call, len(t.In)
	}
	h.out = sharedBuffer(h.out, 4*t.Out)
	return h.post(map[string]any{"op": "task", "key": t.Key, "h": t.H, "w": t.W, "p0": t.P0, "p1": t.P1, "n": len(t.In), "in": a.buf, "out": h.out, "shared": true}, nil)
}

// connect takes the helper's port from the page; its callbacks never
// block. (A helper given up on has left spawned, so FromPage never
// connects it.)
func (h *jsHelper) connect(port js.Value) {
	if port.Type() != js.TypeObject {
		h.gone("the page sent no port for it")
		return
	}
	h.port = port
	onMsg := js.FuncOf(func(_ js.Value, args []js.Value) any {
		h.message(args[0].Get("data"))
		return nil
	})
	port.Set("onmessage", onMsg) // which also starts the port
	if h.exitAt > 0 {
		_ = h.post(map[string]any{"op": "fault", "exit": h.exitAt}, nil)
	}
}

// stop has the page terminate the helper and closes its port.
func (h *jsHelper) stop() {
	spawned.remove(h.id)
	toPage(map[string]any{"type": MsgStop, "id": h.id})
	if h.port.Type() == js.TypeObject {
		h.port.Call("close")
		h.port = js.Undefined()
	}
}

// message handles one message of the helper (in a callback: no blocking).
func (h *jsHelper) message(d js.Value) {
	switch d.Get("type").String() {
	case "helper-ready":
		if !h.ready && !h.failed {
			h.ready = true
			if d := d.Get("describe"); d.Type() == js.TypeString {
				h.p.describeHelper(d.String())
			}
			h.p.Join(h, h.name)
		}
	case "result", "failed":
		select {
		case h.replies <- d:
		default:
		}
	}
}

// gone handles the helper's death: a task waiting for it fails at once,
// and it leaves the pool (or, still starting, fails to start).
func (h *jsHelper) gone(msg string) {
	if h.failed {
		return
	}
	h.failed = true
	select {
	case h.replies <- js.ValueOf(map[string]any{"type": "failed", "message": msg}):
	default:
	}
	if h.ready {
		h.p.Lost(h, h.name, errors.New(msg)) // which closes h
	} else {
		h.stop()
		h.p.Lost(nil, h.name, errors.New(msg))
	}
}

// post sends msg, transferring the buffers listed.
func (h *jsHelper) post(msg map[string]any, transfer []any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pool: postMessage: %v", r)
		}
	}()
	if h.port.Type() != js.TypeObject {
		return errors.New("pool: the helper is not connected")
	}
	if transfer == nil {
		h.port.Call("postMessage", msg)
	} else {
		h.port.Call("postMessage", msg, transfer)
	}
	return nil
}

// bytesOf views f as bytes (Go's wasm memory is little-endian, as JS's
// typed arrays are here).
func bytesOf(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*4)
}

// toJS copies f into buf (an ArrayBuffer at least as large, else a new one
// of at least least bytes, so that a staging buffer grows to the largest
// input and is then reused) and returns the buffer.
func toJS(f []float32, buf js.Value, least int) js.Value {
	n := len(f) * 4
	if buf.Type() != js.TypeObject || buf.Get("byteLength").Int() < n {
		buf = js.Global().Get("ArrayBuffer").New(max(n, least))
	}
	js.CopyBytesToJS(js.Global().Get("Uint8Array").New(buf, 0, n), bytesOf(f))
	return buf
}

// fromJS copies the first len(dst) floats of the ArrayBuffer buf into dst.
func fromJS(dst []float32, buf js.Value) error {
	n := len(dst) * 4
	if buf.Type() != js.TypeObject || buf.Get("byteLength").Int() < n {
		return fmt.Errorf("pool: the helper's answer has fewer than %d floats", len(dst))
	}
	js.CopyBytesToGo(bytesOf(dst), js.Global().Get("Uint8Array").New(buf, 0, n))
	return nil
}

// Load sends s as copies (transferred).
func (h *jsHelper) Load(key int, s Slice) error {
	w := toJS(s.W, js.Undefined(), 0)
	msg := map[string]any{"op": "load", "key": key, "kind": int(s.Kind), "cin": s.Cin, "cout": s.Cout, "w": w}
	tr := []any{w}
	if s.B != nil {
		b := toJS(s.B, js.Undefined(), 0)
		msg["b"] = b
		tr = append(tr, b)
	}
	return h.post(msg, tr)
}

// Drop tells the helper to forget key.
func (h *jsHelper) Drop(key int) { _ = h.post(map[string]any{"op": "drop", "key": key}, nil) }

// Send copies the task's input into a staging buffer (the one the helper
// gave back last time, when large enough) and transfers it.
func (h *jsHelper) Send(t Task) error {
	if h.failed {
		return errors.New("its worker is gone")
	}
	if h.in != nil {
		return h.sendShared(t)
	}
	h.largest = max(h.largest, 4*len(t.In))
	in := toJS(t.In, h.spare, h.largest)
	h.spare = js.Undefined()
	msg := map[string]any{"op": "task", "key": t.Key, "h": t.H, "w": t.W, "p0": t.P0, "p1": t.P1, "n": len(t.In), "in": in}
	tr := []any{in}
	if h.spareO.Type() == js.TypeObject {
		msg["out"] = h.spareO
		tr = append(tr, h.spareO)
		h.spareO = js.Undefined()
	}
	return h.post(msg, tr)
}

// Receive waits for the task's answer. An answer already in takes no
// timer: under WebAssembly each one costs a setTimeout and a clearTimeout.
func (h *jsHelper) Receive(out []float32, timeout time.Duration) error {
	select {
	case d := <-h.replies:
		return h.answer(out, d)
	default:
	}
	select {
	case d := <-h.replies:
		return h.answer(out, d)
	case <-time.After(timeout):
		return fmt.Errorf("no answer within %v", timeout.Round(time.Second))
	}
}

// answer takes the helper's answer d into out.
func (h *jsHelper) answer(out []float32, d js.Value) error {
	if d.Get("type").String() != "result" {
		return errors.New(d.Get("message").String())
	}
	if v := d.Get("ms"); v.Type() == js.TypeNumber {
		h.p.helperTime(time.Duration(v.Float() * float64(time.Millisecond)))
	}
	if h.in != nil { // shared memory: the output is in h.out
		return fromJS(out, h.out)
	}
	h.spare = d.Get("spare")
	buf := d.Get("out")
	if err := fromJS(out, buf); err != nil {
		return err
	}
	h.spareO = buf
	return nil
}

// Close has the page terminate the worker.
func (h *jsHelper) Close() {
	h.failed = true
	h.stop()
}

// firstLine is the line of msg (worker.js's report, with the last lines the
// program printed) that says what happened: the panic's, else the first.
func firstLine(msg string) string {
	if i := strings.Index(msg, "panic: "); i >= 0 {
		msg = msg[i+len("panic: "):]
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}
