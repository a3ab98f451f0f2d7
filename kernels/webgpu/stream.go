package webgpu

import (
	"errors"
	"fmt"
	"unsafe"
)

// The command stream: operations are recorded as uint32 words in g.cmds and
// their uniforms in g.uni, one slot of limits.uniformAlign bytes per
// dispatch; flush hands both to the executor in one call. Each command is a
// command word and its operands:
//
//	cmdDispatch pipe slot gx gy gz nb id_1..id_nb
//	    dispatch pipeline pipe over gx×gy×gz workgroups with uniform slot
//	    slot and storage buffers id_1.. bound in the order of the
//	    pipeline's bindings
//	cmdCopy src srcOff dst dstOff size
//	    copy size bytes of buffer src from srcOff to buffer dst at dstOff
//	cmdClear id size
//	    zero the first size bytes of buffer id
//
// exec.js decodes the stream with the names of protocol, which it receives
// when it is instantiated: no number is written twice.
type command uint32

const (
	cmdDispatch command = iota + 1
	cmdCopy
	cmdClear
)

// protocol is the table exec.js is instantiated with: OP names the command
// words, BIND the binding kinds of a pipeline's layout.
func protocol() (op, bind map[string]any) {
	op = map[string]any{
		"DISPATCH": uint32(cmdDispatch),
		"COPY":     uint32(cmdCopy),
		"CLEAR":    uint32(cmdClear),
	}
	bind = map[string]any{
		"UNIFORM": string(rune(bindUniform)),
		"READ":    string(rune(bindRead)),
		"WRITE":   string(rune(bindWrite)),
		"NONE":    string(rune(bindNone)),
	}
	return op, bind
}

// Flush threshold: the recorded commands are submitted at Read/Write or
// when this many dispatches are pending.
const maxPendingDispatches = 512

// dispatch records one dispatch of k over gx×gy×gz workgroups with the
// uniform params (a value of k's module's struct) and one tensor per storage
// binding of k.bindings. Tensors bound read-write get their version bumped.
func (g *Backend) dispatch(k *kernelSpec, params any, gx, gy, gz int, ts ...*tensor) {
	if g.broken != nil || gx == 0 || gy == 0 || gz == 0 {
		return
	}
	if gx > maxGroups || gy > maxGroups || gz > maxGroups {
		panic(fmt.Sprintf("webgpu: %s dispatched over %d×%d×%d workgroups, beyond %d per dimension", k.name, gx, gy, gz, maxGroups))
	}
	k.checkUniform(params)
	pid := g.pipeline(k)
	slot := uint32(g.slots)
	off := g.slots * g.limits.uniformAlign
	need := off + g.limits.uniformAlign
	if cap(g.uni) < need {
		g.uni = append(g.uni[:cap(g.uni)], make([]byte, need-cap(g.uni))...)
	}
	g.uni = g.uni[:need]
	encodeUniform(g.uni[off:need], params)
	g.slots++
	g.cmds = append(g.cmds, uint32(cmdDispatch), pid, slot, uint32(gx), uint32(gy), uint32(gz), uint32(len(ts)))
	j := 0
	for _, c := range k.bindings {
		if c == bindUniform || c == bindNone {
			continue
		}
		if j >= len(ts) {
			break
		}
		t := ts[j]
		if t.freed {
			panic("webgpu: " + k.name + " uses a freed tensor")
		}
		if c == bindWrite {
			t.version++
		}
		g.cmds = append(g.cmds, t.id)
		j++
	}
	if j != len(ts) || j != storageBindings(k.bindings) {
		panic(fmt.Sprintf("webgpu: %s takes %d tensors, got %d", k.name, storageBindings(k.bindings), len(ts)))
	}
	g.dispatches++
	g.stats.Dispatches++
	if g.dispatches >= maxPendingDispatches {
		g.flush()
	}
}

// maxGroups is WebGPU's default maxComputeWorkgroupsPerDimension, the most
// workgroups a dispatch may have along each of x, y and z (crema does not
// request more).
const maxGroups = 65535

// fold spreads n workgroups over a grid gx × gy with both at most
// maxGroups: gx·gy ≥ n, and fewer than gx workgroups of the last row are
// surplus (a shader numbers its workgroups wg.y·gx + wg.x and returns from
// those ≥ n).
func fold(n int) (gx, gy int) {
	if n <= maxGroups {
		return n, 1
	}
	gy = (n + maxGroups - 1) / maxGroups
	return (n + gy - 1) / gy, gy
}

// groups1D is the workgroup count of a grid-stride kernel over n elements
// with 256 threads per workgroup.
func groups1D(n int) int {
	if n <= 0 {
		return 0
	}
	return min((n+255)/256, maxGroups)
}

// storageBindings counts the storage buffers of a binding layout.
func storageBindings(bindings string) int {
	n := 0
	for _, c := range bindings {
		if c == bindRead || c == bindWrite {
			n++
		}
	}
	return n
}

// copyBuffer records dst[dstOff:] = src[srcOff:] for n floats.
func (g *Backend) copyBuffer(dst *tensor, dstOff int, src *tensor, srcOff, n int) {
	if g.broken != nil || n == 0 {
		return
	}
	dst.version++
	g.cmds = append(g.cmds, uint32(cmdCopy), src.id, uint32(srcOff*4), dst.id, uint32(dstOff*4), uint32(n*4))
}

// clearBuffer records zeroing the first size bytes of buffer id.
func (g *Backend) clearBuffer(id uint32, size int) {
	g.cmds = append(g.cmds, uint32(cmdClear), id, uint32(size))
}

// flush submits the recorded commands in one call, then destroys buffers
// that were waiting for them.
func (g *Backend) flush() {
	if g.broken != nil {
		g.cmds, g.uni, g.slots, g.dispatches, g.doomed = g.cmds[:0], g.uni[:0], 0, 0, g.doomed[:0]
		return
	}
	if g.poison && len(g.cmds) > 0 {
		// InjectFault(FaultValidation): a copy past the end of the dummy
		// buffer, which invalidates the whole command buffer, as an invalid
		// dispatch would.
		g.poison = false
		g.cmds = append(g.cmds, uint32(cmdCopy), g.dummy.id, 0, g.dummy.id, 0, 1<<20)
	}
	if len(g.cmds) > 0 {
		g.ex.run(g.cmds, g.uni)
		g.stats.Submits++
	}
	g.cmds, g.uni, g.slots, g.dispatches = g.cmds[:0], g.uni[:0], 0, 0
	for _, id := range g.doomed {
		g.ex.freeBuffer(id)
	}
	g.doomed = g.doomed[:0]
}

// bytesOf is the memory of s as bytes (no copy).
func bytesOf(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

// bytesOfWords is the memory of s as bytes (no copy).
func bytesOfWords(s []uint32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

// upload writes src into t (after submitting what was recorded before).
func (g *Backend) upload(t *tensor, src []float32) {
	if g.broken != nil || len(src) == 0 {
		return
	}
	g.flush()
	g.ex.write(t.id, bytesOf(src))
	t.version++
}

// download waits for the recorded work and the verdicts of its error
// scopes, and copies t[off:off+len(dst)] into dst. A device error or loss
// breaks the backend.
func (g *Backend) download(dst []float32, t *tensor, off int) error {
	if g.broken != nil {
		return g.fail(g.broken)
	}
	g.flush()
	if why := g.ex.lost(); why != "" {
		return g.breakDown(devErr(true, "webgpu: the GPU device was lost (%s)", why), false)
	}
	g.stats.Reads++
	err := g.ex.read(bytesOf(dst), t.id, off*4)
	var ge *gpuError
	var we *waitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we):
		// The device may answer later or never: it is not used again.
		return g.breakDown(devErr(true, "%v", we), true)
	case errors.As(err, &ge):
		// The device rejected work since the last read: its results (and
		// those of every batch after it) cannot be trusted.
		return g.breakDown(devErr(false, "webgpu: %s", ge.msg), true)
	default:
		// A readback only fails this way when the device is gone
		// (destroyed, reset): from here on, every operation is a no-op.
		why := g.ex.lost()
		if why == "" {
			why = err.Error()
		}
		return g.breakDown(devErr(true, "webgpu: the GPU device was lost (%s)", why), false)
	}
}
