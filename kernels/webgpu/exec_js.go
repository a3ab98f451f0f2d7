//go:build js

package webgpu

// This file is the browser's side of the executor: the adapter and device,
// and jsExecutor, which drives exec.js through syscall/js.

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"syscall/js"
)

//go:embed exec.js
var execJS string

// Open requests a WebGPU adapter and a device with the limits crema needs
// and returns a backend on them, or an error that says why there is none
// (backends.Open("auto") shows it to the user when it falls back to the CPU).
func Open() (*Backend, error) {
	ex, info, lim, err := openDevice()
	if err != nil {
		return nil, err
	}
	g, err := newBackend(ex, info, lim)
	if err != nil {
		ex.destroy()
		return nil, err
	}
	return g, nil
}

// promiseResult is the outcome of a JavaScript Promise.
type promiseResult struct {
	v   js.Value
	err error
}

// await blocks the calling goroutine until p settles. It must not be called
// from inside a js.FuncOf callback (the event loop would be blocked).
func await(p js.Value) (js.Value, error) {
	ch := make(chan promiseResult, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var v js.Value
		if len(args) > 0 {
			v = args[0]
		}
		ch <- promiseResult{v: v}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- promiseResult{err: errors.New(jsString(args))}
		return nil
	})
	p.Call("then", ok, fail)
	r := <-ch
	ok.Release()
	fail.Release()
	return r.v, r.err
}

// jsString formats the first callback argument (an Error, a DOMException or
// anything else) as text.
func jsString(args []js.Value) string {
	if len(args) == 0 {
		return "unknown error"
	}
	return js.Global().Call("String", args[0]).String()
}

// openDevice requests an adapter and a device and starts exec.js on it.
func openDevice() (*jsExecutor, string, limits, error) {
	var lim limits
	nav := js.Global().Get("navigator")
	if !nav.Truthy() || !nav.Get("gpu").Truthy() {
		return nil, "", lim, errors.New("webgpu: this browser has no navigator.gpu (WebGPU is unsupported or disabled)")
	}
	gpu := nav.Get("gpu")
	opts := js.Global().Get("Object").New()
	opts.Set("powerPreference", "high-performance")
	adapter, err := await(gpu.Call("requestAdapter", opts))
	if err != nil {
		return nil, "", lim, fmt.Errorf("webgpu: requestAdapter failed: %v", err)
	}
	if !adapter.Truthy() {
		return nil, "", lim, errors.New("webgpu: navigator.gpu gave no adapter (no usable GPU, or it is blocklisted)")
	}

	al := adapter.Get("limits")
	get := func(name string) int64 { return int64(al.Get(name).Float()) }
	req := js.Global().Get("Object").New()
	for _, name := range []string{"maxStorageBufferBindingSize", "maxBufferSize",
		"maxComputeWorkgroupStorageSize", "maxStorageBuffersPerShaderStage"} {
		req.Set(name, get(name))
	}
	desc := js.Global().Get("Object").New()
	desc.Set("label", "crema")
	desc.Set("requiredLimits", req)
	device, err := await(adapter.Call("requestDevice", desc))
	if err != nil {
		return nil, "", lim, fmt.Errorf("webgpu: device request failed: %v", err)
	}
	if !device.Truthy() {
		return nil, "", lim, errors.New("webgpu: device request failed: no device")
	}
	lim = limits{
		maxStorageBinding:  get("maxStorageBufferBindingSize"),
		maxBuffer:          get("maxBufferSize"),
		maxWorkgroupMemory: get("maxComputeWorkgroupStorageSize"),
		maxStorageBuffers:  get("maxStorageBuffersPerShaderStage"),
		uniformAlign:       max(int(get("minUniformBufferOffsetAlignment")), 256),
	}
	ex, err := startExecutor(device, lim.uniformAlign)
	if err != nil {
		device.Call("destroy")
		return nil, "", lim, err
	}
	return ex, adapterInfo(adapter), lim, nil
}

// adapterInfo is "vendor architecture device (description)" from adapter.info.
func adapterInfo(adapter js.Value) string {
	info := adapter.Get("info")
	if !info.Truthy() {
		return "unknown adapter"
	}
	var parts []string
	for _, k := range []string{"vendor", "architecture", "device"} {
		if v := info.Get(k); v.Truthy() {
			parts = append(parts, v.String())
		}
	}
	s := strings.Join(parts, " ")
	if d := info.Get("description"); d.Truthy() {
		s += " (" + d.String() + ")"
	}
	if s == "" {
		s = "unknown adapter"
	}
	return s
}

// jsExecutor is the executor of exec.js: Go copies the command stream, the
// uniforms and the data of writes and reads through three staging arrays in
// JavaScript, which exec.js grows on request.
type jsExecutor struct {
	dev js.Value // GPUDevice
	ex  js.Value // the object exec.js returns

	cmdU8, uniU8, stageU8    js.Value
	cmdCap, uniCap, stageCap int

	readOK, readFail js.Func
	readCh           chan promiseResult
}

// startExecutor evaluates exec.js as the body of a function of the device,
// the uniform slot size and the protocol tables, and binds the callbacks of
// reads once.
func startExecutor(device js.Value, uniformSlot int) (x *jsExecutor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("webgpu: starting the command executor: %v", r)
		}
	}()
	op, bind := protocol()
	mk := js.Global().Get("Function").New("device", "uniformSlot", "OP", "BIND", execJS)
	x = &jsExecutor{dev: device, readCh: make(chan promiseResult, 1)}
	x.ex = mk.Invoke(device, uniformSlot, js.ValueOf(op), js.ValueOf(bind))
	x.cmdU8 = x.ex.Call("cmdView", 0)
	x.uniU8 = x.ex.Call("uniView", 0)
	x.stageU8 = x.ex.Call("stageView", 0)
	x.cmdCap, x.uniCap, x.stageCap = x.cmdU8.Length(), x.uniU8.Length(), x.stageU8.Length()
	x.readOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		x.readCh <- promiseResult{v: args[0]}
		return nil
	})
	x.readFail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		x.readCh <- promiseResult{err: errors.New(jsString(args))}
		return nil
	})
	return x, nil
}

func (x *jsExecutor) newBuffer(id uint32, size int, label string, checked bool) error {
	if !checked {
		x.ex.Call("newBuffer", id, size, label)
		return nil
	}
	v, err := await(x.ex.Call("newBufferChecked", id, size, label))
	if err == nil && v.String() != "" {
		err = errors.New(v.String())
	}
	return err
}

func (x *jsExecutor) freeBuffer(id uint32) { x.ex.Call("freeBuffer", id) }

func (x *jsExecutor) newPipeline(id uint32, label, module, code, entry, bindings, constants string) {
	x.ex.Call("newPipeline", id, label, module, code, entry, bindings, constants)
}

// stage copies b into the staging array arr (of capacity *capacity bytes),
// asking view for a larger one first when b does not fit.
func (x *jsExecutor) stage(arr *js.Value, capacity *int, view string, b []byte) {
	if len(b) > *capacity {
		*arr = x.ex.Call(view, len(b))
		*capacity = arr.Length()
	}
	if len(b) > 0 {
		js.CopyBytesToJS(*arr, b)
	}
}

func (x *jsExecutor) run(cmds []uint32, uni []byte) {
	words := len(cmds)
	x.stage(&x.cmdU8, &x.cmdCap, "cmdView", bytesOfWords(cmds))
	x.stage(&x.uniU8, &x.uniCap, "uniView", uni)
	x.ex.Call("run", words, len(uni))
}

func (x *jsExecutor) write(id uint32, src []byte) {
	x.stage(&x.stageU8, &x.stageCap, "stageView", src)
	x.ex.Call("write", id, len(src))
}

func (x *jsExecutor) read(dst []byte, id uint32, off int) error {
	x.ex.Call("read", id, off, len(dst)).Call("then", x.readOK, x.readFail)
	r := <-x.readCh
	if r.err != nil {
		return r.err
	}
	x.stageU8 = r.v
	x.stageCap = r.v.Length()
	js.CopyBytesToGo(dst, r.v)
	return nil
}

func (x *jsExecutor) lost() string       { return x.ex.Call("lost").String() }
func (x *jsExecutor) takeErrors() string { return x.ex.Call("takeErrors").String() }
func (x *jsExecutor) destroy()           { x.dev.Call("destroy") }
