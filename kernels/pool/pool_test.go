package pool_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/kernels/pool"
)

// newPool returns a pool of in-process helpers (each made by mk) that
// splits every convolution, however small, by pixels when its weights are
// at most pixelWeights floats, else by channels.
func newPool(t *testing.T, n int, mainShare bool, pixelWeights int, mk func(i int) pool.Helper) *pool.Pool {
	t.Helper()
	opts := pool.DefaultOptions()
	opts.MinFLOPs = 0
	opts.MainShare = mainShare
	opts.PixelWeights = pixelWeights
	p := pool.New(n, pool.Transfer, opts)
	for i := 0; i < n; i++ {
		p.Join(mk(i), fmt.Sprintf("helper %d", i+1))
	}
	t.Cleanup(p.Close)
	return p
}

// splits are the two ways of splitting a convolution, as newPool's
// pixelWeights: every one by pixels (the table's weights are small), every
// one by channels.
var splits = []struct {
	name         string
	pixelWeights int
}{{"pixels", 1 << 30}, {"channels", 0}}

// TestPoolMatchesNaive runs the conformance table and the finite-difference
// gradients on the CPU backend whose convolutions are split over 1, 2 and 3
// in-process helpers, with and without a share on the caller, by pixels and
// by channels, against the naive oracle; the helpers must have computed
// shares, of the split asked for.
func TestPoolMatchesNaive(t *testing.T) {
	ref := kernels.Checked(naive.Backend{})
	for _, sp := range splits {
		for _, n := range []int{1, 2, 3} {
			for _, mainShare := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s,helpers=%d,main=%v", sp.name, n, mainShare), func(t *testing.T) {
					var hs []*recording
					p := newPool(t, n, mainShare, sp.pixelWeights, func(int) pool.Helper {
						h := &recording{Helper: pool.NewLocal(0, false)}
						hs = append(hs, h)
						return h
					})
					b := kernels.Checked(p.Wrap(cpu.New(1)))
					kerneltest.Run(t, b, ref)
					kerneltest.RunGradients(t, b)
					s := p.Status()
					if s.Running != n || s.Tasks == 0 || s.Lost != 0 {
						t.Errorf("status %+v, want %d running, some tasks, none lost", s, n)
					}
					for i, h := range hs {
						if byPixels, byChannels := h.split(); byPixels+byChannels == 0 || sp.pixelWeights == 0 && byPixels > 0 || sp.pixelWeights > 0 && byChannels > 0 {
							t.Errorf("helper %d computed %d shares by pixels and %d by channels; want only %s", i+1, byPixels, byChannels, sp.name)
						}
					}
				})
			}
		}
	}
}

// recording is a helper that counts its tasks by kind of split.
type recording struct {
	pool.Helper
	mu                   sync.Mutex
	byPixels, byChannels int
}

func (r *recording) Send(t pool.Task) error {
	r.mu.Lock()
	if t.P1 > 0 {
		r.byPixels++
	} else {
		r.byChannels++
	}
	r.mu.Unlock()
	return r.Helper.Send(t)
}

func (r *recording) split() (byPixels, byChannels int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byPixels, r.byChannels
}

// TestSplitByWeights: with the default options, a convolution with
// conv3_x's weights (256·256·9) is split by pixels, one with conv4_1's
// (256·512·9, over 2^20) by channels, and both give the single backend's
// results.
func TestSplitByWeights(t *testing.T) {
	h := &recording{Helper: pool.NewLocal(0, false)}
	p := pool.New(1, pool.Transfer, pool.DefaultOptions())
	t.Cleanup(p.Close)
	p.Join(h, "helper 1")
	b := p.Wrap(cpu.New(1))
	one := cpu.New(1)
	for _, tc := range []struct {
		s          kernels.ConvShape
		wantPixels bool
	}{{kernels.ConvShape{Cin: 256, Cout: 256, H: 4, W: 6}, true}, {kernels.ConvShape{Cin: 256, Cout: 512, H: 4, W: 6}, false}} {
		r := rand.New(rand.NewPCG(5, 5))
		wd := kerneltest.Normal(r, tc.s.Cout*tc.s.Cin*9, 0.05)
		bd := kerneltest.Uniform(r, tc.s.Cout, -0.1, 0.1)
		p0, c0 := h.split()
		y, dx := conv(t, b, kerneltest.Upload(t, b, wd), kerneltest.Upload(t, b, bd), tc.s, 1)
		ry, rdx := conv(t, one, kerneltest.Upload(t, one, wd), kerneltest.Upload(t, one, bd), tc.s, 1)
		assertClose(t, fmt.Sprintf("%+v forward", tc.s), y, ry)
		assertClose(t, fmt.Sprintf("%+v input gradient", tc.s), dx, rdx)
		p1, c1 := h.split()
		if got := [2]int{p1 - p0, c1 - c0}; tc.wantPixels && got != [2]int{2, 0} || !tc.wantPixels && got != [2]int{0, 2} {
			t.Errorf("%+v: the helper computed %d shares by pixels and %d by channels, want 2 by %s", tc.s, got[0], got[1],
				map[bool]string{true: "pixels", false: "channels"}[tc.wantPixels])
		}
	}
}

// counting is a helper that counts the weight slices it receives.
type counting struct {
	pool.Helper
	mu    sync.Mutex
	loads int
	drops int
}

func (c *counting) Load(key int, s pool.Slice) error {
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	return c.Helper.Load(key, s)
}

func (c *counting) Drop(key int) {
	c.mu.Lock()
	c.drops++
	c.mu.Unlock()
	c.Helper.Drop(key)
}

// conv runs one forward and one backward convolution of s on b with the
// given weights and biases and returns dst and dx.
func conv(t *testing.T, b kernels.Backend, w, bias kernels.Tensor, s kernels.ConvShape, seed uint64) ([]float32, []float32) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := kerneltest.Upload(t, b, kerneltest.Uniform(r, s.Cin*s.H*s.W, -1, 1))
	dy := kerneltest.Upload(t, b, kerneltest.Uniform(r, s.Cout*s.H*s.W, -1, 1))
	y, _ := b.Alloc(s.Cout * s.H * s.W)
	dx, _ := b.Alloc(s.Cin * s.H * s.W)
	b.Conv3x3(y, x, w, bias, s)
	b.Conv3x3Backward(dx, dy, y, w, s)
	return kerneltest.Download(t, b, y), kerneltest.Download(t, b, dx)
}

// TestWeightsSentOnce checks that each helper receives a weight tensor's
// slices once (one for the forward split, one for the input gradient's),
// not with every call, and again only after the tensor is rewritten.
func TestWeightsSentOnce(t *testing.T) {
	for _, sp := range splits {
		t.Run(sp.name, func(t *testing.T) { weightsSentOnce(t, sp.pixelWeights) })
	}
}

func weightsSentOnce(t *testing.T, pixelWeights int) {
	var hs []*counting
	p := newPool(t, 2, true, pixelWeights, func(int) pool.Helper {
		c := &counting{Helper: pool.NewLocal(0, false)}
		hs = append(hs, c)
		return c
	})
	b := p.Wrap(cpu.New(1))
	ref := naive.Backend{}
	s := kernels.ConvShape{Cin: 6, Cout: 8, H: 5, W: 7}
	r := rand.New(rand.NewPCG(7, 7))
	wd := kerneltest.Normal(r, s.Cout*s.Cin*9, 0.3)
	w := kerneltest.Upload(t, b, wd)
	wr := kerneltest.Upload(t, ref, wd)
	bd := kerneltest.Uniform(r, s.Cout, -0.1, 0.1)
	bias, biasr := kerneltest.Upload(t, b, bd), kerneltest.Upload(t, ref, bd)
	for i := 0; i < 3; i++ {
		y, dx := conv(t, b, w, bias, s, uint64(i))
		ry, rdx := conv(t, ref, wr, biasr, s, uint64(i))
		assertClose(t, "forward", y, ry)
		assertClose(t, "input gradient", dx, rdx)
	}
	for i, h := range hs {
		if h.loads != 2 || h.drops != 0 {
			t.Errorf("helper %d: %d loads, %d drops after 3 calls with the same weights, want 2 and 0", i+1, h.loads, h.drops)
		}
	}
	if s := p.Status(); s.Loads != 4 || s.Tasks != 12 {
		t.Errorf("status %+v, want 4 loads (2 per helper) and 12 tasks", s)
	}
	wd2 := kerneltest.Normal(r, len(wd), 0.3)
	b.Write(w, wd2)
	ref.Write(wr, wd2)
	y, dx := conv(t, b, w, bias, s, 9)
	ry, rdx := conv(t, ref, wr, biasr, s, 9)
	assertClose(t, "forward after rewriting the weights", y, ry)
	assertClose(t, "input gradient after rewriting the weights", dx, rdx)
	for i, h := range hs {
		if h.loads != 4 || h.drops != 2 {
			t.Errorf("helper %d: %d loads, %d drops after rewriting the weights, want 4 and 2", i+1, h.loads, h.drops)
		}
	}
	// New biases with the same weights: the forward slice again.
	bias2 := kerneltest.Upload(t, b, kerneltest.Uniform(r, s.Cout, -0.1, 0.1))
	conv(t, b, w, bias2, s, 10)
	for i, h := range hs {
		if h.loads != 5 {
			t.Errorf("helper %d: %d loads after new biases, want 5", i+1, h.loads)
		}
	}
}

func assertClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	var worst, scale float64
	for i := range want {
		d := float64(got[i] - want[i])
		worst = max(worst, d, -d)
		scale = max(scale, float64(want[i]), -float64(want[i]))
	}
	if worst > kerneltest.TolGemm*scale {
		t.Errorf("%s: max |got-want| = %g, over %g of max |want| = %g", what, worst, kerneltest.TolGemm, scale)
	}
}

// TestHelperFailureFallsBack makes one of two helpers fail at its third
// task, by an error and by silence (only the timeout notices), and checks
// that every result is still right, that the helper left the pool with
// the reason, that OnChange was told, and that the other helper carries on.
func TestHelperFailureFallsBack(t *testing.T) {
	for _, silent := range []bool{false, true} {
		t.Run(fmt.Sprintf("silent=%v", silent), func(t *testing.T) {
			opts := pool.DefaultOptions()
			opts.MinFLOPs = 0
			opts.Timeout = 200 * time.Millisecond
			p := pool.New(2, pool.Transfer, opts)
			t.Cleanup(p.Close)
			var changes []pool.Status
			p.OnChange = func(s pool.Status) { changes = append(changes, s) }
			p.Join(pool.NewLocal(3, silent), "helper 1")
			p.Join(pool.NewLocal(0, false), "helper 2")
			b := p.Wrap(cpu.New(1))
			ref := naive.Backend{}
			s := kernels.ConvShape{Cin: 5, Cout: 9, H: 6, W: 4}
			r := rand.New(rand.NewPCG(3, 3))
			wd := kerneltest.Normal(r, s.Cout*s.Cin*9, 0.3)
			w, wr := kerneltest.Upload(t, b, wd), kerneltest.Upload(t, ref, wd)
			bd := kerneltest.Uniform(r, s.Cout, -0.1, 0.1)
			bias, biasr := kerneltest.Upload(t, b, bd), kerneltest.Upload(t, ref, bd)
			for i := 0; i < 4; i++ {
				y, dx := conv(t, b, w, bias, s, uint64(i))
				ry, rdx := conv(t, ref, wr, biasr, s, uint64(i))
				assertClose(t, fmt.Sprintf("forward %d", i), y, ry)
				assertClose(t, fmt.Sprintf("input gradient %d", i), dx, rdx)
			}
			st := p.Status()
			if st.Running != 1 || st.Lost != 1 {
				t.Fatalf("status %+v, want 1 running and 1 lost", st)
			}
			want := "helper 1 stopped (pool: helper fault: exit at task 3)"
			if silent {
				want = "helper 1 stopped (pool: no answer from the helper within "
			}
			if !strings.HasPrefix(st.Reason, want) {
				t.Errorf("reason %q, want it to begin %q", st.Reason, want)
			}
			// 2 joins, then the loss.
			if len(changes) != 3 || changes[2].Running != 1 || changes[2].Reason != st.Reason {
				t.Errorf("OnChange got %+v, want 2 joins then the loss", changes)
			}
			// helper 2 took shares of the 8 calls: 4 forward, 4 backward.
			if st.Tasks != 8+2 {
				t.Errorf("%d helper tasks, want 10 (helper 2's 8 and helper 1's first 2)", st.Tasks)
			}
		})
	}
}

// TestEveryHelperLost: a pool whose helpers all fail runs everything on
// the caller.
func TestEveryHelperLost(t *testing.T) {
	opts := pool.DefaultOptions()
	opts.MinFLOPs = 0
	p := pool.New(1, pool.Transfer, opts)
	t.Cleanup(p.Close)
	p.Join(pool.NewLocal(1, false), "helper 1")
	b := kernels.Checked(p.Wrap(cpu.New(1)))
	kerneltest.Run(t, b, kernels.Checked(naive.Backend{}))
	if s := p.Status(); s.Running != 0 || s.Lost != 1 || s.Tasks != 0 {
		t.Errorf("status %+v, want none running, 1 lost, no tasks", s)
	}
	if d := b.Describe(); strings.Contains(d, "helper") {
		t.Errorf("Describe %q names helpers, but none runs", d)
	}
}

// TestSmallConvsStayLocal: a convolution under MinFLOPs is not split.
func TestSmallConvsStayLocal(t *testing.T) {
	opts := pool.DefaultOptions()
	p := pool.New(1, pool.Transfer, opts)
	t.Cleanup(p.Close)
	p.Join(pool.NewLocal(0, false), "helper 1")
	b := p.Wrap(cpu.New(1))
	s := kernels.ConvShape{Cin: 3, Cout: 4, H: 8, W: 8}
	w := kerneltest.Upload(t, b, make([]float32, s.Cout*s.Cin*9))
	conv(t, b, w, kerneltest.Upload(t, b, make([]float32, s.Cout)), s, 1)
	if st := p.Status(); st.Tasks != 0 {
		t.Errorf("%d helper tasks for a %.0f-FLOP convolution, want 0 (under MinFLOPs %.0f)", st.Tasks, s.FLOPs(), opts.MinFLOPs)
	}
	s = kernels.ConvShape{Cin: 32, Cout: 32, H: 32, W: 32}
	w = kerneltest.Upload(t, b, make([]float32, s.Cout*s.Cin*9))
	conv(t, b, w, kerneltest.Upload(t, b, make([]float32, s.Cout)), s, 1)
	if st := p.Status(); st.Tasks != 2 {
		t.Errorf("%d helper tasks for a %.0f-FLOP convolution, want 2", st.Tasks, s.FLOPs())
	}
	if d := b.Describe(); !strings.HasSuffix(d, "; 1 helper worker") {
		t.Errorf("Describe %q, want it to end with the helper", d)
	}
}

// TestStartFailure: a helper that never starts leaves the pool's count of
// starting helpers, with the reason; the others still join.
func TestStartFailure(t *testing.T) {
	p := pool.New(2, pool.Transfer, pool.DefaultOptions())
	t.Cleanup(p.Close)
	var last pool.Status
	p.OnChange = func(s pool.Status) { last = s }
	p.Lost(nil, "helper 2", errors.New("no Worker here"))
	p.Join(pool.NewLocal(0, false), "helper 1")
	want := pool.Status{Requested: 2, Running: 1, Starting: 0, Transport: pool.Transfer, MainShare: true, Lost: 1, Reason: "helper 2 did not start (no Worker here)"}
	if last != want {
		t.Errorf("status %+v, want %+v", last, want)
	}
}

// TestServerChecksPixels: a helper refuses a task whose pixel range is not
// within its image, and sizes a pixel share's output by its range.
func TestServerChecksPixels(t *testing.T) {
	srv := pool.NewServer(nil)
	s := pool.Slice{Kind: pool.Forward, Cin: 2, Cout: 3, W: make([]float32, 3*2*9), B: make([]float32, 3)}
	if err := srv.Load(1, s); err != nil {
		t.Fatal(err)
	}
	if n, err := srv.OutLen(pool.Task{Key: 1, H: 4, W: 5, P0: 6, P1: 13}); err != nil || n != 3*7 {
		t.Errorf("OutLen of pixels [6, 13) = %d, %v; want 21", n, err)
	}
	if n, err := srv.OutLen(pool.Task{Key: 1, H: 4, W: 5}); err != nil || n != 3*20 {
		t.Errorf("OutLen of every pixel = %d, %v; want 60", n, err)
	}
	for _, pr := range [][2]int{{5, 5}, {7, 3}, {-1, 4}, {10, 21}} {
		task := pool.Task{Key: 1, H: 4, W: 5, P0: pr[0], P1: pr[1], In: make([]float32, 2*20)}
		want := fmt.Sprintf("pool: task pixels [%d, %d) are not within a 4×5 image", pr[0], pr[1])
		if _, err := srv.OutLen(task); err == nil || err.Error() != want {
			t.Errorf("OutLen of pixels %v: err %v, want %q", pr, err, want)
		}
		if err := srv.Run(task, make([]float32, 3)); err == nil || err.Error() != want {
			t.Errorf("Run of pixels %v: err %v, want %q", pr, err, want)
		}
	}
}
