package kerneltest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of reporting them,
// to test the checker itself.
type recorder struct {
	testing.TB
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// check runs CheckGradient on a recorder in its own goroutine (Fatalf ends it).
func check(f func([]float32) float64, x, grad []float32, c GradCheck) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		CheckGradient(r, f, x, grad, c)
	}()
	<-done
	return r
}

// TestCheckGradientCanFail: the checker passes the true gradient of a
// quadratic and fails a gradient 1% off, a zero one, and a kinked function
// whose inputs sit on the kinks.
func TestCheckGradientCanFail(t *testing.T) {
	sq := func(x []float32) float64 { // Σ x², gradient 2x
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return s
	}
	x := []float32{0.5, -1, 2, 0.25}
	if r := check(sq, x, []float32{1, -2, 4, 0.5}, GradCheck{}); r.failed {
		t.Errorf("the true gradient fails: %q", r.msgs)
	}
	if r := check(sq, x, []float32{1.01, -2.02, 4.04, 0.505}, GradCheck{}); !r.failed {
		t.Error("a gradient 1% off passes at the default tolerance 1e-3")
	}
	if r := check(func([]float32) float64 { return 1 }, x, make([]float32, 4), GradCheck{}); !r.failed ||
		!strings.Contains(strings.Join(r.msgs, " "), "vacuous") {
		t.Errorf("a zero gradient: %q, want a vacuous-check failure", r.msgs)
	}

	relu := func(x []float32) float64 { // Σ max(x, 0)
		var s float64
		for _, v := range x {
			s += float64(max(v, 0))
		}
		return s
	}
	sign := func(x []float32) string {
		var b strings.Builder
		for _, v := range x {
			b.WriteByte('0' + byte(btoi(v > 0)))
		}
		return b.String()
	}
	// One coordinate of ten within h/5 of the kink is skipped...
	near := []float32{1e-3, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	if r := check(relu, near, ones, GradCheck{Kink: sign}); r.failed {
		t.Errorf("one kinked coordinate of ten fails: %q", r.msgs)
	}
	// ...but not two, and without Kink the kinked one is compared (and off).
	near[1] = -1e-3
	ones[1] = 0
	if r := check(relu, near, ones, GradCheck{Kink: sign}); !r.failed ||
		!strings.Contains(strings.Join(r.msgs, " "), "cross a kink") {
		t.Errorf("two kinked coordinates of ten: %q, want a failure", r.msgs)
	}
	if r := check(relu, near, ones, GradCheck{}); !r.failed {
		t.Error("a kinked coordinate passes without Kink")
	}
}
