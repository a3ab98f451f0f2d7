package pool

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Local is an in-process helper: a Server on its own goroutine, fed through
// a channel with copies of the data, as a Web Worker would be. The native
// tests use it (the browser uses the Web Worker transport); its faults
// stand for a helper that reports an error or dies silently.
type Local struct {
	in     chan func()
	out    chan localResult
	srv    *Server
	silent bool // a failed task gets no answer at all (a worker that died)
	closed chan struct{}
	once   sync.Once
}

type localResult struct {
	out []float32
	err error
}

// NewLocal starts an in-process helper. exitAt > 0 makes its exitAt-th
// task fail (Server.ExitAt); silent makes that failure no answer at all,
// so that only the caller's timeout notices it.
func NewLocal(exitAt int, silent bool) *Local {
	l := &Local{in: make(chan func(), 64), out: make(chan localResult, 1), srv: NewServer(nil), silent: silent, closed: make(chan struct{})}
	l.srv.ExitAt = exitAt
	go func() {
		for {
			select {
			case f := <-l.in:
				f()
			case <-l.closed:
				return
			}
		}
	}()
	return l
}

// Load copies s to the helper.
func (l *Local) Load(key int, s Slice) error {
	s.W, s.B = slices.Clone(s.W), slices.Clone(s.B)
	return l.post(func() { _ = l.srv.Load(key, s) })
}

// Drop forgets key on the helper.
func (l *Local) Drop(key int) { _ = l.post(func() { l.srv.Drop(key) }) }

// Send copies t's input to the helper and starts the task.
func (l *Local) Send(t Task) error {
	t.In = slices.Clone(t.In)
	return l.post(func() {
		n, err := l.srv.OutLen(t)
		var out []float32
		if err == nil {
			out = make([]float32, n)
			err = l.srv.Run(t, out)
		}
		if err != nil && errors.Is(err, ErrExit) && l.silent {
			return // died: no answer
		}
		l.out <- localResult{out: out, err: err}
	})
}

func (l *Local) post(f func()) error {
	select {
	case <-l.closed:
		return errors.New("pool: the helper is closed")
	default:
	}
	l.in <- f
	return nil
}

// Receive waits for the last task's output.
func (l *Local) Receive(out []float32, timeout time.Duration) error {
	select {
	case r := <-l.out:
		if r.err != nil {
			return r.err
		}
		if len(r.out) != len(out) {
			return fmt.Errorf("pool: the helper returned %d elements, want %d", len(r.out), len(out))
		}
		copy(out, r.out)
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("pool: no answer from the helper within %v", timeout.Round(time.Millisecond))
	}
}

// Close stops the helper's goroutine.
func (l *Local) Close() {
	l.once.Do(func() { close(l.closed) })
}
