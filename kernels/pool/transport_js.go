//go:build js && wasm

package pool

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall/js"
	"time"
	"unsafe"
)

// HelperName is the Web Worker name of a helper: the worker script (the
// crema worker's own, web/worker.js) boots the same program, which sees
// the name (IsHelper) and serves shares (Serve) instead of the page.
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

// Spawn starts n helper workers running script (this worker's own script
// URL) and returns the pool they join as they come up; one that fails to
// start, or takes over StartTimeout, leaves it with the reason. exitAt > 0
// makes the first helper stop at its exitAt-th task (ParseFault).
//
// Data travels in one of two ways. Where this worker is cross-origin
// isolated (the page was served with COOP same-origin and COEP
// require-corp), through SharedArrayBuffers: a call's input is copied once
// into one shared area that every helper reads, and each helper writes its
// output into its own shared area ("shared"). Elsewhere (a plain static
// host) each helper gets its own copy of the input in an ArrayBuffer that
// is transferred (moved, not copied again) and comes back as the next
// call's staging buffer, and likewise the output ("transfer").
func Spawn(n int, script string, exitAt int, opts Options) *Pool {
	var in *sharedIn
	transport := "transfer"
	if g := js.Global(); g.Get("crossOriginIsolated").Truthy() && g.Get("SharedArrayBuffer").Type() == js.TypeFunction {
		in, transport = &sharedIn{}, "shared"
	}
	p := New(n, transport, opts)
	for i := 0; i < n; i++ {
		h := &jsHelper{p: p, name: fmt.Sprintf("helper %d", i+1), replies: make(chan js.Value, 8), in: in}
		if err := h.start(script); err != nil {
			p.Lost(nil, h.name, err)
			continue
		}
		if i == 0 && exitAt > 0 {
			h.post(map[string]any{"op": "fault", "exit": exitAt}, nil)
		}
		time.AfterFunc(StartTimeout, func() {
			if !h.ready && !h.failed {
				h.failed = true
				h.w.Call("terminate")
				p.Lost(nil, h.name, fmt.Errorf("no word from it within %v", StartTimeout))
			}
		})
	}
	return p
}

// jsHelper is one helper Web Worker.
type jsHelper struct {
	p       *Pool
	name    string
	w       js.Value
	replies chan js.Value // its answers to tasks (and its errors)
	ready   bool
	failed  bool
	spare   js.Value  // the staging buffer of the last task's input, given back
	spareO  js.Value  // the last task's output buffer, to give back
	largest int       // bytes of the largest input sent
	in      *sharedIn // the pool's shared input area; nil: transfers
	out     js.Value  // with shared memory: this helper's output area
	fns     []js.Func
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

// start creates the worker and its callbacks, which never block.
func (h *jsHelper) start(script string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r) // a js.Error: no Worker in this scope, a refused URL
		}
	}()
	ctor := js.Global().Get("Worker")
	if ctor.Type() != js.TypeFunction {
		return errors.New("this browser has no Worker inside workers")
	}
	h.w = ctor.New(script, map[string]any{"name": HelperName})
	onMsg := js.FuncOf(func(_ js.Value, args []js.Value) any {
		h.message(args[0].Get("data"))
		return nil
	})
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := args[0]
		e.Call("preventDefault") // not an error of this worker's own
		msg := "its worker failed"
		if m := e.Get("message"); m.Type() == js.TypeString && m.String() != "" {
			msg = m.String()
		}
		h.gone(msg)
		return nil
	})
	h.fns = []js.Func{onMsg, onErr}
	h.w.Set("onmessage", onMsg)
	h.w.Set("onerror", onErr)
	return nil
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
	case "error": // from worker.js: the program could not start, or exited
		h.gone(firstLine(d.Get("message").String()))
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
		h.p.Lost(h, h.name, errors.New(msg))
	} else {
		h.w.Call("terminate")
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
	if transfer == nil {
		h.w.Call("postMessage", msg)
	} else {
		h.w.Call("postMessage", msg, transfer)
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

// Receive waits for the task's answer.
func (h *jsHelper) Receive(out []float32, timeout time.Duration) error {
	select {
	case d := <-h.replies:
		if d.Get("type").String() != "result" {
			return errors.New(d.Get("message").String())
		}
		if h.in != nil { // shared memory: the output is in h.out
			if v := d.Get("ms"); v.Type() == js.TypeNumber {
				h.p.helperTime(time.Duration(v.Float() * float64(time.Millisecond)))
			}
			return fromJS(out, h.out)
		}
		h.spare = d.Get("spare")
		if v := d.Get("ms"); v.Type() == js.TypeNumber {
			h.p.helperTime(time.Duration(v.Float() * float64(time.Millisecond)))
		}
		buf := d.Get("out")
		if err := fromJS(out, buf); err != nil {
			return err
		}
		h.spareO = buf
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("no answer within %v", timeout.Round(time.Second))
	}
}

// Close terminates the worker.
func (h *jsHelper) Close() {
	h.failed = true
	if h.w.Type() == js.TypeObject {
		h.w.Call("terminate")
	}
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
