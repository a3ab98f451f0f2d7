package pool_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/kernels/pool"
)

// receipts is a helper that counts the answers collected from it: a split
// call still pending has handed out its tasks and collected none.
type receipts struct {
	pool.Helper
	n atomic.Int32
}

func (r *receipts) Receive(out []float32, timeout time.Duration) error {
	r.n.Add(1)
	return r.Helper.Receive(out, timeout)
}

// TestPendingCalls: a split convolution returns with its shares handed out
// and not collected; an operation that does not touch it runs while it is
// pending, and one that reads its output, or writes its input, output or
// weights, collects it first, so that every result is the single
// backend's. The cases run with and without the caller's share, by pixels
// and by channels.
func TestPendingCalls(t *testing.T) {
	s := kernels.ConvShape{Cin: 4, Cout: 6, H: 5, W: 7}
	n := s.Cout * s.H * s.W
	// ts are a call's tensors and unrelated ones of each length the ops
	// below need.
	type ts struct{ y, x, w, bias, oy, ox, og, ob kernels.Tensor }
	type op struct {
		name    string
		settles bool
		run     func(b kernels.Backend, t ts)
	}
	ops := []op{
		{"Fill another tensor", false, func(b kernels.Backend, t ts) { b.Fill(t.oy, 2) }},
		{"Axpy from the input into another", false, func(b kernels.Backend, t ts) { b.Axpy(t.ox, 0.5, t.x) }},
		{"MatMul of the input", false, func(b kernels.Backend, t ts) {
			b.MatMul(t.og, t.x, t.x, s.Cin, s.Cin, s.H*s.W, false, true, 1, 0)
		}},
		{"Scale the output", true, func(b kernels.Backend, t ts) { b.Scale(t.y, 3) }},
		{"Axpy from the output", true, func(b kernels.Backend, t ts) { b.Axpy(t.oy, 1, t.y) }},
		{"Write the input", true, func(b kernels.Backend, t ts) { b.Write(t.x, make([]float32, t.x.Len())) }},
		{"Fill the weights", true, func(b kernels.Backend, t ts) { b.Fill(t.w, 0) }},
		{"Copy into the biases", true, func(b kernels.Backend, t ts) { b.Copy(t.bias, t.ob) }},
	}
	run := func(b kernels.Backend, o op, wd, bd, xd []float32, after func()) (y, others []float32) {
		r := rand.New(rand.NewPCG(9, 9))
		up := func(n int) kernels.Tensor { return kerneltest.Upload(t, b, kerneltest.Uniform(r, n, -1, 1)) }
		c := ts{x: kerneltest.Upload(t, b, xd), w: kerneltest.Upload(t, b, wd), bias: kerneltest.Upload(t, b, bd),
			oy: up(n), ox: up(s.Cin * s.H * s.W), og: up(s.Cin * s.Cin), ob: up(s.Cout)}
		c.y, _ = b.Alloc(n)
		b.Conv3x3(c.y, c.x, c.w, c.bias, s)
		o.run(b, c)
		after()
		// A second convolution on the (possibly rewritten) tensors, then
		// the backward: each waits for the one before.
		b.Conv3x3(c.y, c.x, c.w, c.bias, s)
		dx, _ := b.Alloc(s.Cin * s.H * s.W)
		b.Conv3x3Backward(dx, c.y, c.y, c.w, s)
		y = append(kerneltest.Download(t, b, c.y), kerneltest.Download(t, b, dx)...)
		for _, u := range []kernels.Tensor{c.oy, c.ox, c.og, c.ob} {
			others = append(others, kerneltest.Download(t, b, u)...)
		}
		return y, others
	}
	r := rand.New(rand.NewPCG(4, 4))
	wd, bd, xd := kerneltest.Normal(r, s.Cout*s.Cin*9, 0.3), kerneltest.Uniform(r, s.Cout, -0.1, 0.1), kerneltest.Uniform(r, s.Cin*s.H*s.W, -1, 1)
	for _, sp := range splits {
		for _, mainShare := range []bool{true, false} {
			for _, o := range ops {
				t.Run(fmt.Sprintf("%s,main=%v,%s", sp.name, mainShare, o.name), func(t *testing.T) {
					var hs []*receipts
					p := newPool(t, 2, mainShare, sp.pixelWeights, func(int) pool.Helper {
						h := &receipts{Helper: pool.NewLocal(0, false)}
						hs = append(hs, h)
						return h
					})
					b := kernels.Checked(p.Wrap(cpu.New(1)))
					collected := func() int32 { return hs[0].n.Load() + hs[1].n.Load() }
					after := int32(-1)
					y, other := run(b, o, wd, bd, xd, func() { after = collected() })
					want, wantOther := run(kernels.Checked(naive.Backend{}), o, wd, bd, xd, func() {})
					assertClose(t, "outputs", y, want)
					assertClose(t, "the other tensors", other, wantOther)
					if wantN := map[bool]int32{true: 2, false: 0}[o.settles]; after != wantN {
						t.Errorf("after %s, %d answers collected, want %d (settles: %v)", o.name, after, wantN, o.settles)
					}
				})
			}
		}
	}
}

// TestPendingAcrossBackends: two Backends on one pool (the worker wraps the
// pool anew for each run) share its helpers, so a call one of them left
// pending is collected before the other hands out its own, and each gets
// its own outputs.
func TestPendingAcrossBackends(t *testing.T) {
	s := kernels.ConvShape{Cin: 3, Cout: 5, H: 6, W: 4}
	for _, sp := range splits {
		t.Run(sp.name, func(t *testing.T) {
			p := newPool(t, 2, true, sp.pixelWeights, func(int) pool.Helper { return pool.NewLocal(0, false) })
			a, b := p.Wrap(cpu.New(1)), p.Wrap(cpu.New(1))
			r := rand.New(rand.NewPCG(6, 6))
			wd, bd := kerneltest.Normal(r, s.Cout*s.Cin*9, 0.3), kerneltest.Uniform(r, s.Cout, -0.1, 0.1)
			xa, xb := kerneltest.Uniform(r, s.Cin*s.H*s.W, -1, 1), kerneltest.Uniform(r, s.Cin*s.H*s.W, -1, 1)
			ya, _ := a.Alloc(s.Cout * s.H * s.W)
			yb, _ := b.Alloc(s.Cout * s.H * s.W)
			a.Conv3x3(ya, kerneltest.Upload(t, a, xa), kerneltest.Upload(t, a, wd), kerneltest.Upload(t, a, bd), s)
			b.Conv3x3(yb, kerneltest.Upload(t, b, xb), kerneltest.Upload(t, b, wd), kerneltest.Upload(t, b, bd), s)
			ref := naive.Backend{}
			for _, c := range []struct {
				name string
				got  []float32
				x    []float32
			}{{"first backend", kerneltest.Download(t, a, ya), xa}, {"second backend", kerneltest.Download(t, b, yb), xb}} {
				want, _ := ref.Alloc(s.Cout * s.H * s.W)
				ref.Conv3x3(want, kerneltest.Upload(t, ref, c.x), kerneltest.Upload(t, ref, wd), kerneltest.Upload(t, ref, bd), s)
				assertClose(t, c.name, c.got, kerneltest.Download(t, ref, want))
			}
		})
	}
}

// rows is a helper that records the image rows and input of its tasks.
type rows struct {
	pool.Helper
	mu     sync.Mutex
	h, in  []int
	p0, p1 []int
}

func (r *rows) Send(t pool.Task) error {
	r.mu.Lock()
	r.h, r.in, r.p0, r.p1 = append(r.h, t.H), append(r.in, len(t.In)), append(r.p0, t.P0), append(r.p1, t.P1)
	r.mu.Unlock()
	return r.Helper.Send(t)
}

// TestPixelSharesCropped: with copied inputs, a share of a split by pixels
// gets only the rows its pixels need and one on either side (its pixel
// range counted from the first), forward and backward, and the outputs are
// the single backend's; with shared memory it gets the whole image.
func TestPixelSharesCropped(t *testing.T) {
	s := kernels.ConvShape{Cin: 3, Cout: 4, H: 12, W: 5}
	for _, transport := range []string{pool.Transfer, pool.Shared} {
		t.Run(transport, func(t *testing.T) {
			opts := pool.DefaultOptions()
			opts.MinFLOPs, opts.PixelWeights = 0, 1<<30
			p := pool.New(2, transport, opts)
			t.Cleanup(p.Close)
			var hs []*rows
			for i := range 2 {
				h := &rows{Helper: pool.NewLocal(0, false)}
				hs = append(hs, h)
				p.Join(h, fmt.Sprintf("helper %d", i+1))
			}
			b := p.Wrap(cpu.New(1))
			ref := naive.Backend{}
			r := rand.New(rand.NewPCG(3, 9))
			wd, bd := kerneltest.Normal(r, s.Cout*s.Cin*9, 0.3), kerneltest.Uniform(r, s.Cout, -0.1, 0.1)
			y, dx := conv(t, b, kerneltest.Upload(t, b, wd), kerneltest.Upload(t, b, bd), s, 2)
			ry, rdx := conv(t, ref, kerneltest.Upload(t, ref, wd), kerneltest.Upload(t, ref, bd), s, 2)
			assertClose(t, "forward", y, ry)
			assertClose(t, "input gradient", dx, rdx)
			// Three shares of 60 pixels: the caller's rows 0–3, the
			// helpers' 4–7 and 8–11, with their neighbours.
			want := [][2]int{{6, 5}, {5, 4}} // rows 3–8 (pixels from row 1), rows 7–11 (from row 1)
			for i, h := range hs {
				if len(h.h) != 2 {
					t.Fatalf("helper %d got %d tasks, want 2 (forward, input gradient)", i+1, len(h.h))
				}
				for k, c := range []int{s.Cin, s.Cout} { // the forward's input, the input gradient's
					rowsWant, p0Want := want[i][0], s.W
					if transport == pool.Shared {
						rowsWant, p0Want = s.H, 20*(i+1)
					}
					if h.h[k] != rowsWant || h.in[k] != c*rowsWant*s.W || h.p0[k] != p0Want || h.p1[k]-h.p0[k] != 20 {
						t.Errorf("helper %d task %d: %d rows, %d inputs, pixels [%d, %d); want %d rows, %d inputs, pixels [%d, %d)",
							i+1, k+1, h.h[k], h.in[k], h.p0[k], h.p1[k], rowsWant, c*rowsWant*s.W, p0Want, p0Want+20)
					}
				}
			}
		})
	}
}
