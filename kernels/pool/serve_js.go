//go:build js && wasm

package pool

import (
	"errors"
	"fmt"
	"syscall/js"
	"time"
)

// Serve is a helper worker's main loop: it keeps the weight slices it is
// sent and computes each task on one thread, answering with the output
// rows (transferred). Its traffic with the worker goes through the port
// the page sends it first ({op: "port", port}; Spawn). It never returns; a
// helper told to stop at a task (helper_fault=exit@N) panics there, so
// that its worker reports an exit, as a crashed helper would.
func Serve() {
	srv := NewServer(nil)
	q := NewQueue[js.Value]()
	self := js.Global()
	var port js.Value // the worker's end is the other one
	onPort := js.FuncOf(func(_ js.Value, args []js.Value) any {
		q.Push(args[0].Get("data"))
		return nil
	})
	// take handles a message from the page: the port, which it then
	// listens on and says it is ready through.
	take := func(d js.Value) {
		if d.Type() != js.TypeObject || d.Get("op").String() != "port" || port.Type() == js.TypeObject {
			return
		}
		port = d.Get("port")
		port.Set("onmessage", onPort) // which also starts the port
		port.Call("postMessage", map[string]any{"type": "helper-ready", "describe": srv.b.Describe()})
	}
	self.Set("onmessage", js.FuncOf(func(_ js.Value, args []js.Value) any {
		take(args[0].Get("data"))
		return nil
	}))
	if pending := self.Get("cremaPending"); pending.Truthy() {
		for i := 0; i < pending.Length(); i++ {
			take(pending.Index(i))
		}
		self.Delete("cremaPending")
	}
	// reply answers the worker (messages come only through the port, so
	// it is set by then).
	reply := func(msg map[string]any, transfer ...any) {
		if len(transfer) > 0 {
			port.Call("postMessage", msg, transfer)
		} else {
			port.Call("postMessage", msg)
		}
	}
	var in, out []float32
	var loadErr error
	largest := 0 // bytes of the largest output: the size of new output buffers
	for {
		d := q.Pop()
		switch d.Get("op").String() {
		case "fault":
			srv.ExitAt = d.Get("exit").Int()
		case "drop":
			srv.Drop(d.Get("key").Int())
		case "load":
			s := Slice{Kind: Kind(d.Get("kind").Int()), Cin: d.Get("cin").Int(), Cout: d.Get("cout").Int()}
			s.W = make([]float32, s.Cin*s.Cout*9)
			err := fromJS(s.W, d.Get("w"))
			if b := d.Get("b"); err == nil && b.Truthy() {
				s.B = make([]float32, s.Cout)
				err = fromJS(s.B, b)
			}
			if err == nil {
				err = srv.Load(d.Get("key").Int(), s)
			}
			if err != nil && loadErr == nil {
				loadErr = err
			}
		case "task":
			t := Task{Key: d.Get("key").Int(), H: d.Get("h").Int(), W: d.Get("w").Int(), P0: d.Get("p0").Int(), P1: d.Get("p1").Int()}
			buf := d.Get("in")
			in = grow(in, d.Get("n").Int())
			err := loadErr
			if err == nil {
				err = fromJS(in, buf)
			}
			t.In = in
			var n int
			if err == nil {
				n, err = srv.OutLen(t)
			}
			t0 := time.Now()
			if err == nil {
				out = grow(out, n)
				err = srv.Run(t, out)
			}
			took := float64(time.Since(t0).Microseconds()) / 1000
			if errors.Is(err, ErrExit) {
				panic(fmt.Sprintf("crema helper: %v (helper_fault)", err))
			}
			if err != nil {
				reply(map[string]any{"type": "failed", "message": err.Error()})
				continue
			}
			if d.Get("shared").Truthy() { // the caller's shared areas: write into its out
				ob := d.Get("out")
				if ob.Get("byteLength").Int() < 4*len(out) {
					reply(map[string]any{"type": "failed", "message": "pool: the shared output area is too small"})
					continue
				}
				js.CopyBytesToJS(js.Global().Get("Uint8Array").New(ob, 0, 4*len(out)), bytesOf(out))
				reply(map[string]any{"type": "result", "ms": took})
				continue
			}
			largest = max(largest, 4*len(out))
			ob := toJS(out, d.Get("out"), largest)
			reply(map[string]any{"type": "result", "out": ob, "spare": buf, "ms": took}, ob, buf)
		}
	}
}
