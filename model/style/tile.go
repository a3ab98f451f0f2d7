package style

import (
	"errors"
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// What a tiled run (model/transfer's tile.go) changes between tiles: the
// losses are built once, at the tile's size, with the style targets of the
// whole image; each tile brings its own content target and its own part
// of each region's mask.

// SetTarget replaces the content target with target: [C, N], the content
// image's activations at the layer for the next tile.
func (l *Content) SetTarget(target kernels.Tensor) error {
	if target.Len() != l.c*l.n {
		return fmt.Errorf("style: content target has %d elements, want %d×%d", target.Len(), l.c, l.n)
	}
	l.b.Copy(l.target, target)
	return nil
}

// Guided reports whether the layer was built with a guide (SetGuide works).
func (l *Layer) Guided() bool { return l.guided }

// SetGuide replaces the region's weights of a guided layer (NewGuidedLayer
// with a guide) with guide: [N]. The targets are kept. A guide with no
// weight is refused with the error IsEmptyGuide recognises, and the layer
// keeps its previous guide: the caller leaves the layer out of that tile.
func (l *Layer) SetGuide(guide []float32) error {
	if !l.guided {
		return errors.New("style: SetGuide on a layer built without a guide")
	}
	sum, err := guideSum(guide, l.n)
	if err != nil {
		return err
	}
	l.gsum = sum
	l.b.Write(l.gw, broadcast(guide, l.c))
	return nil
}
