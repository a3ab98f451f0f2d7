package cremabench

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/weights"
)

// OpTime is the time of one operation of a profiled iteration.
type OpTime struct {
	Op    string  `json:"op"`              // backend method: "Conv3x3", "MatMul", …
	Layer string  `json:"layer,omitempty"` // VGG layer of a conv or pool ("conv3_2")
	Shape string  `json:"shape"`           // human shape, e.g. "256→256 32×32"
	MS    float64 `json:"ms"`
	FLOPs float64 `json:"flops,omitempty"` // for convs and matmuls
}

// Profile is one iteration, operation by operation.
type Profile struct {
	Backend string   `json:"backend"`
	Ops     []OpTime `json:"ops"`
	// SyncMS is the cost of one empty wait-and-read-back, subtracted from
	// each op's time (each op is followed by such a wait).
	SyncMS float64 `json:"sync_ms"`
	// PeakBytes is the most device memory allocated through the backend at
	// once during the job (weights, activations, gradients, targets).
	PeakBytes int64 `json:"peak_bytes"`
	// IterMS is the iteration's wall time with the per-op waits.
	IterMS float64 `json:"iter_ms"`
}

// RunProfile runs the work for two updates on a timing wrapper around b and
// records the operations of the second one, each followed by a wait for the
// device so that its own time is measured.
func RunProfile(ctx context.Context, b kernels.Backend, src model.WeightSource, opt Options) (Profile, error) {
	opt.Iterations = 2
	opt.Preview = false
	if err := opt.defaults(); err != nil {
		return Profile{}, err
	}
	w, err := newTimer(b, opt.Size)
	if err != nil {
		return Profile{}, err
	}
	defer w.close()
	// Record between the first and the second mark after the setup.
	rec := &markHook{w: w}
	opt.onMark = rec.mark
	res, err := Bench(ctx, w, src, opt)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{Backend: b.Name(), Ops: w.ops, SyncMS: w.syncMS, PeakBytes: w.peak}
	if len(res.IterMS) >= 2 {
		p.IterMS = res.IterMS[1]
	}
	labelLayers(p.Ops, opt.Size)
	return p, nil
}

// markHook switches recording on at the second mark of the job (end of the
// first update) and off at the third.
type markHook struct {
	w *timer
	n int
}

func (h *markHook) mark() {
	h.n++
	switch h.n {
	case 2:
		h.w.ops = h.w.ops[:0]
		h.w.on = true
	case 3:
		h.w.on = false
	}
}

// labelLayers names the VGG layer of each conv and pool from its shape and
// order (forward convs in network order, backward ones in reverse), for a
// pass down to Deepest.
func labelLayers(ops []OpTime, size int) {
	type key struct {
		cin, cout, h int
	}
	names := map[key][]string{}
	h, block := size, 1
	for _, c := range weights.VGG19 {
		var bl, i int
		fmt.Sscanf(c.Name, "conv%d_%d", &bl, &i)
		for block < bl {
			h /= 2
			block++
		}
		k := key{c.Cin, c.Cout, h}
		names[k] = append(names[k], c.Name)
		if c.Name == Deepest {
			break
		}
	}
	seen := map[string]int{}
	for i := range ops {
		o := &ops[i]
		var cin, cout, hh, ww int
		if _, err := fmt.Sscanf(o.Shape, "%d→%d %d×%d", &cin, &cout, &hh, &ww); err != nil {
			continue
		}
		list := names[key{cin, cout, hh}]
		if len(list) == 0 {
			continue
		}
		n := seen[o.Op+o.Shape]
		seen[o.Op+o.Shape]++
		j := n % len(list)
		if o.Op == "Conv3x3Backward" {
			j = len(list) - 1 - j
		}
		o.Layer = list[j]
	}
}

// Summary sums a profile's times by operation, largest first.
func (p Profile) Summary() []OpTime {
	sum := map[string]*OpTime{}
	for _, o := range p.Ops {
		s := sum[o.Op]
		if s == nil {
			s = &OpTime{Op: o.Op}
			sum[o.Op] = s
		}
		s.MS += o.MS
		s.FLOPs += o.FLOPs
	}
	var out []OpTime
	for _, s := range sum {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MS > out[j].MS })
	return out
}

// timer is a kernels.Backend that forwards to another one, counts the bytes
// allocated, and while on, waits for the device after each operation and
// records its time.
type timer struct {
	kernels.Backend
	size    int
	sync    kernels.Tensor // one element, read back to wait for the device
	scratch [1]float32
	on      bool
	ops     []OpTime
	syncMS  float64
	live    int64
	peak    int64
	sizes   map[kernels.Tensor]int64
	t0      time.Time
}

func newTimer(b kernels.Backend, size int) (*timer, error) {
	w := &timer{Backend: b, size: size, sizes: map[kernels.Tensor]int64{}}
	var err error
	if w.sync, err = b.Alloc(1); err != nil {
		return nil, err
	}
	// The cost of an empty wait: median of a few.
	var d []float64
	for range 7 {
		t := time.Now()
		if err := b.ReadAt(w.scratch[:], w.sync, 0); err != nil {
			return nil, err
		}
		d = append(d, ms(time.Since(t)))
	}
	sort.Float64s(d)
	w.syncMS = d[len(d)/2]
	return w, nil
}

func (w *timer) close() { w.Backend.Free(w.sync) }

func (w *timer) begin() {
	if w.on {
		w.t0 = time.Now()
	}
}

func (w *timer) end(op, shape string, flops float64) {
	if !w.on {
		return
	}
	// A device failure here also fails the job's own read-back, which reports it.
	_ = w.Backend.ReadAt(w.scratch[:], w.sync, 0)
	w.ops = append(w.ops, OpTime{Op: op, Shape: shape, MS: max(ms(time.Since(w.t0))-w.syncMS, 0), FLOPs: flops})
}

func (w *timer) Alloc(n int) (kernels.Tensor, error) {
	t, err := w.Backend.Alloc(n)
	if err == nil {
		w.sizes[t] = 4 * int64(n)
		w.live += 4 * int64(n)
		w.peak = max(w.peak, w.live)
	}
	return t, err
}

func (w *timer) Free(t kernels.Tensor) {
	if t == nil {
		return
	}
	w.live -= w.sizes[t]
	delete(w.sizes, t)
	w.Backend.Free(t)
}

func (w *timer) Read(dst []float32, src kernels.Tensor) error {
	w.begin()
	err := w.Backend.Read(dst, src)
	w.end("Read", fmt.Sprint(len(dst)), 0)
	return err
}

func (w *timer) ReadAt(dst []float32, src kernels.Tensor, off int) error {
	w.begin()
	err := w.Backend.ReadAt(dst, src, off)
	w.end("ReadAt", fmt.Sprint(len(dst)), 0)
	return err
}

func (w *timer) Write(dst kernels.Tensor, src []float32) {
	w.begin()
	w.Backend.Write(dst, src)
	w.end("Write", fmt.Sprint(len(src)), 0)
}

func (w *timer) Copy(dst, src kernels.Tensor) {
	w.begin()
	w.Backend.Copy(dst, src)
	w.end("Copy", fmt.Sprint(dst.Len()), 0)
}

func convShape(s kernels.ConvShape) string {
	return fmt.Sprintf("%d→%d %d×%d", s.Cin, s.Cout, s.H, s.W)
}

func (w *timer) Conv3x3(dst, x, wt, b kernels.Tensor, s kernels.ConvShape) {
	w.begin()
	w.Backend.Conv3x3(dst, x, wt, b, s)
	w.end("Conv3x3", convShape(s), s.FLOPs())
}

func (w *timer) Conv3x3Backward(dx, dy, y, wt kernels.Tensor, s kernels.ConvShape) {
	w.begin()
	w.Backend.Conv3x3Backward(dx, dy, y, wt, s)
	w.end("Conv3x3Backward", convShape(s), s.FLOPs())
}

func (w *timer) Pool2x2(dst, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	w.begin()
	w.Backend.Pool2x2(dst, x, s, p)
	w.end("Pool2x2", fmt.Sprintf("%d %d×%d", s.C, s.H, s.W), 0)
}

func (w *timer) Pool2x2Backward(dx, dy, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	w.begin()
	w.Backend.Pool2x2Backward(dx, dy, x, s, p)
	w.end("Pool2x2Backward", fmt.Sprintf("%d %d×%d", s.C, s.H, s.W), 0)
}

func (w *timer) MatMul(dst, a, b kernels.Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
	w.begin()
	w.Backend.MatMul(dst, a, b, m, n, k, transA, transB, alpha, beta)
	w.end("MatMul", fmt.Sprintf("%d×%d×%d", m, n, k), 2*float64(m)*float64(n)*float64(k))
}

func (w *timer) Fill(dst kernels.Tensor, v float32) {
	w.begin()
	w.Backend.Fill(dst, v)
	w.end("Fill", fmt.Sprint(dst.Len()), 0)
}

func (w *timer) Scale(dst kernels.Tensor, alpha float32) {
	w.begin()
	w.Backend.Scale(dst, alpha)
	w.end("Scale", fmt.Sprint(dst.Len()), 0)
}

func (w *timer) Axpy(dst kernels.Tensor, alpha float32, x kernels.Tensor) {
	w.begin()
	w.Backend.Axpy(dst, alpha, x)
	w.end("Axpy", fmt.Sprint(dst.Len()), 0)
}

func (w *timer) Mul(dst, a, b kernels.Tensor) {
	w.begin()
	w.Backend.Mul(dst, a, b)
	w.end("Mul", fmt.Sprint(dst.Len()), 0)
}

func (w *timer) Div(dst, a, b kernels.Tensor) {
	w.begin()
	w.Backend.Div(dst, a, b)
	w.end("Div", fmt.Sprint(dst.Len()), 0)
}

func (w *timer) Sqrt(dst, a kernels.Tensor, eps float32) {
	w.begin()
	w.Backend.Sqrt(dst, a, eps)
	w.end("Sqrt", fmt.Sprint(dst.Len()), 0)
}

func (w *timer) RowSum(dst, a kernels.Tensor, rows, cols int, alpha float32) {
	w.begin()
	w.Backend.RowSum(dst, a, rows, cols, alpha)
	w.end("RowSum", fmt.Sprintf("%d×%d", rows, cols), 0)
}

func (w *timer) AddRows(dst, v kernels.Tensor, rows, cols int, alpha float32) {
	w.begin()
	w.Backend.AddRows(dst, v, rows, cols, alpha)
	w.end("AddRows", fmt.Sprintf("%d×%d", rows, cols), 0)
}

func (w *timer) MulRows(dst, v kernels.Tensor, rows, cols int) {
	w.begin()
	w.Backend.MulRows(dst, v, rows, cols)
	w.end("MulRows", fmt.Sprintf("%d×%d", rows, cols), 0)
}

func (w *timer) SortRows(dst, idx, src kernels.Tensor, rows, cols int) {
	w.begin()
	w.Backend.SortRows(dst, idx, src, rows, cols)
	w.end("SortRows", fmt.Sprintf("%d×%d", rows, cols), 0)
}

func (w *timer) ScatterRows(dst, idx, src kernels.Tensor, rows, cols int) {
	w.begin()
	w.Backend.ScatterRows(dst, idx, src, rows, cols)
	w.end("ScatterRows", fmt.Sprintf("%d×%d", rows, cols), 0)
}

func (w *timer) ResampleRows(dst, src kernels.Tensor, rows, scols, dcols int) {
	w.begin()
	w.Backend.ResampleRows(dst, src, rows, scols, dcols)
	w.end("ResampleRows", fmt.Sprintf("%d×%d→%d", rows, scols, dcols), 0)
}

func (w *timer) Dot(dst kernels.Tensor, i int, a, b kernels.Tensor) {
	w.begin()
	w.Backend.Dot(dst, i, a, b)
	w.end("Dot", fmt.Sprint(a.Len()), 0)
}

func (w *timer) Dots(dst kernels.Tensor, i int, a, b []kernels.Tensor) {
	w.begin()
	w.Backend.Dots(dst, i, a, b)
	n := 0
	if len(a) > 0 {
		n = a[0].Len()
	}
	w.end("Dots", fmt.Sprintf("%d×%d", len(a), n), 0)
}

func (w *timer) Sum(dst kernels.Tensor, i int, a kernels.Tensor) {
	w.begin()
	w.Backend.Sum(dst, i, a)
	w.end("Sum", fmt.Sprint(a.Len()), 0)
}

func (w *timer) TV(loss kernels.Tensor, i int, dx, x kernels.Tensor, c, h, wd int, weight float32) {
	w.begin()
	w.Backend.TV(loss, i, dx, x, c, h, wd, weight)
	w.end("TV", fmt.Sprintf("%d %d×%d", c, h, wd), 0)
}

func (w *timer) Adam(x, g, m, v kernels.Tensor, p kernels.AdamParams) {
	w.begin()
	w.Backend.Adam(x, g, m, v, p)
	w.end("Adam", fmt.Sprint(x.Len()), 0)
}
