package pool

import (
	"strconv"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/naive"
)

// Backend is the CPU backend with its convolutions split over a pool's
// helpers. Every other operation is the wrapped backend's; the operations
// that write a tensor also drop that tensor's weight slices from the
// helpers, should it be a weight tensor (it is then sent again when next
// used), and the share of it kept here. Like a run's use of any backend,
// its operations are called one at a time (it keeps scratch between calls).
type Backend struct {
	kernels.Backend // the wrapped CPU backend, c
	c               *cpu.Backend
	p               *Pool
	masked          []float32   // dy ⊙ [y > 0], the helpers' input of Conv3x3Backward
	parts           [][]float32 // a split by pixels' outputs, share by share, before they are placed
	crop            []float32   // a share's rows of a split by pixels' input (cropped)
}

var _ kernels.Backend = (*Backend)(nil)

// Wrap returns c with its convolutions split over p's helpers.
func (p *Pool) Wrap(c *cpu.Backend) *Backend { return &Backend{Backend: c, c: c, p: p} }

// Pool returns the backend's pool.
func (b *Backend) Pool() *Pool { return b.p }

// Describe is the wrapped backend's, with the pool.
func (b *Backend) Describe() string {
	s := b.p.Status()
	d := b.Backend.Describe()
	switch {
	case s.Running == 1:
		return d + "; 1 helper worker"
	case s.Running > 1:
		return d + "; " + strconv.Itoa(s.Running) + " helper workers"
	}
	return d
}

// span is a channel range [lo, hi).
type span struct{ lo, hi int }

// split cuts n channels into parts contiguous ranges of near-equal size.
func split(n, parts int) []span {
	out := make([]span, parts)
	for i := range out {
		out[i] = span{n * i / parts, n * (i + 1) / parts}
	}
	return out
}

// share is one helper's part of a call.
type share struct {
	m    *member
	r    span
	sent bool
}

// plan returns the helpers that take part in a call of flops and the
// channel ranges: ranges[0] is the caller's (empty without MainShare),
// ranges[i+1] helper i's. No helper means the caller does it all.
func (b *Backend) plan(flops float64, channels int) ([]*member, []span) {
	if flops < b.p.opts.MinFLOPs {
		return nil, nil
	}
	ms := b.p.snapshot()
	if len(ms) == 0 {
		return nil, nil
	}
	main := 0
	if b.p.opts.MainShare {
		main = 1
	}
	parts := min(len(ms)+main, channels)
	if parts < 1+main {
		return nil, nil
	}
	rs := split(channels, parts)
	if main == 0 {
		return ms[:parts], append([]span{{0, 0}}, rs...)
	}
	return ms[:parts-1], rs
}

// ensure loads key's slice for range r (with the biases of tensor id
// bias, 0 for none) onto m unless it holds it already.
func (b *Backend) ensure(m *member, key int, r span, bias int, slice func() Slice) error {
	want := held{r.lo, r.hi, bias}
	b.p.mu.Lock()
	hd, ok := m.loaded[key]
	b.p.mu.Unlock()
	if ok && hd == want {
		return nil
	}
	if err := m.h.Load(key, slice()); err != nil {
		return err
	}
	b.p.mu.Lock()
	m.loaded[key] = want
	b.p.loads++
	b.p.mu.Unlock()
	return nil
}

// fail removes a helper whose share failed.
func (b *Backend) fail(m *member, err error) { b.p.Lost(m.h, m.name, err) }

// byPixels reports whether a convolution of s is split by pixels (its
// weights are at most Options.PixelWeights floats).
func (b *Backend) byPixels(s kernels.ConvShape) bool { return s.Cin*s.Cout*9 <= b.p.opts.PixelWeights }

// planConv plans a convolution of s whose split by channels cuts
// channels: by pixels (pixels is then true; the ranges are pixels) or by
// channels; no helpers (ms nil) means the caller does it all (plan).
func (b *Backend) planConv(s kernels.ConvShape, channels int) (pixels bool, ms []*member, rs []span) {
	units := channels
	if pixels = b.byPixels(s); pixels {
		units = s.H * s.W
	}
	ms, rs = b.plan(s.FLOPs(), units)
	return pixels, ms, rs
}

// job is one split call: what its shares take and give back.
type job struct {
	key, bias int // the weight slices' key; the bias tensor's id (0: none)
	s         kernels.ConvShape
	in        []float32 // every share's input
	rows      int       // the output's rows: Cout forward, Cin for the input gradient
	out       []float32 // the output [rows, H·W]
	// pixels: the split is by pixels (a range is pixels, each share's slice
	// is the whole of the weights), else by channels (a range is rows).
	pixels bool
	local  func(r span, dst []float32) // computes range r here into dst
	slice  func(r span) Slice          // the weights a share of range r needs
	// reads are the tensors the call reads after it is handed out (the
	// caller's share is computed when it is settled), writes the one it
	// writes: what a later operation must not touch before it is settled.
	reads  [4]kernels.Tensor
	writes kernels.Tensor
}

// outOf is where range r's output goes: its rows of out for a split by
// channels; for a split by pixels a scratch buffer (share i's) that place
// then copies into out.
func (b *Backend) outOf(j *job, i int, r span) []float32 {
	hw := j.s.H * j.s.W
	if !j.pixels {
		return j.out[r.lo*hw : r.hi*hw]
	}
	for len(b.parts) <= i {
		b.parts = append(b.parts, nil)
	}
	b.parts[i] = grow(b.parts[i], j.rows*(r.hi-r.lo))
	return b.parts[i]
}

// place copies a split by pixels' output of range r from part ([rows,
// r.hi-r.lo]) into out's columns; a split by channels wrote in place.
func (j *job) place(r span, part []float32) {
	if !j.pixels {
		return
	}
	hw, n := j.s.H*j.s.W, r.hi-r.lo
	for i := range j.rows {
		copy(j.out[i*hw+r.lo:i*hw+r.hi], part[i*n:(i+1)*n])
	}
}

// Conv3x3 splits the output channels (or, for small weights, the output
// pixels) over the caller and the helpers.
func (b *Backend) Conv3x3(dst, x, w, bias kernels.Tensor, s kernels.ConvShape) {
	b.p.settle()
	b.p.forget(dst)
	pixels, ms, rs := b.planConv(s, s.Cout)
	if ms == nil {
		b.Backend.Conv3x3(dst, x, w, bias, s)
		return
	}
	k := s.Cin * 9
	W, B := naive.Data(w), naive.Data(bias)
	j := &job{key: 2*b.p.id(w) + int(Forward), bias: b.p.id(bias), s: s, in: naive.Data(x), rows: s.Cout, out: naive.Data(dst), pixels: pixels}
	if pixels {
		j.local = func(r span, d []float32) {
			kw := b.p.keep(j.key, span{}, func() (*cpu.Weights, error) { return cpu.NewWeights(W, s.Cin, s.Cout) })
			b.c.Conv3x3PixelsKept(naive.Wrap(d), x, kw, bias, s, r.lo, r.hi)
		}
		j.slice = func(span) Slice { return Slice{Kind: Forward, Cin: s.Cin, Cout: s.Cout, W: W, B: B} }
	} else {
		j.local = func(r span, d []float32) {
			kw := b.p.keep(j.key, r, func() (*cpu.Weights, error) { return cpu.NewWeights(W[r.lo*k:r.hi*k], s.Cin, r.hi-r.lo) })
			b.c.Conv3x3PixelsKept(naive.Wrap(d), x, kw, naive.Wrap(B[r.lo:r.hi]),
				kernels.ConvShape{Cin: s.Cin, Cout: r.hi - r.lo, H: s.H, W: s.W}, 0, s.H*s.W)
		}
		j.slice = func(r span) Slice {
			return Slice{Kind: Forward, Cin: s.Cin, Cout: r.hi - r.lo, W: W[r.lo*k : r.hi*k], B: B[r.lo:r.hi]}
		}
	}
	j.reads, j.writes = [4]kernels.Tensor{x, w, bias}, dst
	b.split(ms, rs, j)
}

// split hands each helper in ms its range of rs (rs[0] is the caller's):
// its weight slice (sent once per key, ensure) and a task on j.in. It
// returns with the call pending (Pool.pending): the caller's own share and
// the helpers' outputs are collected by settle, which the next operation
// that depends on the call runs first (see use), so that independent work
// of the caller overlaps the helpers' shares.
func (b *Backend) split(ms []*member, rs []span, j *job) {
	hw := j.s.H * j.s.W
	c := &call{b: b, j: j, mine: rs[0], t0: time.Now(), shares: make([]share, len(ms))}
	id := b.p.call()
	for i, m := range ms {
		r := rs[i+1]
		c.shares[i] = share{m: m, r: r}
		held, task := r, Task{Key: j.key, H: j.s.H, W: j.s.W, In: j.in, Out: (r.hi - r.lo) * hw, Call: id}
		if j.pixels {
			held, task.P0, task.P1, task.Out = span{0, j.rows}, r.lo, r.hi, j.rows*(r.hi-r.lo)
			b.cropped(&task, j)
		}
		err := b.ensure(m, j.key, held, j.bias, func() Slice { return j.slice(r) })
		if err == nil {
			err = m.h.Send(task)
		}
		if err != nil {
			b.fail(m, err)
			continue
		}
		c.shares[i].sent = true
	}
	c.t1 = time.Now()
	b.p.mu.Lock()
	b.p.pending = c
	b.p.mu.Unlock()
}

// cropped gives task t of a split by pixels only the image rows its pixels
// need (theirs and one on either side, for the 3×3 window) when the helpers
// receive copies: its input becomes those rows of every channel, an image
// of fewer rows whose edges are the image's own or rows the share does not
// compute, and its pixel range moves with them. A share of half the image
// then copies a little over half its input each way. With shared memory
// the whole input is copied once for every helper, so t is left whole.
func (b *Backend) cropped(t *Task, j *job) {
	if b.p.transport != Transfer {
		return
	}
	h, w := j.s.H, j.s.W
	r0, r1 := max(0, t.P0/w-1), min(h, (t.P1-1)/w+2) // rows [r0, r1)
	if r1-r0 == h {
		return
	}
	c, n := len(j.in)/(h*w), (r1-r0)*w
	b.crop = grow(b.crop, c*n)
	for ch := range c {
		copy(b.crop[ch*n:(ch+1)*n], j.in[(ch*h+r0)*w:(ch*h+r1)*w])
	}
	t.In, t.H, t.P0, t.P1 = b.crop, r1-r0, t.P0-r0*w, t.P1-r0*w
}

// call is a split call whose shares were handed out (at t0, done by t1)
// and are not yet collected: its job, its shares and the caller's range.
type call struct {
	b      *Backend
	j      *job
	shares []share
	mine   span
	t0, t1 time.Time
}

// settle collects the pending split call, if any (whichever Backend of the
// pool made it): a helper answers one task at a time, in order, so no call
// is handed out before the last one is collected.
func (p *Pool) settle() {
	p.mu.Lock()
	c := p.pending
	p.pending = nil
	p.mu.Unlock()
	if c != nil {
		c.b.finish(c)
	}
}

// use settles the pending call before an operation that reads the tensors
// in reads and writes those in writes, when it depends on the call: it
// reads the call's output or writes a tensor the call reads or writes.
// Then it drops the slices made from the written tensors (Pool.forget).
func (b *Backend) use(writes []kernels.Tensor, reads ...kernels.Tensor) {
	p := b.p
	p.mu.Lock()
	c := p.pending
	p.mu.Unlock()
	if c != nil && c.dependsOn(writes, reads) {
		p.settle()
	}
	for _, t := range writes {
		p.forget(t)
	}
}

// dependsOn reports whether an operation that writes writes and reads
// reads must wait for c.
func (c *call) dependsOn(writes, reads []kernels.Tensor) bool {
	j := c.j
	for _, t := range reads {
		if t == j.writes {
			return true
		}
	}
	for _, t := range writes {
		if t == j.writes {
			return true
		}
		for _, r := range j.reads {
			if r != nil && t == r {
				return true
			}
		}
	}
	return false
}

// finish computes c's caller's range, then collects the helpers' outputs,
// computing here the share of any helper that failed.
func (b *Backend) finish(c *call) {
	j := c.j
	t1 := time.Now()
	local := func(i int, r span) {
		if r.lo < r.hi {
			d := b.outOf(j, i, r)
			j.local(r, d)
			j.place(r, d)
		}
	}
	local(0, c.mine)
	t2 := time.Now()
	timeout := max(b.p.opts.Timeout, 20*t2.Sub(t1))
	done := 0
	var redo time.Duration
	for i, sh := range c.shares {
		if sh.sent {
			d := b.outOf(j, i+1, sh.r)
			err := sh.m.h.Receive(d, timeout)
			if err == nil {
				j.place(sh.r, d)
				done++
				continue
			}
			b.fail(sh.m, err)
		}
		t := time.Now()
		local(i+1, sh.r)
		redo += time.Since(t)
	}
	b.p.count(done, c.t1.Sub(c.t0), t2.Sub(t1)+redo, time.Since(t2)-redo)
}

// Conv3x3Backward splits the input channels (or, for small weights, the
// pixels) over the caller and the helpers: each computes dx's rows of its
// channels from the masked gradient and its slice W[:, i0:i1] (or every
// row of its pixels from the whole W).
func (b *Backend) Conv3x3Backward(dx, dy, y, w kernels.Tensor, s kernels.ConvShape) {
	b.p.settle()
	b.p.forget(dx)
	pixels, ms, rs := b.planConv(s, s.Cin)
	if ms == nil {
		b.Backend.Conv3x3Backward(dx, dy, y, w, s)
		return
	}
	hw := s.H * s.W
	W := naive.Data(w)
	n := s.Cout * hw
	b.masked = grow(b.masked, n)
	g := b.masked
	cpu.MaskReLU(g, naive.Data(dy), naive.Data(y))
	j := &job{key: 2*b.p.id(w) + int(InputGrad), s: s, in: g, rows: s.Cin, out: naive.Data(dx), pixels: pixels}
	if pixels {
		j.local = func(r span, d []float32) {
			kw := b.p.keep(j.key, span{}, func() (*cpu.Weights, error) { return cpu.NewWeights(W, s.Cin, s.Cout) })
			b.c.Conv3x3InputGradPixelsKept(naive.Wrap(d), naive.Wrap(g), kw, s, r.lo, r.hi)
		}
		j.slice = func(span) Slice { return Slice{Kind: InputGrad, Cin: s.Cin, Cout: s.Cout, W: W} }
	} else {
		j.local = func(r span, d []float32) {
			kw := b.p.keep(j.key, r, func() (*cpu.Weights, error) {
				return cpu.NewWeights(gather(W, s.Cin, s.Cout, r), r.hi-r.lo, s.Cout)
			})
			b.c.Conv3x3InputGradPixelsKept(naive.Wrap(d), naive.Wrap(g), kw,
				kernels.ConvShape{Cin: r.hi - r.lo, Cout: s.Cout, H: s.H, W: s.W}, 0, s.H*s.W)
		}
		j.slice = func(r span) Slice {
			return Slice{Kind: InputGrad, Cin: r.hi - r.lo, Cout: s.Cout, W: gather(W, s.Cin, s.Cout, r)}
		}
	}
	// The helpers get the masked gradient when the call is handed out, and
	// the caller's share reads b.masked: of the arguments only w is read
	// after that.
	j.reads, j.writes = [4]kernels.Tensor{w}, dx
	b.split(ms, rs, j)
}

// gather returns a copy of W[:, r.lo:r.hi, :, :] of W [cout, cin, 3, 3]:
// the weights of input channels r as a [cout, r.hi-r.lo, 3, 3]
// convolution.
func gather(W []float32, cin, cout int, r span) []float32 {
	n := r.hi - r.lo
	buf := make([]float32, cout*n*9)
	for o := 0; o < cout; o++ {
		copy(buf[o*n*9:(o+1)*n*9], W[(o*cin+r.lo)*9:(o*cin+r.hi)*9])
	}
	return buf
}

// grow returns buf resliced to n elements, reallocating only when it is too
// small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// The operations below settle the pending split call first when they
// depend on it (use), and drop the slices of a weight tensor they write.
// Reading a tensor back to the host settles it always: a read is where the
// caller looks at results, and nothing stays pending across it.

func (b *Backend) Read(dst []float32, src kernels.Tensor) error {
	b.p.settle()
	return b.Backend.Read(dst, src)
}
func (b *Backend) ReadAt(dst []float32, src kernels.Tensor, off int) error {
	b.p.settle()
	return b.Backend.ReadAt(dst, src, off)
}
func (b *Backend) Free(t kernels.Tensor) { b.use(one(t)); b.Backend.Free(t) }
func (b *Backend) Write(dst kernels.Tensor, s []float32) {
	b.use(one(dst))
	b.Backend.Write(dst, s)
}
func (b *Backend) Copy(dst, src kernels.Tensor) { b.use(one(dst), src); b.Backend.Copy(dst, src) }
func (b *Backend) Pool2x2(dst, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	b.use(one(dst), x)
	b.Backend.Pool2x2(dst, x, s, p)
}
func (b *Backend) Pool2x2Backward(dx, dy, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	b.use(one(dx), dy, x)
	b.Backend.Pool2x2Backward(dx, dy, x, s, p)
}
func (b *Backend) MatMul(dst, x, y kernels.Tensor, m, n, k int, ta, tb bool, alpha, beta float32) {
	b.use(one(dst), x, y, dst)
	b.Backend.MatMul(dst, x, y, m, n, k, ta, tb, alpha, beta)
}
func (b *Backend) Fill(dst kernels.Tensor, v float32) { b.use(one(dst)); b.Backend.Fill(dst, v) }
func (b *Backend) Scale(dst kernels.Tensor, alpha float32) {
	b.use(one(dst), dst)
	b.Backend.Scale(dst, alpha)
}
func (b *Backend) Axpy(dst kernels.Tensor, alpha float32, x kernels.Tensor) {
	b.use(one(dst), dst, x)
	b.Backend.Axpy(dst, alpha, x)
}
func (b *Backend) Mul(dst, x, y kernels.Tensor) { b.use(one(dst), x, y); b.Backend.Mul(dst, x, y) }
func (b *Backend) Div(dst, x, y kernels.Tensor) { b.use(one(dst), x, y); b.Backend.Div(dst, x, y) }
func (b *Backend) Sqrt(dst, x kernels.Tensor, eps float32) {
	b.use(one(dst), x)
	b.Backend.Sqrt(dst, x, eps)
}
func (b *Backend) RowSum(dst, a kernels.Tensor, rows, cols int, alpha float32) {
	b.use(one(dst), a, dst)
	b.Backend.RowSum(dst, a, rows, cols, alpha)
}
func (b *Backend) AddRows(dst, v kernels.Tensor, rows, cols int, alpha float32) {
	b.use(one(dst), v, dst)
	b.Backend.AddRows(dst, v, rows, cols, alpha)
}
func (b *Backend) MulRows(dst, v kernels.Tensor, rows, cols int) {
	b.use(one(dst), v, dst)
	b.Backend.MulRows(dst, v, rows, cols)
}
func (b *Backend) SortRows(dst, idx, src kernels.Tensor, rows, cols int) {
	b.use([]kernels.Tensor{dst, idx}, src)
	b.Backend.SortRows(dst, idx, src, rows, cols)
}
func (b *Backend) ScatterRows(dst, idx, src kernels.Tensor, rows, cols int) {
	b.use(one(dst), idx, src)
	b.Backend.ScatterRows(dst, idx, src, rows, cols)
}
func (b *Backend) ResampleRows(dst, src kernels.Tensor, rows, scols, dcols int) {
	b.use(one(dst), src)
	b.Backend.ResampleRows(dst, src, rows, scols, dcols)
}
func (b *Backend) Dot(dst kernels.Tensor, i int, x, y kernels.Tensor) {
	b.use(one(dst), x, y)
	b.Backend.Dot(dst, i, x, y)
}
func (b *Backend) Dots(dst kernels.Tensor, i int, x, y []kernels.Tensor) {
	b.use(nil, y...)
	b.use(one(dst), x...)
	b.Backend.Dots(dst, i, x, y)
}
func (b *Backend) Sum(dst kernels.Tensor, i int, a kernels.Tensor) {
	b.use(one(dst), a)
	b.Backend.Sum(dst, i, a)
}
func (b *Backend) TV(loss kernels.Tensor, i int, dx, x kernels.Tensor, c, h, w int, weight float32) {
	b.use([]kernels.Tensor{loss, dx}, x, dx)
	b.Backend.TV(loss, i, dx, x, c, h, w, weight)
}
func (b *Backend) Adam(x, g, m, v kernels.Tensor, p kernels.AdamParams) {
	b.use([]kernels.Tensor{x, m, v}, g, x)
	b.Backend.Adam(x, g, m, v, p)
}

// one is the writes of an operation that writes one tensor.
func one(t kernels.Tensor) []kernels.Tensor { return []kernels.Tensor{t} }
