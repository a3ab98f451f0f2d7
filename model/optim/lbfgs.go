package optim

import (
	"fmt"
	"math"

	"github.com/crema-app/crema/kernels"
)

// LBFGSOptions tune L-BFGS; zero fields take the defaults in brackets.
type LBFGSOptions struct {
	History int // correction pairs kept [10]
	// FirstStep is the RMS length, in x's units, of the first step along
	// −∇f, and of steps after the history is dropped [1].
	FirstStep float64
	// MaxStep caps the RMS length of any step (0: no cap) [0].
	MaxStep float64
	// C1 is Armijo's sufficient-decrease constant [1e-4].
	C1 float64
	// MaxLineSearch is the most evaluations one line search may make [20].
	MaxLineSearch int
	// Convergence: Step reports Done when the RMS gradient falls to GradTol
	// [1e-10], when the RMS step falls to StepTol [1e-10], or when the loss
	// changes by at most FuncTol·|f| three iterations in a row [1e-9].
	GradTol, StepTol, FuncTol float64
}

func (o LBFGSOptions) withDefaults() LBFGSOptions {
	if o.History <= 0 {
		o.History = 10
	}
	if o.FirstStep <= 0 {
		o.FirstStep = 1
	}
	if o.C1 <= 0 {
		o.C1 = 1e-4
	}
	if o.MaxLineSearch <= 0 {
		o.MaxLineSearch = 20
	}
	if o.GradTol <= 0 {
		o.GradTol = 1e-10
	}
	if o.StepTol <= 0 {
		o.StepTol = 1e-10
	}
	if o.FuncTol <= 0 {
		o.FuncTol = 1e-9
	}
	return o
}

// LBFGS is limited-memory BFGS in float32 with a backtracking Armijo line
// search (quadratic interpolation, step shrunk to [0.1, 0.5] of the last
// trial, a NaN trial shrinks it tenfold), so a step can only be accepted if
// it lowers the loss. The two-loop recursion runs on the host on the dot
// products of the stored vectors (Chen et al.'s vector-free L-BFGS): each
// iteration computes about 6·History of them in one Dots call, reads them in
// one batch and forms the search direction with History·2+1 Axpy calls on
// the device.
type LBFGS struct {
	b   kernels.Backend
	opt LBFGSOptions
	n   int

	xPrev, g, gNew, d kernels.Tensor   // [n]
	sNew, yNew        kernels.Tensor   // [n]: the candidate pair
	s, y              []kernels.Tensor // [History][n]: ring of pairs
	dots              kernels.Tensor   // [6·History + 6]
	host              []float32
	da, db            []kernels.Tensor // the pairs of the dots of one update

	// mat holds the dot products of the basis s_0…s_{m−1}, y_0…y_{m−1}, g
	// (indices j, m+j, 2m).
	mat     [][]float64
	order   []int // ring positions in use, oldest first
	loss    float64
	started bool
	flat    int // iterations in a row with a negligible loss change
}

// NewLBFGS allocates L-BFGS's state for an n-element x.
func NewLBFGS(b kernels.Backend, n int, opt LBFGSOptions) (*LBFGS, error) {
	opt = opt.withDefaults()
	m := opt.History
	o := &LBFGS{b: b, opt: opt, n: n, s: make([]kernels.Tensor, m), y: make([]kernels.Tensor, m)}
	ptrs := []*kernels.Tensor{&o.xPrev, &o.g, &o.gNew, &o.d, &o.sNew, &o.yNew}
	for j := 0; j < m; j++ {
		ptrs = append(ptrs, &o.s[j], &o.y[j])
	}
	var err error
	for _, p := range ptrs {
		if *p, err = b.Alloc(n); err != nil {
			o.Free()
			return nil, fmt.Errorf("optim: L-BFGS with history %d for %d elements: %w", m, n, err)
		}
	}
	if o.dots, err = b.Alloc(6*m + 6); err != nil {
		o.Free()
		return nil, fmt.Errorf("optim: L-BFGS scalars: %w", err)
	}
	o.host = make([]float32, 6*m+6)
	o.mat = make([][]float64, 2*m+1)
	for i := range o.mat {
		o.mat[i] = make([]float64, 2*m+1)
	}
	return o, nil
}

// Options returns the options in use (defaults filled in).
func (o *LBFGS) Options() LBFGSOptions { return o.opt }

// SetMaxStep changes the step cap (after a rollback).
func (o *LBFGS) SetMaxStep(v float64) { o.opt.MaxStep = v }

func (o *LBFGS) gi() int { return 2 * o.opt.History }

// Start implements Optimizer.
func (o *LBFGS) Start(x kernels.Tensor, f Objective) (float64, error) {
	o.order = o.order[:0]
	o.flat = 0
	loss, err := f(x, o.g)
	if err != nil {
		return loss, err
	}
	o.b.Dot(o.dots, 0, o.g, o.g)
	if err := o.b.ReadAt(o.host[:1], o.dots, 0); err != nil {
		return loss, err
	}
	o.mat[o.gi()][o.gi()] = float64(o.host[0])
	o.loss, o.started = loss, true
	return loss, nil
}

// direction forms d = −H·g on the device and returns gᵀd and ‖d‖².
func (o *LBFGS) direction() (gtd, dd float64) {
	m, gi := o.opt.History, o.gi()
	coef := make([]float64, 2*m+1)
	coef[gi] = 1
	alpha := make([]float64, len(o.order))
	rho := make([]float64, len(o.order))
	dotRow := func(row int) float64 {
		var v float64
		for j, c := range coef {
			if c != 0 {
				v += c * o.mat[row][j]
			}
		}
		return v
	}
	for k := len(o.order) - 1; k >= 0; k-- {
		j := o.order[k]
		rho[k] = 1 / o.mat[j][m+j]
		alpha[k] = rho[k] * dotRow(j)
		coef[m+j] -= alpha[k]
	}
	if k := len(o.order); k > 0 {
		j := o.order[k-1]
		gamma := o.mat[j][m+j] / o.mat[m+j][m+j]
		for i := range coef {
			coef[i] *= gamma
		}
	}
	for k, j := range o.order {
		beta := rho[k] * dotRow(m+j)
		coef[j] += alpha[k] - beta
	}
	o.b.Fill(o.d, 0)
	for i, c := range coef {
		if c == 0 {
			continue
		}
		o.b.Axpy(o.d, float32(-c), o.basis(i))
		gtd -= c * o.mat[gi][i]
		for j, c2 := range coef {
			dd += c * c2 * o.mat[i][j]
		}
	}
	return gtd, dd
}

func (o *LBFGS) basis(i int) kernels.Tensor {
	m := o.opt.History
	switch {
	case i == 2*m:
		return o.g
	case i >= m:
		return o.y[i-m]
	}
	return o.s[i]
}

// Step implements Optimizer.
func (o *LBFGS) Step(x kernels.Tensor, f Objective) (Result, error) {
	res := Result{}
	if !o.started {
		if _, err := o.Start(x, f); err != nil {
			return res, err
		}
		res.Evals++
	}
	b, gi, rn := o.b, o.gi(), math.Sqrt(float64(o.n))
	f0 := o.loss
	b.Copy(o.xPrev, x)
	var t float64
	accepted := false
	var fNew, gtd, dd float64
	for attempt := 0; attempt < 2 && !accepted; attempt++ {
		gtd, dd = o.direction()
		if len(o.order) > 0 && !(gtd < 0) {
			// Not a descent direction (rounding): fall back to −g.
			o.order = o.order[:0]
			gtd, dd = o.direction()
		}
		if !(gtd < 0) {
			break // the gradient is zero
		}
		if len(o.order) == 0 {
			t = o.opt.FirstStep / (math.Sqrt(dd) / rn)
		} else {
			t = 1
		}
		if o.opt.MaxStep > 0 && t*math.Sqrt(dd)/rn > o.opt.MaxStep {
			t = o.opt.MaxStep / (math.Sqrt(dd) / rn)
		}
		for ls := 0; ls < o.opt.MaxLineSearch; ls++ {
			b.Copy(x, o.xPrev)
			b.Axpy(x, float32(t), o.d)
			var err error
			fNew, err = f(x, o.gNew)
			res.Evals++
			if err != nil {
				return res, err
			}
			if finite(fNew) && fNew <= f0+o.opt.C1*t*gtd {
				accepted = true
				break
			}
			if finite(fNew) {
				tq := -gtd * t * t / (2 * (fNew - f0 - gtd*t))
				t = math.Min(math.Max(tq, 0.1*t), 0.5*t)
			} else {
				t *= 0.1
			}
		}
		if !accepted {
			o.order = o.order[:0] // retry once along −g
		}
	}
	if !accepted {
		// Back to the start point; evaluate it again so that the objective's
		// last evaluation describes the x we return.
		b.Copy(x, o.xPrev)
		loss, err := f(x, o.g)
		res.Evals++
		if err != nil {
			return res, err
		}
		o.loss = loss
		res.Loss, res.Done, res.Reason = loss, true, "the line search found no lower loss"
		return res, nil
	}

	// New pair s = t·d, y = g_new − g.
	b.Copy(o.sNew, o.d)
	b.Scale(o.sNew, float32(t))
	b.Copy(o.yNew, o.gNew)
	b.Axpy(o.yNew, -1, o.g)
	o.g, o.gNew = o.gNew, o.g
	m := o.opt.History
	// Every dot product the update needs, in one Dots call (a GPU batches
	// them: each stored pair is read once, not six times).
	o.da, o.db = o.da[:0], o.db[:0]
	for _, j := range o.order {
		o.da = append(o.da, o.sNew, o.sNew, o.yNew, o.yNew, o.g, o.g)
		o.db = append(o.db, o.s[j], o.y[j], o.s[j], o.y[j], o.s[j], o.y[j])
	}
	o.da = append(o.da, o.sNew, o.sNew, o.yNew, o.g, o.g, o.g)
	o.db = append(o.db, o.sNew, o.yNew, o.yNew, o.sNew, o.yNew, o.g)
	k := len(o.da)
	b.Dots(o.dots, 0, o.da, o.db)
	if err := b.ReadAt(o.host[:k], o.dots, 0); err != nil {
		return res, err
	}
	h := func(i int) float64 { return float64(o.host[i]) }
	base := 6 * len(o.order)
	ss, sy, yy, gs, gy, gg := h(base), h(base+1), h(base+2), h(base+3), h(base+4), h(base+5)
	for k, j := range o.order {
		o.mat[gi][j], o.mat[j][gi] = h(6*k+4), h(6*k+4)
		o.mat[gi][m+j], o.mat[m+j][gi] = h(6*k+5), h(6*k+5)
	}
	o.mat[gi][gi] = gg
	if finite(sy) && sy > 1e-10*yy && yy > 0 {
		// Store the pair in a free ring position or over the oldest.
		prev := append([]int(nil), o.order...) // the order the dots were taken in
		var p int
		if len(o.order) < m {
			used := make([]bool, m)
			for _, j := range o.order {
				used[j] = true
			}
			for used[p] {
				p++
			}
		} else {
			p = o.order[0]
			o.order = o.order[1:]
		}
		o.s[p], o.sNew = o.sNew, o.s[p]
		o.y[p], o.yNew = o.yNew, o.y[p]
		set := func(a, c int, v float64) { o.mat[a][c], o.mat[c][a] = v, v }
		for k, j := range prev {
			if j == p {
				continue // evicted
			}
			set(p, j, h(6*k))
			set(p, m+j, h(6*k+1))
			set(m+p, j, h(6*k+2))
			set(m+p, m+j, h(6*k+3))
		}
		o.order = append(o.order, p)
		o.mat[p][p], o.mat[p][m+p], o.mat[m+p][p], o.mat[m+p][m+p] = ss, sy, sy, yy
		o.mat[gi][p], o.mat[p][gi] = gs, gs
		o.mat[gi][m+p], o.mat[m+p][gi] = gy, gy
	}

	res.Loss, res.Moved = fNew, true
	o.loss = fNew
	switch {
	case math.Sqrt(gg)/rn <= o.opt.GradTol:
		res.Done, res.Reason = true, "the gradient vanished"
	case t*math.Sqrt(dd)/rn <= o.opt.StepTol:
		res.Done, res.Reason = true, "the step became negligible"
	}
	if math.Abs(fNew-f0) <= o.opt.FuncTol*math.Abs(f0) {
		o.flat++
		if o.flat >= 3 && !res.Done {
			res.Done, res.Reason = true, "the loss stopped changing"
		}
	} else {
		o.flat = 0
	}
	return res, nil
}

// Reset implements Optimizer.
func (o *LBFGS) Reset() {
	o.order = o.order[:0]
	o.started = false
	o.flat = 0
}

// Free implements Optimizer.
func (o *LBFGS) Free() {
	for _, t := range append([]kernels.Tensor{o.xPrev, o.g, o.gNew, o.d, o.sNew, o.yNew, o.dots}, append(o.s, o.y...)...) {
		if t != nil {
			o.b.Free(t)
		}
	}
	o.xPrev, o.g, o.gNew, o.d, o.sNew, o.yNew, o.dots = nil, nil, nil, nil, nil, nil, nil
	o.s, o.y = nil, nil
}
