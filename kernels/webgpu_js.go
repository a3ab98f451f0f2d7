//go:build js

package kernels

// This file is the thin WebGPU layer under the WebGPU backend: the adapter
// and device, buffers, pipelines, the command stream and readback. The GPU
// objects live in JavaScript (webgpu_exec.js); Go records operations as
// uint32 words and hands them over in one call per flush.

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strings"
	"syscall/js"
	"unsafe"
)

//go:embed webgpu_exec.js
var webgpuExecJS string

// WebGPUBudgetBytes bounds the bytes the WebGPU backend keeps allocated at
// once (live tensors, its scratch and its pool of freed buffers). Browsers do
// not tell how much GPU memory there is; 2 GiB holds a 512² style transfer
// through conv5_1 and fits integrated GPUs. Alloc fails with a message beyond
// it, and beyond the adapter's maxBufferSize / maxStorageBufferBindingSize
// for one tensor. Set it before Open.
var WebGPUBudgetBytes int64 = 2 << 30

// Flush thresholds: the recorded commands are submitted at Read/Write or
// when this many dispatches are pending.
const maxPendingDispatches = 512

// Freed buffers are kept for reuse (zeroed on reuse) up to this many bytes.
const maxPooledBytes = 256 << 20

// Buffers at least this large are created inside error scopes, so that an
// out-of-memory failure becomes an Alloc error instead of a broken tensor.
const checkedAllocBytes = 64 << 20

// gpuTensor is a WebGPU buffer of n float32s (size bytes, a multiple of 16).
type gpuTensor struct {
	id      uint32
	n       int
	size    int
	owner   *WebGPU
	freed   bool
	version uint64 // bumped whenever an operation writes the tensor
}

func (t *gpuTensor) Len() int { return t.n }

// gpuLimits are the adapter limits crema requests and sizes work by.
type gpuLimits struct {
	maxStorageBinding  int64
	maxBuffer          int64
	maxWorkgroupMemory int64
	maxStorageBuffers  int64
	uniformAlign       int
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

// openWebGPU requests an adapter and a device with the limits crema needs.
func openWebGPU() (Backend, error) {
	nav := js.Global().Get("navigator")
	if !nav.Truthy() || !nav.Get("gpu").Truthy() {
		return nil, errors.New("kernels: webgpu: this browser has no navigator.gpu (WebGPU is unsupported or disabled)")
	}
	gpu := nav.Get("gpu")
	opts := js.Global().Get("Object").New()
	opts.Set("powerPreference", "high-performance")
	adapter, err := await(gpu.Call("requestAdapter", opts))
	if err != nil {
		return nil, fmt.Errorf("kernels: webgpu: requestAdapter failed: %v", err)
	}
	if !adapter.Truthy() {
		return nil, errors.New("kernels: webgpu: navigator.gpu gave no adapter (no usable GPU, or it is blocklisted)")
	}

	al := adapter.Get("limits")
	lim := func(name string) int64 { return int64(al.Get(name).Float()) }
	req := js.Global().Get("Object").New()
	for _, name := range []string{"maxStorageBufferBindingSize", "maxBufferSize",
		"maxComputeWorkgroupStorageSize", "maxStorageBuffersPerShaderStage"} {
		req.Set(name, lim(name))
	}
	desc := js.Global().Get("Object").New()
	desc.Set("label", "crema")
	desc.Set("requiredLimits", req)
	device, err := await(adapter.Call("requestDevice", desc))
	if err != nil {
		return nil, fmt.Errorf("kernels: webgpu: device request failed: %v", err)
	}
	if !device.Truthy() {
		return nil, errors.New("kernels: webgpu: device request failed: no device")
	}

	g := &WebGPU{
		dev:  device,
		info: adapterInfo(adapter),
		limits: gpuLimits{
			maxStorageBinding:  lim("maxStorageBufferBindingSize"),
			maxBuffer:          lim("maxBufferSize"),
			maxWorkgroupMemory: lim("maxComputeWorkgroupStorageSize"),
			maxStorageBuffers:  lim("maxStorageBuffersPerShaderStage"),
			uniformAlign:       int(lim("minUniformBufferOffsetAlignment")),
		},
		pipes:   map[string]uint32{},
		pool:    map[int][]uint32{},
		readCh:  make(chan promiseResult, 1),
		flipped: map[*gpuTensor]*derived{},
		tables:  map[[2]int]*gpuTensor{},
	}
	// Byte sizes and offsets travel as uint32 words in the command stream
	// and elements are indexed with u32 in WGSL.
	g.limits.maxBuffer = min(g.limits.maxBuffer, 1<<32-16)
	g.limits.maxStorageBinding = min(g.limits.maxStorageBinding, 1<<32-16)
	if g.limits.uniformAlign < 256 {
		g.limits.uniformAlign = 256
	}
	low := strings.ToLower(g.info)
	g.software = strings.Contains(low, "swiftshader") || strings.Contains(low, "llvmpipe") ||
		strings.Contains(low, "lavapipe") || strings.Contains(low, "cpu")
	g.convK = map[convTile]*convKernels{}
	if err := g.init(); err != nil {
		device.Call("destroy")
		return nil, err
	}
	return g, nil
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

// init evaluates the JavaScript half and binds the callbacks once.
func (g *WebGPU) init() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kernels: webgpu: starting the command executor: %v", r)
		}
	}()
	mk := js.Global().Get("Function").New("device", "uniformSlot", webgpuExecJS)
	g.ex = mk.Invoke(g.dev, g.limits.uniformAlign)
	g.cmdU8 = g.ex.Call("cmdView", 0)
	g.uniU8 = g.ex.Call("uniView", 0)
	g.stageU8 = g.ex.Call("stageView", 0)
	g.cmdCap, g.uniCap, g.stageCap = g.cmdU8.Length(), g.uniU8.Length(), g.stageU8.Length()

	g.readOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		g.readCh <- promiseResult{v: args[0]}
		return nil
	})
	g.readFail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		g.readCh <- promiseResult{err: errors.New(jsString(args))}
		return nil
	})
	// A 16-byte buffer bound where an operation has no tensor for a slot.
	g.dummy, err = g.newTensor(4, "crema dummy")
	return err
}

// ---- buffers ----

// newTensor creates a zeroed buffer of n floats, from the pool when one of
// the same size was freed.
func (g *WebGPU) newTensor(n int, label string) (*gpuTensor, error) {
	if n < 0 {
		return nil, fmt.Errorf("kernels: webgpu: cannot allocate %d floats", n)
	}
	size := (max(n, 1)*4 + 15) &^ 15
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	if int64(size) > g.limits.maxBuffer || int64(size) > g.limits.maxStorageBinding {
		return nil, fmt.Errorf("kernels: webgpu: cannot allocate %d floats (%.1f MiB): over this GPU's limit of %.1f MiB per buffer (maxBufferSize %.1f MiB, maxStorageBufferBindingSize %.1f MiB)",
			n, mb(int64(n)*4), mb(min(g.limits.maxBuffer, g.limits.maxStorageBinding)), mb(g.limits.maxBuffer), mb(g.limits.maxStorageBinding))
	}
	if ids := g.pool[size]; len(ids) > 0 {
		id := ids[len(ids)-1]
		g.pool[size] = ids[:len(ids)-1]
		g.pooled -= int64(size)
		g.live += int64(size)
		g.cmds = append(g.cmds, 3, id, uint32(size))
		return &gpuTensor{id: id, n: n, size: size, owner: g}, nil
	}
	if g.live+g.pooled+int64(size) > WebGPUBudgetBytes {
		g.drainPool()
	}
	if g.live+int64(size) > WebGPUBudgetBytes {
		return nil, fmt.Errorf("kernels: webgpu: cannot allocate %d floats (%.1f MiB): %.1f MiB are in use and the budget is %.1f MiB (kernels.WebGPUBudgetBytes)",
			n, mb(int64(n)*4), mb(g.live), mb(WebGPUBudgetBytes))
	}
	g.nextID++
	id := g.nextID
	if size >= checkedAllocBytes {
		g.flush()
		v, err := await(g.ex.Call("newBufferChecked", id, size, label))
		if err == nil && v.String() != "" {
			err = errors.New(v.String())
		}
		if err != nil {
			g.ex.Call("freeBuffer", id)
			return nil, fmt.Errorf("kernels: webgpu: cannot allocate %d floats (%.1f MiB): %v", n, mb(int64(n)*4), err)
		}
	} else {
		g.ex.Call("newBuffer", id, size, label)
	}
	g.live += int64(size)
	return &gpuTensor{id: id, n: n, size: size, owner: g}, nil
}

// release returns t's buffer to the pool (or destroys it after the next
// flush when the pool is full).
func (g *WebGPU) release(t *gpuTensor) {
	if t == nil || t.freed {
		return
	}
	t.freed = true
	g.live -= int64(t.size)
	if g.pooled+int64(t.size) <= maxPooledBytes && !g.lost {
		g.pool[t.size] = append(g.pool[t.size], t.id)
		g.pooled += int64(t.size)
		return
	}
	g.doomed = append(g.doomed, t.id)
}

// drainPool destroys every pooled buffer (after the pending commands, which
// may still use them, are submitted).
func (g *WebGPU) drainPool() {
	for size, ids := range g.pool {
		g.doomed = append(g.doomed, ids...)
		delete(g.pool, size)
	}
	g.pooled = 0
	g.flush()
}

// ---- pipelines ----

// kernelSpec names one compute pipeline: an entry point of an embedded WGSL
// module, its binding layout and its override constants.
type kernelSpec struct {
	name      string // label, unique
	module    string // file under wgsl/
	entry     string
	spec      string // per binding number: u uniform, r read-only, w read-write, - none
	constants string // "NAME=v,..." or ""
}

// pipeline returns the id of k's pipeline, creating it on first use.
func (g *WebGPU) pipeline(k *kernelSpec) uint32 {
	if id, ok := g.pipes[k.name]; ok {
		return id
	}
	src, err := wgslFiles.ReadFile("wgsl/" + k.module)
	if err != nil {
		panic("kernels: webgpu: missing shader " + k.module)
	}
	id := uint32(len(g.pipes))
	g.ex.Call("newPipeline", id, "crema "+k.name, k.module, string(src), k.entry, k.spec, k.constants)
	g.pipes[k.name] = id
	return id
}

// ---- the command stream ----

// dispatch records one dispatch of k over groups workgroups with the uniform
// words uni (nil for none) and one tensor per storage binding of k.spec.
// Tensors bound read-write get their version bumped.
func (g *WebGPU) dispatch(k *kernelSpec, uni []uint32, gx, gy, gz int, ts ...*gpuTensor) {
	if g.lost || gx == 0 || gy == 0 || gz == 0 {
		return
	}
	pid := g.pipeline(k)
	slot := uint32(math.MaxUint32)
	if uni != nil {
		slot = uint32(g.slots)
		off := g.slots * g.limits.uniformAlign
		need := off + g.limits.uniformAlign
		if cap(g.uni) < need {
			g.uni = append(g.uni[:cap(g.uni)], make([]byte, need-cap(g.uni))...)
		}
		g.uni = g.uni[:need]
		for i, w := range uni {
			*(*uint32)(unsafe.Pointer(&g.uni[off+4*i])) = w
		}
		g.slots++
	}
	g.cmds = append(g.cmds, 1, pid, slot, uint32(gx), uint32(gy), uint32(gz), uint32(len(ts)))
	j := 0
	for _, c := range k.spec {
		if c == 'u' || c == '-' {
			continue
		}
		t := ts[j]
		if t.freed {
			panic("kernels: webgpu: " + k.name + " uses a freed tensor")
		}
		if c == 'w' {
			t.version++
		}
		g.cmds = append(g.cmds, t.id)
		j++
	}
	if j != len(ts) {
		panic(fmt.Sprintf("kernels: webgpu: %s takes %d tensors, got %d", k.name, j, len(ts)))
	}
	g.dispatches++
	if g.dispatches >= maxPendingDispatches {
		g.flush()
	}
}

// copyBuffer records dst[dstOff:] = src[srcOff:] for n floats.
func (g *WebGPU) copyBuffer(dst *gpuTensor, dstOff int, src *gpuTensor, srcOff, n int) {
	if g.lost || n == 0 {
		return
	}
	dst.version++
	g.cmds = append(g.cmds, 2, src.id, uint32(srcOff*4), dst.id, uint32(dstOff*4), uint32(n*4))
}

// flush submits the recorded commands in one call, then destroys buffers
// that were waiting for them.
func (g *WebGPU) flush() {
	if g.lost {
		g.cmds, g.uni, g.slots, g.dispatches, g.doomed = g.cmds[:0], g.uni[:0], 0, 0, g.doomed[:0]
		return
	}
	if len(g.cmds) > 0 {
		cb := unsafe.Slice((*byte)(unsafe.Pointer(&g.cmds[0])), len(g.cmds)*4)
		if len(cb) > g.cmdCap {
			g.cmdU8 = g.ex.Call("cmdView", len(cb))
			g.cmdCap = g.cmdU8.Length()
		}
		js.CopyBytesToJS(g.cmdU8, cb)
		if len(g.uni) > g.uniCap {
			g.uniU8 = g.ex.Call("uniView", len(g.uni))
			g.uniCap = g.uniU8.Length()
		}
		if len(g.uni) > 0 {
			js.CopyBytesToJS(g.uniU8, g.uni)
		}
		g.ex.Call("run", len(g.cmds), len(g.uni))
		g.submits++
	}
	g.cmds, g.uni, g.slots, g.dispatches = g.cmds[:0], g.uni[:0], 0, 0
	for _, id := range g.doomed {
		g.ex.Call("freeBuffer", id)
	}
	g.doomed = g.doomed[:0]
}

// upload writes src into t (after submitting what was recorded before).
func (g *WebGPU) upload(t *gpuTensor, src []float32) {
	if g.lost || len(src) == 0 {
		return
	}
	g.flush()
	b := unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), len(src)*4)
	if len(b) > g.stageCap {
		g.stageU8 = g.ex.Call("stageView", len(b))
		g.stageCap = g.stageU8.Length()
	}
	js.CopyBytesToJS(g.stageU8, b)
	g.ex.Call("write", t.id, len(b))
	t.version++
}

// download waits for the recorded work and copies t[off:off+len(dst)] into dst.
func (g *WebGPU) download(dst []float32, t *gpuTensor, off int) error {
	if g.lost {
		return g.lostError()
	}
	g.flush()
	if why := g.ex.Call("lost").String(); why != "" {
		// device.lost resolved: from here on, every operation is a no-op.
		g.lost, g.lostMsg = true, why
		return g.lostError()
	}
	if msg := g.ex.Call("takeErrors").String(); msg != "" {
		return fmt.Errorf("kernels: webgpu: %s", msg)
	}
	if len(dst) == 0 {
		return nil
	}
	n := len(dst) * 4
	g.ex.Call("read", t.id, off*4, n).Call("then", g.readOK, g.readFail)
	r := <-g.readCh
	if r.err != nil {
		// A readback only fails when the device is gone (destroyed, reset,
		// out of memory): from here on, every operation is a no-op.
		g.lost = true
		if g.lostMsg == "" {
			g.lostMsg = r.err.Error()
		}
		return g.lostError()
	}
	g.stageU8 = r.v
	g.stageCap = r.v.Length()
	js.CopyBytesToGo(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), n), r.v)
	return nil
}

func (g *WebGPU) lostError() error {
	return fmt.Errorf("kernels: webgpu: %s: %w", g.lostMsg, ErrDeviceLost)
}

// DestroyDevice destroys the GPU device under b, a WebGPU backend, as a
// driver reset would: later operations do nothing and Read returns an error
// wrapping ErrDeviceLost. It is for tests of the fallback path; on other
// backends it does nothing.
func DestroyDevice(b Backend) {
	if g, ok := b.(*WebGPU); ok {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.dev.Call("destroy")
	}
}
