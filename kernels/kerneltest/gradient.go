package kerneltest

import (
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// GradCheck configures CheckGradient.
type GradCheck struct {
	// Step is the central-difference step h; 0 means DefaultStep.
	Step float64
	// Tol bounds max|analytic − fd| / max|fd| (see Compare); 0 means
	// DefaultGradTol.
	Tol float64
	// Kink, when set, fingerprints the piecewise-smooth region of x: the
	// ReLU mask of a convolution's output, say. A coordinate whose ±h points
	// leave x's region is retried at h/5, and skipped when they still do; at
	// most a tenth of the coordinates may be skipped.
	Kink func(x []float32) string
}

const (
	// DefaultStep suits losses of O(1) inputs that are piecewise linear or
	// quadratic, as crema's are: the difference is exact up to float32
	// rounding of f (≈1e-7·|f| / 2h ≈ 1e-5), far inside DefaultGradTol.
	DefaultStep = 1e-2
	// DefaultGradTol is the tolerance of the kernels' own gradients.
	DefaultGradTol = 1e-3
)

// CheckGradient fails t unless grad, the analytic gradient of f at x, matches
// the central difference (f(x+h·eᵢ) − f(x−h·eᵢ)) / 2h of gonum's diff/fd in
// every coordinate i, within c.Tol relative to the largest difference. It
// also fails when either gradient is zero everywhere (the check would prove
// nothing). f is evaluated on a copy of x that it may read but not keep.
func CheckGradient(t testing.TB, f func(x []float32) float64, x, grad []float32, c GradCheck) {
	t.Helper()
	if len(grad) != len(x) {
		t.Fatalf("gradient has %d elements, want %d", len(grad), len(x))
	}
	if c.Step == 0 {
		c.Step = DefaultStep
	}
	if c.Tol == 0 {
		c.Tol = DefaultGradTol
	}
	var base string
	if c.Kink != nil {
		base = c.Kink(x)
	}
	xp := append([]float32(nil), x...)
	diff := make([]float32, len(x)) // [len(x)] the finite differences
	skipped := 0
	for i := range x {
		ok := false
		for _, h := range []float64{c.Step, c.Step / 5} {
			crossed := false
			along := func(s float64) float64 {
				xp[i] = x[i] + float32(s)
				v := f(xp)
				if c.Kink != nil && c.Kink(xp) != base {
					crossed = true
				}
				xp[i] = x[i]
				return v
			}
			d := fd.Derivative(along, 0, &fd.Settings{Formula: fd.Central, Step: h})
			if !crossed {
				diff[i], ok = float32(d), true
				break
			}
		}
		if !ok {
			skipped++
			diff[i] = grad[i] // not comparable: crosses a kink
		}
	}
	if skipped*10 > len(x) {
		t.Fatalf("%d of %d coordinates cross a kink: inputs too close to one", skipped, len(x))
	}
	if allZero(diff) || allZero(grad) {
		t.Fatalf("a gradient is zero everywhere (analytic zero: %v, finite difference zero: %v): the check is vacuous",
			allZero(grad), allZero(diff))
	}
	if err := Compare(grad, diff, c.Tol); err != nil {
		t.Errorf("analytic gradient vs finite difference: %v", err)
	}
}

func allZero(s []float32) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}
