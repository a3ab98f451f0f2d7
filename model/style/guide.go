package style

import (
	"errors"
	"fmt"
)

// Guide carries a region's mask down to a layer: mask: [H, W], weights in
// [0, 1] at the image's resolution, becomes the layer's spatial weights
// [lh, lw] the way VGG-19 shrinks its activations. Convolutions keep the
// resolution; each 2×2 pooling halves it, dropping an odd last row or
// column as Pool2x2 does, so the mask is average-pooled over the same 2×2
// windows until it is lh×lw (Gatys et al. 2017 propagate their guidance
// channels the same way). Average pooling whatever the network's pooling:
// a unit's weight is the fraction of its window inside the region, so soft
// edges stay soft and no region grows or shrinks on average.
//
// With erode, a position then keeps its weight only to the extent that its
// whole 3×3 neighbourhood at the layer's resolution is in the region (a
// 3×3 minimum filter; neighbours outside the image do not count), so that
// units whose receptive field straddles the region's border stop counting
// for it. The border moves inwards by one unit of the layer: 2^k image
// pixels after k poolings.
//
// It returns an error when lh×lw is not a size the poolings reach from
// H×W, or when the region has no weight left at the layer.
func Guide(mask []float32, h, w, lh, lw int, erode bool) ([]float32, error) {
	if h < 1 || w < 1 || len(mask) != h*w {
		return nil, fmt.Errorf("style: mask has %d values, want %d×%d", len(mask), h, w)
	}
	h0, w0 := h, w
	cur := append([]float32(nil), mask...) // [h, w]
	for h != lh || w != lw {
		if h/2 < lh || w/2 < lw || h < 2 || w < 2 {
			return nil, fmt.Errorf("style: a %d×%d mask does not pool down to %d×%d", w0, h0, lw, lh)
		}
		cur = pool2x2(cur, h, w)
		h, w = h/2, w/2
	}
	if erode {
		cur = erode3x3(cur, h, w)
	}
	var sum float64
	for _, v := range cur {
		sum += float64(v)
	}
	if !(sum > 0) {
		return nil, errEmptyGuide
	}
	return cur, nil
}

// errEmptyGuide is a region with no weight left at a layer.
var errEmptyGuide = errors.New("style: the region's mask is empty at this layer's resolution")

// IsEmptyGuide reports whether err is Guide's "no weight left" error.
func IsEmptyGuide(err error) bool { return errors.Is(err, errEmptyGuide) }

// pool2x2 averages m: [h, w] over 2×2 windows into [h/2, w/2].
func pool2x2(m []float32, h, w int) []float32 {
	oh, ow := h/2, w/2
	out := make([]float32, oh*ow) // [h/2, w/2]
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			i := 2*y*w + 2*x
			out[y*ow+x] = (m[i] + m[i+1] + m[i+w] + m[i+w+1]) / 4
		}
	}
	return out
}

// erode3x3 is the 3×3 minimum filter of m: [h, w] (neighbours outside the
// image are skipped).
func erode3x3(m []float32, h, w int) []float32 {
	out := make([]float32, h*w) // [h, w]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := m[y*w+x]
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					yy, xx := y+dy, x+dx
					if yy >= 0 && yy < h && xx >= 0 && xx < w {
						v = min(v, m[yy*w+xx])
					}
				}
			}
			out[y*w+x] = v
		}
	}
	return out
}
