//go:build js

// Command cremawasm is crema's side of `make bench` in the browser (and under
// node for tools/bench/gpu.mjs): it registers one JavaScript function,
//
//	cremaBench(json) → Promise<json>
//
// whose argument is {"backend": "cpu"|"webgpu", "profile": bool, and the
// fields of cremabench.Options}. It opens the backend on first use (timing
// that as init_ms), builds VGG-19 to conv5_1 on it with synthetic weights and
// runs cremabench.Bench, or cremabench.RunProfile when profile is set, then
// resolves with {"init_ms", "result" | "profile", "summary", "go_heap_bytes"}
// or rejects with an Error carrying the message.
//
// Build: GOOS=js GOARCH=wasm go build -o tools/bench/out/cremabench.wasm ./tools/bench/cremawasm
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"syscall/js"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/tools/bench/cremabench"
)

type request struct {
	cremabench.Options
	Backend string `json:"backend"`
	Profile bool   `json:"profile"`
}

type reply struct {
	InitMS      float64             `json:"init_ms"`
	Result      *cremabench.Result  `json:"result,omitempty"`
	Profile     *cremabench.Profile `json:"profile,omitempty"`
	Summary     []cremabench.OpTime `json:"summary,omitempty"`
	GoHeapBytes uint64              `json:"go_heap_bytes"`
}

var (
	opened  = map[string]kernels.Backend{} // backends by name, opened on first use
	weights = map[uint64]*model.Synthetic{}
)

func handle(arg string) (reply, error) {
	var req request
	if err := json.Unmarshal([]byte(arg), &req); err != nil {
		return reply{}, fmt.Errorf("cremawasm: bad request: %w", err)
	}
	var rep reply
	b := opened[req.Backend]
	if b == nil {
		t := time.Now()
		var err error
		b, _, err = backends.Open(req.Backend)
		if err != nil {
			return reply{}, err
		}
		rep.InitMS = float64(time.Since(t).Microseconds()) / 1000
		opened[req.Backend] = b
	}
	src := weights[req.Seed]
	if src == nil {
		src = model.NewSynthetic(req.Seed, cremabench.Deepest)
		weights[req.Seed] = src
	}
	ctx := context.Background()
	if req.Profile {
		p, err := cremabench.RunProfile(ctx, b, src, req.Options)
		if err != nil {
			return reply{}, err
		}
		rep.Profile = &p
		rep.Summary = p.Summary()
	} else {
		r, err := cremabench.Bench(ctx, b, src, req.Options)
		if err != nil {
			return reply{}, err
		}
		rep.Result = &r
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.GoHeapBytes = ms.HeapSys
	return rep, nil
}

func main() {
	js.Global().Set("cremaBench", js.FuncOf(func(this js.Value, args []js.Value) any {
		arg := ""
		if len(args) > 0 {
			arg = args[0].String()
		}
		var resolve, reject js.Value
		promise := js.Global().Get("Promise").New(js.FuncOf(func(this js.Value, a []js.Value) any {
			resolve, reject = a[0], a[1]
			return nil
		}))
		// Never block inside a js.FuncOf callback: the WebGPU backend awaits
		// Promises, which needs the event loop.
		go func() {
			rep, err := handle(arg)
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			out, _ := json.Marshal(rep)
			resolve.Invoke(string(out))
		}()
		return promise
	}))
	js.Global().Set("cremaBenchReady", true)
	select {}
}
