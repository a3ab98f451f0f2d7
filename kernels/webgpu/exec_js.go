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
	"time"
)

//go:embed exec.js
var execJS string

// Open requests a WebGPU adapter and a device with the limits crema needs,
// creates every pipeline, and returns a backend on them, or an error that
// says why there is none (backends.Open("auto") shows it to the user when it
// falls back to the CPU). It does not run the self-test (SelfTest;
// backends.Open does).
func Open() (*Backend, error) { return OpenWith(Options{}) }

// OpenWith is Open with options (tests of the error paths).
func OpenWith(opt Options) (*Backend, error) {
	ex, a, lim, err := openDevice(OpenWait)
	if err != nil {
		return nil, err
	}
	ex.wait = OpenWait
	ex.hang = opt.Fault == FaultHang
	g, err := newBackend(ex, a, lim, opt)
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

// await blocks the calling goroutine until p settles, or, when wait > 0,
// until wait has passed without progress: then it returns a *waitError
// saying what did not answer. Progress is a change of what progress returns
// (nil: none is counted, wait bounds the whole). It must not be called
// from inside a js.FuncOf callback (the event loop would be blocked).
func await(p js.Value, wait time.Duration, what string, progress func() int) (js.Value, error) {
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
	r, err := receive(ch, wait, what, progress)
	if err != nil {
		// ok and fail stay bound: p may still settle (into ch, which has
		// room for its one value and is read by no one).
		return js.Undefined(), err
	}
	ok.Release()
	fail.Release()
	return r.v, r.err
}

// receive waits for ch's value, or, when wait > 0, until wait has passed
// without progress (a change of what progress returns; nil: wait bounds the
// whole): then a *waitError saying what did not answer.
func receive(ch <-chan promiseResult, wait time.Duration, what string, progress func() int) (promiseResult, error) {
	if wait <= 0 {
		return <-ch, nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	last := 0
	if progress != nil {
		last = progress()
	}
	for {
		select {
		case r := <-ch:
			return r, nil
		case <-timer.C:
			if progress != nil {
				if n := progress(); n != last {
					last = n
					timer.Reset(wait)
					continue
				}
			}
			return promiseResult{}, &waitError{what: what, wait: wait}
		}
	}
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
// Each answer is awaited for at most wait (none when 0).
func openDevice(wait time.Duration) (*jsExecutor, adapter, limits, error) {
	var lim limits
	var a adapter
	nav := js.Global().Get("navigator")
	if !nav.Truthy() || !nav.Get("gpu").Truthy() {
		return nil, a, lim, errors.New("webgpu: this browser has no navigator.gpu (WebGPU is unsupported or disabled)")
	}
	gpu := nav.Get("gpu")
	opts := js.Global().Get("Object").New()
	opts.Set("powerPreference", "high-performance")
	ad, err := await(gpu.Call("requestAdapter", opts), wait, "requestAdapter", nil)
	if errors.As(err, new(*waitError)) {
		return nil, a, lim, err
	}
	if err != nil {
		return nil, a, lim, fmt.Errorf("webgpu: requestAdapter failed: %v", err)
	}
	if !ad.Truthy() {
		return nil, a, lim, errors.New("webgpu: navigator.gpu gave no adapter (no usable GPU, or it is blocklisted)")
	}

	al := ad.Get("limits")
	get := func(name string) int64 { return int64(al.Get(name).Float()) }
	req := js.Global().Get("Object").New()
	for _, name := range []string{"maxStorageBufferBindingSize", "maxBufferSize",
		"maxComputeWorkgroupStorageSize", "maxStorageBuffersPerShaderStage"} {
		req.Set(name, get(name))
	}
	desc := js.Global().Get("Object").New()
	desc.Set("label", "crema")
	desc.Set("requiredLimits", req)
	device, err := await(ad.Call("requestDevice", desc), wait, "requestDevice", nil)
	if errors.As(err, new(*waitError)) {
		return nil, a, lim, err
	}
	if err != nil {
		return nil, a, lim, fmt.Errorf("webgpu: device request failed: %v", err)
	}
	if !device.Truthy() {
		return nil, a, lim, errors.New("webgpu: device request failed: no device")
	}
	lim = limits{
		maxStorageBinding:  get("maxStorageBufferBindingSize"),
		maxBuffer:          get("maxBufferSize"),
		maxWorkgroupMemory: get("maxComputeWorkgroupStorageSize"),
		maxStorageBuffers:  get("maxStorageBuffersPerShaderStage"),
		uniformAlign:       max(int(get("minUniformBufferOffsetAlignment")), 256),
	}
	if lim.maxStorageBuffers < 7 || lim.maxWorkgroupMemory < 16<<10 {
		device.Call("destroy")
		return nil, a, lim, fmt.Errorf("webgpu: the adapter allows %d storage buffers per shader and %d bytes of workgroup memory; crema needs 7 and 16384",
			lim.maxStorageBuffers, lim.maxWorkgroupMemory)
	}
	ex, err := startExecutor(device, lim.uniformAlign)
	if err != nil {
		device.Call("destroy")
		return nil, a, lim, err
	}
	return ex, adapterOf(ad, nav), lim, nil
}

// adapterOf gathers what the browser tells about the adapter: adapter.info
// ("vendor architecture device (description)"), whether it is a fallback
// (software) adapter, and the machine's cores and memory.
func adapterOf(ad, nav js.Value) adapter {
	a := adapter{info: "unknown adapter"}
	if c := nav.Get("hardwareConcurrency"); c.Type() == js.TypeNumber {
		a.cores = c.Int()
	}
	if m := nav.Get("deviceMemory"); m.Type() == js.TypeNumber {
		a.memoryGiB = m.Float()
	}
	if f := ad.Get("isFallbackAdapter"); f.Type() == js.TypeBoolean {
		a.fallback = f.Bool()
	}
	info := ad.Get("info")
	if !info.Truthy() {
		return a
	}
	if f := info.Get("isFallbackAdapter"); f.Type() == js.TypeBoolean {
		a.fallback = a.fallback || f.Bool()
	}
	str := func(k string) string {
		if v := info.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	a.vendor, a.arch = strings.ToLower(str("vendor")), strings.ToLower(str("architecture"))
	var parts []string
	for _, k := range []string{"vendor", "architecture", "device"} {
		if v := str(k); v != "" {
			parts = append(parts, v)
		}
	}
	s := strings.Join(parts, " ")
	if d := str("description"); d != "" {
		s = strings.TrimSpace(s + " (" + d + ")")
	}
	if s != "" {
		a.info = s
	}
	return a
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

	wait time.Duration // how long a wait for the device may last (0: no limit)
	hang bool          // FaultHang: reads never answer
}

// limitWaits sets how long each later wait for the device may last (0: no
// limit).
func (x *jsExecutor) limitWaits(d time.Duration) { x.wait = d }

// bindReads binds the callbacks of reads to a new channel. A read that
// gave up waiting leaves its callbacks bound to the old one, so that its
// late answer cannot be taken for the next read's.
func (x *jsExecutor) bindReads() {
	ch := make(chan promiseResult, 1)
	x.readCh = ch
	x.readOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- promiseResult{v: args[0]}
		return nil
	})
	x.readFail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- promiseResult{err: errors.New(jsString(args))}
		return nil
	})
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
	x = &jsExecutor{dev: device}
	x.ex = mk.Invoke(device, uniformSlot, js.ValueOf(op), js.ValueOf(bind))
	x.cmdU8 = x.ex.Call("cmdView", 0)
	x.uniU8 = x.ex.Call("uniView", 0)
	x.stageU8 = x.ex.Call("stageView", 0)
	x.cmdCap, x.uniCap, x.stageCap = x.cmdU8.Length(), x.uniU8.Length(), x.stageU8.Length()
	x.bindReads()
	return x, nil
}

func (x *jsExecutor) newBuffer(id uint32, size int, label string, checked bool) error {
	if !checked {
		x.ex.Call("newBuffer", id, size, label)
		return nil
	}
	v, err := await(x.ex.Call("newBufferChecked", id, size, label), x.wait, "allocating a buffer", nil)
	if err == nil && v.String() != "" {
		err = &gpuError{msg: v.String()}
	}
	return err
}

func (x *jsExecutor) freeBuffer(id uint32) { x.ex.Call("freeBuffer", id) }

func (x *jsExecutor) newPipelines(ps []pipelineSpec) error {
	list := make([]any, len(ps))
	for i, p := range ps {
		list[i] = []any{p.id, p.label, p.module, p.code, p.entry, p.bindings, p.constants}
	}
	v, err := await(x.ex.Call("newPipelines", js.ValueOf(list)), x.wait,
		"compiling the shaders: none finished in that time", func() int { return x.ex.Call("compiled").Int() })
	if err != nil {
		return err
	}
	if msg := v.String(); msg != "" {
		return &gpuError{msg: msg}
	}
	return nil
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
	p, wait := x.ex.Call("read", id, off, len(dst)), x.wait
	if x.hang {
		p = js.Global().Get("Promise").Call("race", js.Global().Get("Array").New()) // never settles
		wait = HangWait
	}
	p.Call("then", x.readOK, x.readFail)
	r, err := receive(x.readCh, wait, "reading a buffer", nil)
	if err != nil {
		x.bindReads()
		return err
	}
	if r.err != nil {
		return r.err
	}
	if r.v.Type() == js.TypeString {
		return &gpuError{msg: r.v.String()}
	}
	x.stageU8 = r.v
	x.stageCap = r.v.Length()
	js.CopyBytesToGo(dst, r.v)
	return nil
}

func (x *jsExecutor) lost() string { return x.ex.Call("lost").String() }
func (x *jsExecutor) destroy()     { x.dev.Call("destroy") }
