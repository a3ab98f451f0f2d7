package pool

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/naive"
)

// Server is a helper's side: the weight slices it keeps (packed for the
// GEMM at first use and kept so: cpu.Weights) and a one-thread CPU backend
// that computes its shares. The browser helper (serve_js.go) and the
// in-process Local helper both run one.
type Server struct {
	b      *cpu.Backend
	slices map[int]loadedSlice
	// ExitAt, when positive, makes the ExitAt-th task fail as if the helper
	// died (a test hook: the page's helper_fault=exit@N).
	ExitAt int
	tasks  int
}

type loadedSlice struct {
	s  Slice
	kw *cpu.Weights
	b  kernels.Tensor // the biases of a Forward slice
}

// ErrExit is the error of the task at which a Server's ExitAt makes it stop.
var ErrExit = fmt.Errorf("pool: helper fault: exit")

// NewServer returns a helper's side computing on b (nil: a one-thread CPU
// backend).
func NewServer(b *cpu.Backend) *Server {
	if b == nil {
		b = cpu.New(1)
	}
	return &Server{b: b, slices: map[int]loadedSlice{}}
}

// Load keeps s under key (it keeps s's slices: the caller hands them over).
func (v *Server) Load(key int, s Slice) error {
	if len(s.W) != s.Cout*s.Cin*9 {
		return fmt.Errorf("pool: slice %d has %d weights, want %d·%d·9", key, len(s.W), s.Cout, s.Cin)
	}
	if s.Kind == Forward && len(s.B) != s.Cout {
		return fmt.Errorf("pool: slice %d has %d biases, want %d", key, len(s.B), s.Cout)
	}
	kw, err := cpu.NewWeights(s.W, s.Cin, s.Cout)
	if err != nil {
		return fmt.Errorf("pool: slice %d: %w", key, err)
	}
	ls := loadedSlice{s: s, kw: kw}
	if s.Kind == Forward {
		ls.b = naive.Wrap(s.B)
	}
	v.slices[key] = ls
	return nil
}

// Drop forgets key.
func (v *Server) Drop(key int) { delete(v.slices, key) }

// OutLen is the length of task t's output, or an error when t's key is not
// loaded or its pixel range is not within the image.
func (v *Server) OutLen(t Task) (int, error) {
	ls, ok := v.slices[t.Key]
	if !ok {
		return 0, fmt.Errorf("pool: helper holds no slice %d", t.Key)
	}
	if t.P1 > 0 && (t.P0 < 0 || t.P0 >= t.P1 || t.P1 > t.H*t.W) {
		return 0, fmt.Errorf("pool: task pixels [%d, %d) are not within a %d×%d image", t.P0, t.P1, t.H, t.W)
	}
	return ls.s.OutLen(t), nil
}

// Run computes task t into out (OutLen long).
func (v *Server) Run(t Task, out []float32) error {
	v.tasks++
	if v.ExitAt > 0 && v.tasks >= v.ExitAt {
		return fmt.Errorf("%w at task %d", ErrExit, v.tasks)
	}
	ls, ok := v.slices[t.Key]
	if !ok {
		return fmt.Errorf("pool: helper holds no slice %d", t.Key)
	}
	s := ls.s
	want, err := v.OutLen(t)
	if err != nil {
		return err
	}
	if len(out) != want {
		return fmt.Errorf("pool: task output has %d elements, want %d", len(out), want)
	}
	shape := kernels.ConvShape{Cin: s.Cin, Cout: s.Cout, H: t.H, W: t.W}
	p0, p1 := t.P0, t.P1 // a split by pixels; else the whole image (a split by channels)
	if p1 == 0 {
		p0, p1 = 0, t.H*t.W
	}
	switch s.Kind {
	case Forward:
		if len(t.In) != s.Cin*t.H*t.W {
			return fmt.Errorf("pool: task input has %d elements, want %d", len(t.In), s.Cin*t.H*t.W)
		}
		v.b.Conv3x3PixelsKept(naive.Wrap(out), naive.Wrap(t.In), ls.kw, ls.b, shape, p0, p1)
	case InputGrad:
		if len(t.In) != s.Cout*t.H*t.W {
			return fmt.Errorf("pool: task input has %d elements, want %d", len(t.In), s.Cout*t.H*t.W)
		}
		v.b.Conv3x3InputGradPixelsKept(naive.Wrap(out), naive.Wrap(t.In), ls.kw, shape, p0, p1)
	default:
		return fmt.Errorf("pool: unknown slice kind %d", s.Kind)
	}
	return nil
}
