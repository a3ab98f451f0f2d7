package style

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// Content is the content loss at one layer:
// J_c = 1/(4·C·N) · Σ (A − A_content)².
type Content struct {
	b      kernels.Backend
	c, n   int
	target kernels.Tensor // [C, N]: the content image's activations
	diff   kernels.Tensor // [C, N]: A − target
	sdiff  kernels.Tensor // [C, N]: diff/(4·C·N)
}

// NewContent copies target: [C, N], the content image's activations at the
// layer, and prepares the loss for generated activations of the same shape.
func NewContent(b kernels.Backend, target kernels.Tensor, c, n int) (*Content, error) {
	if c < 1 || n < 1 || target.Len() != c*n {
		return nil, fmt.Errorf("style: content target has %d elements, want %d×%d", target.Len(), c, n)
	}
	l := &Content{b: b, c: c, n: n}
	var err error
	for _, t := range []*kernels.Tensor{&l.target, &l.diff, &l.sdiff} {
		if *t, err = b.Alloc(c * n); err != nil {
			l.Free()
			return nil, fmt.Errorf("style: content loss buffers: %w", err)
		}
	}
	b.Copy(l.target, target)
	return l, nil
}

// Forward writes J_c for activations a: [C, N] into loss[slot] and adds
// weight·∂J_c/∂A into da: [C, N].
func (l *Content) Forward(loss kernels.Tensor, slot int, da, a kernels.Tensor, weight float32) {
	b := l.b
	b.Copy(l.diff, a)
	b.Axpy(l.diff, -1, l.target)
	b.Copy(l.sdiff, l.diff)
	b.Scale(l.sdiff, float32(1/(4*float64(l.c)*float64(l.n))))
	b.Dot(loss, slot, l.diff, l.sdiff)
	if weight != 0 {
		b.Axpy(da, 2*weight, l.sdiff)
	}
}

// Free releases the device buffers.
func (l *Content) Free() {
	for _, t := range []kernels.Tensor{l.target, l.diff, l.sdiff} {
		if t != nil {
			l.b.Free(t)
		}
	}
	l.target, l.diff, l.sdiff = nil, nil, nil
}
