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

// TestSharesFollowSpeed: a split by pixels is sized by measurement once
// the caller and the helpers were measured: a helper three times slower
// than the caller gets about a quarter, and so does one as fast as the
// caller when the caller is busy with other work for half the call's time
// before it takes its share; two helpers get equal shares however they
// differ (they share one mean: their differences are the moment's
// scheduling). A call split by channels stays equal, and its weight
// slices are sent once. The outputs stay the single backend's.
func TestSharesFollowSpeed(t *testing.T) {
	for _, tc := range []struct {
		name         string
		main         bool      // the caller takes a share
		factors      []float64 // the helpers' slowness
		busy         bool      // the caller works between the call and its settling, for half a single thread's time
		pixelWeights int
		s            kernels.ConvShape
		share        [2]float64 // the last helper's least and most share
	}{
		{"pixels, a slow helper", true, []float64{3}, false, 1 << 30, kernels.ConvShape{Cin: 32, Cout: 32, H: 48, W: 48}, [2]float64{0.15, 0.35}},
		{"pixels, the caller busy", true, []float64{1}, true, 1 << 30, kernels.ConvShape{Cin: 32, Cout: 32, H: 48, W: 48}, [2]float64{0.6, 0.9}},
		{"pixels, two helpers", false, []float64{1, 3}, false, 1 << 30, kernels.ConvShape{Cin: 16, Cout: 16, H: 32, W: 32}, [2]float64{0.5, 0.5}},
		{"channels", true, []float64{3}, false, 0, kernels.ConvShape{Cin: 16, Cout: 128, H: 16, W: 16}, [2]float64{0.5, 0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hs []*slowed
			p := newPool(t, len(tc.factors), tc.main, tc.pixelWeights, func(i int) pool.Helper {
				h := &slowed{Helper: pool.NewLocal(0, false), factor: tc.factors[i]}
				hs = append(hs, h)
				return h
			})
			b := p.Wrap(cpu.New(1))
			one := cpu.New(1)
			s := tc.s
			units := s.H * s.W
			if tc.pixelWeights == 0 {
				units = s.Cout
			}
			r := rand.New(rand.NewPCG(8, 8))
			wd, bd := kerneltest.Normal(r, s.Cout*s.Cin*9, 0.2), kerneltest.Uniform(r, s.Cout, -0.1, 0.1)
			w, bias := kerneltest.Upload(t, b, wd), kerneltest.Upload(t, b, bd)
			wr, biasr := kerneltest.Upload(t, one, wd), kerneltest.Upload(t, one, bd)
			y, _ := b.Alloc(s.Cout * s.H * s.W)
			yr, _ := one.Alloc(s.Cout * s.H * s.W)
			for call := range 12 {
				xd := kerneltest.Uniform(r, s.Cin*s.H*s.W, -1, 1)
				t0 := time.Now()
				one.Conv3x3(yr, kerneltest.Upload(t, one, xd), wr, biasr, s)
				single := time.Since(t0)
				x := kerneltest.Upload(t, b, xd)
				b.Conv3x3(y, x, w, bias, s)
				if tc.busy {
					time.Sleep(single / 2) // independent work, then the settling (Download)
				}
				assertClose(t, fmt.Sprintf("call %d", call), kerneltest.Download(t, b, y), kerneltest.Download(t, one, yr))
			}
			last, loads := hs[len(hs)-1].last()
			all := []int{}
			for _, h := range hs {
				u, _ := h.last()
				all = append(all, u)
			}
			if share := float64(last) / float64(units); share < tc.share[0] || share > tc.share[1] {
				t.Errorf("the last call gave the helpers %v of %d units; want the last one's share in %v", all, units, tc.share)
			}
			if loads != 1 {
				t.Errorf("the last helper was sent its weights %d times, want once", loads)
			}
		})
	}
}
