// Package optim holds the optimisers that drive style transfer: L-BFGS and
// Adam over a kernels.Tensor, so that a GPU backend keeps the image, the
// gradient and the optimiser's state on the device. Only scalars (the loss
// and a batch of dot products per iteration) come back to the host.
//
// Both minimise an Objective f(x) with gradient ∇f. An optimiser is primed
// with Start (one evaluation at the initial point), then each Step makes one
// update of x. The last evaluation of f that Step makes is always at the x it
// returns, so whatever the objective recorded about it (per-layer losses)
// describes the current image.
package optim

import (
	"math"

	"github.com/crema-app/crema/kernels"
)

// Names of the optimisers, as the settings spell them (default first).
const (
	NameLBFGS = "lbfgs"
	NameAdam  = "adam"
)

// Names lists the optimisers.
var Names = []string{NameLBFGS, NameAdam}

// Objective sets dx to ∇f(x) and returns f(x). x must not be modified. An
// error (a lost device) aborts the optimisation.
type Objective func(x, dx kernels.Tensor) (loss float64, err error)

// Result is what one Step did.
type Result struct {
	Loss  float64 // f at the new x
	Evals int     // objective evaluations this step
	Moved bool    // x changed (false when a line search found no lower loss)
	// Done is set when the optimiser has converged or cannot make progress;
	// x is then the best point found and further Steps are pointless.
	Done   bool
	Reason string // why Done
}

// Optimizer is L-BFGS or Adam.
type Optimizer interface {
	// Start evaluates f at x (unchanged) and keeps its gradient.
	Start(x kernels.Tensor, f Objective) (float64, error)
	// Step updates x once.
	Step(x kernels.Tensor, f Objective) (Result, error)
	// Reset forgets the history (L-BFGS pairs, Adam moments); Start again
	// before the next Step.
	Reset()
	// Free releases the device buffers.
	Free()
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
