//go:build js

package main

import (
	"encoding/json"
	"runtime"
	"syscall/js"
	"time"

	"github.com/crema-app/crema/kernels/pool"
)

// main runs in the Worker that web/worker.js starts. It answers messages
// until the page terminates the worker.
func main() {
	if pool.IsHelper() { // a helper worker of the pool (kernels/pool)
		pool.Serve()
		return
	}
	self := js.Global()
	q := pool.NewQueue[Inbound]()
	onMessage := js.FuncOf(func(this js.Value, args []js.Value) any {
		// Never block here: decode (copying buffers into Go memory) and
		// queue. The page's answers about helpers go to the pool at once.
		if pool.FromPage(args[0].Get("data")) {
			return nil
		}
		q.Push(decodeMessage(args[0].Get("data")))
		return nil
	})
	self.Set("onmessage", onMessage)
	// Messages that arrived before Go started (worker.js keeps them).
	if pending := self.Get("cremaPending"); pending.Truthy() {
		for i := 0; i < pending.Length(); i++ {
			if !pool.FromPage(pending.Index(i)) {
				q.Push(decodeMessage(pending.Index(i)))
			}
		}
		self.Delete("cremaPending")
	}
	w := newWorker(post, yieldToEventLoop)
	w.helpers.spawn = spawnHelpers
	post(ready(runtime.Version()))
	for {
		w.handle(q.Pop())
	}
}

// decodeMessage turns the page's object into an Inbound: the JSON fields
// through JSON.stringify (ArrayBuffers become {} there), the buffers copied.
func decodeMessage(data js.Value) Inbound {
	var in Inbound
	text := js.Global().Get("JSON").Call("stringify", data).String()
	if err := json.Unmarshal([]byte(text), &in); err != nil {
		return Inbound{Type: "bad message: " + err.Error()}
	}
	in.Binary = bytesOf(data.Get("binary"))
	if in.Content != nil {
		in.Content.Pixels = bytesOf(data.Get("content").Get("pixels"))
	}
	styles := data.Get("styles")
	for i := range in.Styles {
		in.Styles[i].Pixels = bytesOf(styles.Index(i).Get("pixels"))
	}
	if in.Image != nil { // labels (control.go)
		in.Image.Pixels = bytesOf(data.Get("image").Get("pixels"))
	}
	return in
}

// bytesOf copies an ArrayBuffer or typed array into Go memory.
func bytesOf(v js.Value) []byte {
	if v.IsUndefined() || v.IsNull() {
		return nil
	}
	u8 := js.Global().Get("Uint8Array")
	if !v.InstanceOf(u8) {
		if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
			v = u8.New(v)
		} else if buf := v.Get("buffer"); buf.Truthy() {
			v = u8.New(buf, v.Get("byteOffset"), v.Get("byteLength"))
		} else {
			return nil
		}
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// post sends msg to the page as a plain object; a Frame's pixels go as a
// transferred ArrayBuffer (not copied again by postMessage).
func post(msg any) {
	text, err := json.Marshal(msg)
	if err != nil {
		text, _ = json.Marshal(Error{Type: OutError, Stage: "post", Message: "wasm: " + err.Error()})
	}
	obj := js.Global().Get("JSON").Call("parse", string(text))
	if f, ok := msg.(Frame); ok {
		arr := js.Global().Get("Uint8ClampedArray").New(len(f.Pixels))
		js.CopyBytesToJS(arr, f.Pixels)
		buf := arr.Get("buffer")
		obj.Set("pixels", buf)
		js.Global().Call("postMessage", obj, []any{buf})
		return
	}
	js.Global().Call("postMessage", obj)
}

var lastYield time.Time

// yieldToEventLoop parks the run's goroutine for a moment so that Go's
// scheduler, with nothing else to run, returns to the worker's event loop,
// which then delivers pending messages (pause, stop). A CPU-bound run would
// otherwise never let onmessage fire. At most every 15 ms.
func yieldToEventLoop() {
	if time.Since(lastYield) < 15*time.Millisecond {
		return
	}
	time.Sleep(time.Millisecond)
	lastYield = time.Now()
}

// MaxHelpers caps the default number of helper workers.
const MaxHelpers = 4

// spawnHelpers starts the pool's helper workers: n of them, or by default
// one fewer than navigator.hardwareConcurrency (the worker itself takes a
// share), at most MaxHelpers. The page starts them (pool.Spawn), on this
// worker's own script.
func spawnHelpers(n int, mainShare bool, fault string) (*pool.Pool, error) {
	exitAt, err := pool.ParseFault(fault)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = 1
		if hc := js.Global().Get("navigator").Get("hardwareConcurrency"); hc.Type() == js.TypeNumber {
			n = min(MaxHelpers, hc.Int()-1)
		}
	}
	if n <= 0 {
		return nil, nil
	}
	opts := pool.DefaultOptions()
	opts.MainShare = mainShare
	return pool.Spawn(n, exitAt, opts), nil
}
