package optim

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// AdamOptions are Adam's constants; zero fields take Kingma & Ba's defaults
// (β1 0.9, β2 0.999, ε 1e-8). LR has no default.
type AdamOptions struct {
	LR, Beta1, Beta2, Eps float64
}

// Adam is bias-corrected Adam, one kernels.Backend.Adam call per step.
type Adam struct {
	b       kernels.Backend
	opt     AdamOptions
	g, m, v kernels.Tensor // [n]: gradient at x, first and second moments
	t       int            // steps taken since the last Reset
	started bool
}

// NewAdam allocates Adam's state for an n-element x.
func NewAdam(b kernels.Backend, n int, opt AdamOptions) (*Adam, error) {
	if !(opt.LR > 0) || !finite(opt.LR) {
		return nil, fmt.Errorf("optim: Adam learning rate %g must be positive", opt.LR)
	}
	if opt.Beta1 == 0 {
		opt.Beta1 = 0.9
	}
	if opt.Beta2 == 0 {
		opt.Beta2 = 0.999
	}
	if opt.Eps == 0 {
		opt.Eps = 1e-8
	}
	a := &Adam{b: b, opt: opt}
	var err error
	for _, t := range []*kernels.Tensor{&a.g, &a.m, &a.v} {
		if *t, err = b.Alloc(n); err != nil {
			a.Free()
			return nil, fmt.Errorf("optim: Adam state for %d elements: %w", n, err)
		}
	}
	return a, nil
}

// LR is the current learning rate; SetLR changes it (after a rollback).
func (a *Adam) LR() float64          { return a.opt.LR }
func (a *Adam) SetLR(lr float64)     { a.opt.LR = lr }
func (a *Adam) Options() AdamOptions { return a.opt }

// Start implements Optimizer.
func (a *Adam) Start(x kernels.Tensor, f Objective) (float64, error) {
	loss, err := f(x, a.g)
	if err != nil {
		return loss, err
	}
	a.started = true
	return loss, nil
}

// Step implements Optimizer: x ← x − lr·m̂/(√v̂ + ε), then one evaluation.
func (a *Adam) Step(x kernels.Tensor, f Objective) (Result, error) {
	if !a.started {
		if _, err := a.Start(x, f); err != nil {
			return Result{}, err
		}
	}
	a.t++
	a.b.Adam(x, a.g, a.m, a.v, kernels.AdamParams{
		LR: float32(a.opt.LR), Beta1: float32(a.opt.Beta1), Beta2: float32(a.opt.Beta2), Eps: float32(a.opt.Eps), Step: a.t,
	})
	loss, err := f(x, a.g)
	return Result{Loss: loss, Evals: 1, Moved: true}, err
}

// Reset implements Optimizer.
func (a *Adam) Reset() {
	a.b.Fill(a.m, 0)
	a.b.Fill(a.v, 0)
	a.t = 0
	a.started = false
}

// Free implements Optimizer.
func (a *Adam) Free() {
	for _, t := range []kernels.Tensor{a.g, a.m, a.v} {
		if t != nil {
			a.b.Free(t)
		}
	}
	a.g, a.m, a.v = nil, nil, nil
}
