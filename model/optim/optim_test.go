package optim

import (
	"math"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// quadratic is f(x) = ½·Σ a_i·(x_i − c_i)², written in kernels ops.
type quadratic struct {
	b          kernels.Backend
	a, c, r, s kernels.Tensor // [n]
	loss       kernels.Tensor // [1]
	evals      int
	last       []float32 // host copy of the x of the last evaluation
}

func newQuadratic(t testing.TB, b kernels.Backend, a, c []float32) *quadratic {
	n := len(a)
	return &quadratic{
		b:    b,
		a:    kerneltest.Upload(t, b, a),
		c:    kerneltest.Upload(t, b, c),
		r:    kerneltest.Upload(t, b, make([]float32, n)),
		s:    kerneltest.Upload(t, b, make([]float32, n)),
		loss: kerneltest.Upload(t, b, make([]float32, 1)),
	}
}

func (q *quadratic) f(x, dx kernels.Tensor) (float64, error) {
	b := q.b
	q.evals++
	b.Copy(q.r, x)
	b.Axpy(q.r, -1, q.c) // r = x − c
	b.Mul(dx, q.a, q.r)  // ∇f = a ⊙ r
	b.Dot(q.loss, 0, dx, q.r)
	var v [1]float32
	if err := b.Read(v[:], q.loss); err != nil {
		return 0, err
	}
	q.last = make([]float32, x.Len())
	b.Read(q.last, x)
	return 0.5 * float64(v[0]), nil
}

// rosenbrock is Σ 100·(v − u²)² + (1 − u)² over the rows u, v of x seen as
// a [2, n/2] matrix, written in kernels ops (rows are picked with MatMul).
type rosenbrock struct {
	b                               kernels.Backend
	h                               int
	e0, e1                          kernels.Tensor // [2]: (1, 0) and (0, 1)
	u, v, u2, r1, r2, gu, gv, loss2 kernels.Tensor
}

func newRosenbrock(t testing.TB, b kernels.Backend, h int) *rosenbrock {
	r := &rosenbrock{b: b, h: h}
	for _, x := range []*kernels.Tensor{&r.u, &r.v, &r.u2, &r.r1, &r.r2, &r.gu, &r.gv} {
		*x = kerneltest.Upload(t, b, make([]float32, h))
	}
	r.e0 = kerneltest.Upload(t, b, []float32{1, 0})
	r.e1 = kerneltest.Upload(t, b, []float32{0, 1})
	r.loss2 = kerneltest.Upload(t, b, make([]float32, 2))
	return r
}

func (r *rosenbrock) f(x, dx kernels.Tensor) (float64, error) {
	b, h := r.b, r.h
	b.MatMul(r.u, r.e0, x, 1, h, 2, false, false, 1, 0) // u = row 0
	b.MatMul(r.v, r.e1, x, 1, h, 2, false, false, 1, 0) // v = row 1
	b.Mul(r.u2, r.u, r.u)
	b.Copy(r.r1, r.v)
	b.Axpy(r.r1, -1, r.u2) // r1 = v − u²
	b.Fill(r.r2, 1)
	b.Axpy(r.r2, -1, r.u) // r2 = 1 − u
	b.Dot(r.loss2, 0, r.r1, r.r1)
	b.Dot(r.loss2, 1, r.r2, r.r2)
	// ∂f/∂u = −400·r1·u − 2·r2, ∂f/∂v = 200·r1.
	b.Mul(r.gu, r.r1, r.u)
	b.Scale(r.gu, -400)
	b.Axpy(r.gu, -2, r.r2)
	b.Copy(r.gv, r.r1)
	b.Scale(r.gv, 200)
	b.MatMul(dx, r.e0, r.gu, 2, h, 1, false, false, 1, 0)
	b.MatMul(dx, r.e1, r.gv, 2, h, 1, false, false, 1, 1)
	var l [2]float32
	if err := b.Read(l[:], r.loss2); err != nil {
		return 0, err
	}
	return 100*float64(l[0]) + float64(l[1]), nil
}

func run(t *testing.T, o Optimizer, x kernels.Tensor, f Objective, iters int) (float64, int, string) {
	t.Helper()
	loss, err := o.Start(x, f)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= iters; i++ {
		r, err := o.Step(x, f)
		if err != nil {
			t.Fatal(err)
		}
		if r.Loss > loss*(1+1e-6)+1e-12 {
			if _, ok := o.(*LBFGS); ok {
				t.Fatalf("iteration %d: L-BFGS loss rose from %g to %g", i, loss, r.Loss)
			}
		}
		loss = r.Loss
		if r.Done {
			return loss, i, r.Reason
		}
	}
	return loss, iters, ""
}

func TestLBFGSQuadratic(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	const n = 20
	a, c, x0 := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range a {
		a[i] = float32(math.Pow(10, float64(i)/float64(n-1)*3)) // condition number 1000
		c[i] = float32(i%5) - 2
		x0[i] = 3
	}
	q := newQuadratic(t, b, a, c)
	x := kerneltest.Upload(t, b, x0)
	o, err := NewLBFGS(b, n, LBFGSOptions{History: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Free()
	loss, iters, reason := run(t, o, x, q.f, 300)
	got := kerneltest.Download(t, b, x)
	for i := range got {
		if math.Abs(float64(got[i]-c[i])) > 1e-3 {
			t.Fatalf("x[%d] = %g, want %g (loss %g after %d iterations)", i, got[i], c[i], loss, iters)
		}
	}
	if reason == "" {
		t.Errorf("L-BFGS ran all %d iterations on a quadratic without reporting convergence (loss %g)", iters, loss)
	}
	// The last evaluation is at the returned x.
	for i := range got {
		if q.last[i] != got[i] {
			t.Fatalf("last evaluation at x[%d] = %g, returned x[%d] = %g", i, q.last[i], i, got[i])
		}
	}
	t.Logf("quadratic: loss %g after %d iterations, %d evaluations (%s)", loss, iters, q.evals, reason)
}

func TestLBFGSRosenbrock(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	const h = 3
	r := newRosenbrock(t, b, h)
	x := kerneltest.Upload(t, b, []float32{-1.2, -1.2, 0.5, 1, 1, -0.5}) // u = (−1.2, −1.2, 0.5), v = (1, 1, −0.5)
	o, _ := NewLBFGS(b, 2*h, LBFGSOptions{History: 8, FirstStep: 0.1})
	defer o.Free()
	loss, iters, reason := run(t, o, x, r.f, 500)
	for i, v := range kerneltest.Download(t, b, x) {
		if math.Abs(float64(v)-1) > 1e-2 {
			t.Fatalf("x[%d] = %g, want 1 (loss %g after %d iterations, %q)", i, v, loss, iters, reason)
		}
	}
	if loss > 1e-4 {
		t.Fatalf("loss %g, want < 1e-4", loss)
	}
	t.Logf("rosenbrock: loss %g after %d iterations (%s)", loss, iters, reason)
}

// TestLBFGSSurvivesNaN: the objective is NaN outside |x| < 5; a first step
// far too long must be shrunk instead of accepted.
func TestLBFGSSurvivesNaN(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	const n = 4
	q := newQuadratic(t, b, []float32{1, 2, 3, 4}, []float32{1, -1, 2, -2})
	guarded := func(x, dx kernels.Tensor) (float64, error) {
		l, err := q.f(x, dx)
		for _, v := range q.last {
			if math.Abs(float64(v)) > 5 {
				return math.NaN(), err
			}
		}
		return l, err
	}
	x := kerneltest.Upload(t, b, make([]float32, n))
	o, _ := NewLBFGS(b, n, LBFGSOptions{FirstStep: 1e3})
	defer o.Free()
	loss, _, _ := run(t, o, x, guarded, 100)
	if !(loss < 1e-6) {
		t.Fatalf("loss %g, want the minimum 0", loss)
	}
}

func TestAdamQuadratic(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	const n = 10
	a, c := make([]float32, n), make([]float32, n)
	for i := range a {
		a[i] = float32(1 + i*i) // condition number 82
		c[i] = float32(i) - 4.5
	}
	q := newQuadratic(t, b, a, c)
	x := kerneltest.Upload(t, b, make([]float32, n))
	o, err := NewAdam(b, n, AdamOptions{LR: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Free()
	loss, _, _ := run(t, o, x, q.f, 3000)
	for i, v := range kerneltest.Download(t, b, x) {
		if math.Abs(float64(v-c[i])) > 1e-2 {
			t.Fatalf("x[%d] = %g, want %g (loss %g)", i, v, c[i], loss)
		}
	}
}

func TestAdamRosenbrock(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	r := newRosenbrock(t, b, 1)
	x := kerneltest.Upload(t, b, []float32{-1.2, 1})
	o, _ := NewAdam(b, 2, AdamOptions{LR: 0.02})
	defer o.Free()
	loss, _, _ := run(t, o, x, r.f, 6000)
	got := kerneltest.Download(t, b, x)
	if math.Abs(float64(got[0])-1) > 0.05 || math.Abs(float64(got[1])-1) > 0.1 {
		t.Fatalf("x = %v, want (1, 1) (loss %g)", got, loss)
	}
}

// TestAdamFirstStep: bias correction makes the first step exactly lr·sign(g).
func TestAdamFirstStep(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	q := newQuadratic(t, b, []float32{1, 100}, []float32{5, -5})
	x := kerneltest.Upload(t, b, make([]float32, 2))
	o, _ := NewAdam(b, 2, AdamOptions{LR: 0.5})
	o.Start(x, q.f)
	o.Step(x, q.f)
	got := kerneltest.Download(t, b, x)
	if math.Abs(float64(got[0])-0.5) > 1e-5 || math.Abs(float64(got[1])+0.5) > 1e-5 {
		t.Fatalf("after one step x = %v, want (0.5, −0.5)", got)
	}
	if _, err := NewAdam(b, 2, AdamOptions{}); err == nil || err.Error() != "optim: Adam learning rate 0 must be positive" {
		t.Fatalf("zero learning rate: %v", err)
	}
}
