package pool_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/kernels/pool"
)

// slowed is a helper factor times slower than it is: its answer comes
// factor times its compute time after the task was sent, and it reports
// that compute time times factor, as a helper on a slower or busier core
// would. It records the units of its last share.
type slowed struct {
	pool.Helper
	factor float64
	mu     sync.Mutex
	units  int // pixels or channels of the last share
	loads  int
	sent   time.Time
}

func (s *slowed) Send(t pool.Task) error {
	s.mu.Lock()
	s.units, s.sent = t.P1-t.P0, time.Now()
	if t.P1 == 0 { // a split by channels: its output is [channels, H·W]
		s.units = t.Out / (t.H * t.W)
	}
	s.mu.Unlock()
	return s.Helper.Send(t)
}

func (s *slowed) Load(key int, sl pool.Slice) error {
	s.mu.Lock()
	s.loads++
	s.mu.Unlock()
	return s.Helper.Load(key, sl)
}

func (s *slowed) Receive(out []float32, timeout time.Duration) (pool.Timing, error) {
	tm, err := s.Helper.Receive(out, timeout)
	tm.Took = time.Duration(float64(tm.Took) * s.factor)
	tm.Done = tm.Start.Add(tm.Took)
	s.mu.Lock()
	sent := s.sent
	s.mu.Unlock()
	time.Sleep(time.Until(sent.Add(tm.Took)))
	return tm, err
}

func (s *slowed) last() (units, loads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.units, s.loads
}

// TestSharesFollowSpeed: of two helpers, one three times slower than the
// other (as they report it), the slower gets about a quarter of each call
// split by pixels once both were measured, and so does one helper three
// times slower than the caller; a call split by channels stays equal (and
// its weight slices are sent once). The outputs stay the single backend's.
func TestSharesFollowSpeed(t *testing.T) {
	for _, tc := range []struct {
		name         string
		main         bool // the caller takes a share, with one helper (else two helpers)
		pixelWeights int
		s            kernels.ConvShape
		units        int
		slower       [2]float64 // the slower helper's least and most share
	}{
		{"pixels", false, 1 << 30, kernels.ConvShape{Cin: 16, Cout: 16, H: 32, W: 32}, 32 * 32, [2]float64{0.15, 0.35}},
		{"pixels, caller and helper", true, 1 << 30, kernels.ConvShape{Cin: 32, Cout: 32, H: 48, W: 48}, 48 * 48, [2]float64{0.15, 0.35}},
		{"channels", false, 0, kernels.ConvShape{Cin: 16, Cout: 128, H: 16, W: 16}, 128, [2]float64{0.5, 0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, factors := 2, []float64{1, 3}
			if tc.main {
				n, factors = 1, []float64{3}
			}
			var hs []*slowed
			p := newPool(t, n, tc.main, tc.pixelWeights, func(i int) pool.Helper {
				h := &slowed{Helper: pool.NewLocal(0, false), factor: factors[i]}
				hs = append(hs, h)
				return h
			})
			b := p.Wrap(cpu.New(1))
			ref := naive.Backend{}
			s := tc.s
			r := rand.New(rand.NewPCG(8, 8))
			wd, bd := kerneltest.Normal(r, s.Cout*s.Cin*9, 0.2), kerneltest.Uniform(r, s.Cout, -0.1, 0.1)
			w, bias := kerneltest.Upload(t, b, wd), kerneltest.Upload(t, b, bd)
			wr, biasr := kerneltest.Upload(t, ref, wd), kerneltest.Upload(t, ref, bd)
			y, _ := b.Alloc(s.Cout * s.H * s.W)
			yr, _ := ref.Alloc(s.Cout * s.H * s.W)
			for call := range 12 {
				xd := kerneltest.Uniform(r, s.Cin*s.H*s.W, -1, 1)
				ref.Conv3x3(yr, kerneltest.Upload(t, ref, xd), wr, biasr, s)
				// Nothing between the call and its settling (Download):
				// the caller starts its share at once.
				x := kerneltest.Upload(t, b, xd)
				b.Conv3x3(y, x, w, bias, s)
				assertClose(t, fmt.Sprintf("call %d", call), kerneltest.Download(t, b, y), kerneltest.Download(t, ref, yr))
			}
			slow, loads := hs[n-1].last()
			fast := tc.units - slow // the caller's share, or the other helper's
			if n == 2 {
				fast, _ = hs[0].last()
			}
			if share := float64(slow) / float64(tc.units); share < tc.slower[0] || share > tc.slower[1] || fast+slow != tc.units {
				t.Errorf("the last call gave the helpers %d and %d of %d units; want the slower's share in %v", fast, slow, tc.units, tc.slower)
			}
			if loads != 1 {
				t.Errorf("the slower helper was sent its weights %d times, want once", loads)
			}
		})
	}
}
