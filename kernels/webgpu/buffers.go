package webgpu

import (
	"errors"
	"fmt"
)

// Freed buffers are kept for reuse (zeroed on reuse) up to this many bytes.
const maxPooledBytes = 256 << 20

// Buffers at least this large are created and their error scopes awaited at
// once, so that an out-of-memory failure becomes an Alloc error (the backend
// stays usable) instead of an error at the next Read (which breaks it).
const checkedAllocBytes = 64 << 20

// tensor is a WebGPU buffer of n float32s (size bytes, a multiple of 16).
type tensor struct {
	id      uint32
	n       int
	size    int
	owner   *Backend
	freed   bool
	version uint64 // bumped whenever an operation writes the tensor
}

func (t *tensor) Len() int { return t.n }

// derived is a tensor computed from another one, valid while that one's
// version is unchanged.
type derived struct {
	t       *tensor
	version uint64
}

// The backend's internal scratch tensors, grown on demand.
const (
	scratchPartial = iota // reduction partials
	scratchKeys           // sort keys
	scratchIDs            // sort ids
	scratchSplitK         // split-K partial products
	scratchMask           // the ReLU-masked dy of Conv3x3Backward
	scratchDots           // Dots partials
	numScratch
)

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// newTensor creates a zeroed buffer of n floats, from the pool when one of
// the same size was freed.
func (g *Backend) newTensor(n int, label string) (*tensor, error) {
	if n < 0 {
		return nil, fmt.Errorf("webgpu: cannot allocate %d floats", n)
	}
	if int64(n) > (1<<32-16)/4 {
		return nil, devErr(false, "webgpu: cannot allocate %d floats (%.1f MiB): over this GPU's limit of %.1f MiB per buffer",
			n, mib(int64(n)*4), mib(min(g.limits.maxBuffer, g.limits.maxStorageBinding)))
	}
	size := (max(n, 1)*4 + 15) &^ 15
	if int64(size) > g.limits.maxBuffer || int64(size) > g.limits.maxStorageBinding {
		return nil, devErr(false, "webgpu: cannot allocate %d floats (%.1f MiB): over this GPU's limit of %.1f MiB per buffer (maxBufferSize %.1f MiB, maxStorageBufferBindingSize %.1f MiB)",
			n, mib(int64(n)*4), mib(min(g.limits.maxBuffer, g.limits.maxStorageBinding)), mib(g.limits.maxBuffer), mib(g.limits.maxStorageBinding))
	}
	if ids := g.pool[size]; len(ids) > 0 {
		id := ids[len(ids)-1]
		g.pool[size] = ids[:len(ids)-1]
		g.pooled -= int64(size)
		g.live += int64(size)
		g.clearBuffer(id, size)
		return &tensor{id: id, n: n, size: size, owner: g}, nil
	}
	if g.live+g.pooled+int64(size) > g.budget {
		g.drainPool()
	}
	if g.live+int64(size) > g.budget {
		return nil, devErr(false, "webgpu: cannot allocate %d floats (%.1f MiB): %.1f MiB are in use and this GPU's budget is %.1f MiB",
			n, mib(int64(n)*4), mib(g.live), mib(g.budget))
	}
	if g.oom {
		g.oom = false
		return nil, devErr(false, "webgpu: cannot allocate %d floats (%.1f MiB): out of memory (injected by a test)", n, mib(int64(n)*4))
	}
	g.nextID++
	id := g.nextID
	checked := size >= checkedAllocBytes
	if err := g.ex.newBuffer(id, size, label, checked); errors.As(err, new(*waitError)) {
		return nil, g.breakDown(devErr(true, "%v", err), true)
	} else if err != nil {
		g.ex.freeBuffer(id)
		return nil, devErr(false, "webgpu: cannot allocate %d floats (%.1f MiB): %v", n, mib(int64(n)*4), err)
	}
	g.live += int64(size)
	return &tensor{id: id, n: n, size: size, owner: g}, nil
}

// release returns t's buffer to the pool (or destroys it after the next
// flush when the pool is full).
func (g *Backend) release(t *tensor) {
	if t == nil || t.freed {
		return
	}
	t.freed = true
	g.live -= int64(t.size)
	if g.pooled+int64(t.size) <= maxPooledBytes && g.broken == nil {
		g.pool[t.size] = append(g.pool[t.size], t.id)
		g.pooled += int64(t.size)
		return
	}
	g.doomed = append(g.doomed, t.id)
}

// drainPool destroys every pooled buffer (after the pending commands, which
// may still use them, are submitted).
func (g *Backend) drainPool() {
	for size, ids := range g.pool {
		g.doomed = append(g.doomed, ids...)
		delete(g.pool, size)
	}
	g.pooled = 0
	g.flush()
}

// scratchOf returns internal scratch tensor which with at least n floats,
// or nil (the error is kept for the next Read) when it cannot be allocated.
func (g *Backend) scratchOf(which, n int) *tensor {
	if s := g.scratch[which]; s != nil && s.n >= n {
		return s
	}
	if s := g.scratch[which]; s != nil {
		g.release(s)
		g.scratch[which] = nil
	}
	s, err := g.newTensor(n, "crema scratch")
	if err != nil {
		g.keep(err)
		return nil
	}
	g.scratch[which] = s
	return s
}

// keep records err for the next Read, unless an earlier error is waiting.
func (g *Backend) keep(err error) {
	if g.err == nil {
		g.err = err
	}
}
