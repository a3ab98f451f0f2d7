package transfer

import (
	"context"
	"errors"
	"image"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
)

// Run optimises an image for job on net (whose backend is b) and returns the
// final image, clipped to [0, 1]. Cancelling ctx stops the run and returns
// the current image with ctx's error. TEMPORARY placeholder: being written.
func Run(ctx context.Context, b kernels.Backend, net *model.Net, job Job, hooks Hooks) (*image.RGBA, error) {
	return nil, errors.New("transfer: not implemented yet")
}
