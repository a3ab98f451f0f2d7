package cpu

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// Weights is one convolution's weights with the GEMM A operands made from
// them kept, so that the calls that use it skip packing the weights: the
// forward pass's panels of W's rows and the input gradient's panels of the
// transposed, rotated W, each packed at first use for each micro-kernel's
// row count. Packing runs at 0.1–0.3 Gfloat/s under WebAssembly
// (BenchmarkPackAConvT), so repacking conv5_1's weights took about half of
// its input gradient at a 128² image (BenchmarkConvKept); in a profile of
// the page, 8–11 % of a helper worker's time. kernels/pool keeps one per
// weight slice it hands out, for as long as the slice is unchanged; a
// plain Conv3x3 call packs every time, because a tensor can be rewritten
// between calls.
//
// The kept panels cost as much memory again as the weights. A Weights
// serves one call at a time.
type Weights struct {
	w         []float32 // [Cout, Cin, 3, 3]: never changed while kept
	cin, cout int
	packs     map[packKey][]float32
}

type packKey struct {
	mr   int  // the micro-kernel's panel rows
	grad bool // the input gradient's operand, else the forward one
}

// NewWeights keeps w [cout, cin, 3, 3]; the caller must not change w
// afterwards (it makes a new Weights for new weights).
func NewWeights(w []float32, cin, cout int) (*Weights, error) {
	if cin < 1 || cout < 1 || len(w) != cout*cin*9 {
		return nil, fmt.Errorf("cpu: %d weights for a %d → %d convolution, want %d", len(w), cin, cout, cout*cin*9)
	}
	return &Weights{w: w, cin: cin, cout: cout, packs: map[packKey][]float32{}}, nil
}

// panels returns kw's A operand for mr-row panels, packing it into
// c.packedA and keeping a copy the first time; c.mu is held.
func (c *Backend) panels(kw *Weights, mr int, grad bool) []float32 {
	key := packKey{mr, grad}
	if pa, ok := kw.packs[key]; ok {
		return pa
	}
	if grad {
		c.packAConvT(mr, kw.w, kw.cin, kw.cout)
	} else {
		c.packARows(mr, kw.w, kw.cout, kw.cin*9, false, 1)
	}
	pa := append([]float32(nil), c.packedA...)
	kw.packs[key] = pa
	return pa
}

// Conv3x3PixelsKept is Conv3x3Pixels (bias and ReLU fused) with kw's
// weights, packed once: dst [Cout, p1-p0] gets the output pixels
// [p0, p1) from the whole x [Cin, H, W]; s's channels must be kw's.
func (c *Backend) Conv3x3PixelsKept(dst, x kernels.Tensor, kw *Weights, b kernels.Tensor, s kernels.ConvShape, p0, p1 int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kw.check(s)
	k := c.kernelFor(s.Cout, p1-p0)
	c.forward(k, c.panels(kw, k.mr, false), naive.Data(dst), naive.Data(x), naive.Data(b), s, p0, p1)
}

// Conv3x3InputGradPixelsKept is Conv3x3InputGradPixels with kw's weights,
// packed once: dx [Cin, p1-p0] gets those pixels' columns of the input
// gradient from the masked gradient g [Cout, H, W].
func (c *Backend) Conv3x3InputGradPixelsKept(dx, g kernels.Tensor, kw *Weights, s kernels.ConvShape, p0, p1 int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kw.check(s)
	k := c.kernelFor(s.Cin, p1-p0)
	c.backward(k, c.panels(kw, k.mr, true), naive.Data(dx), naive.Data(g), s, p0, p1)
}

// check panics when s is not a convolution of kw's channels (a caller's
// bug, like a wrong tensor length).
func (kw *Weights) check(s kernels.ConvShape) {
	if s.Cin != kw.cin || s.Cout != kw.cout {
		panic(fmt.Sprintf("cpu: a %d → %d convolution with weights kept for %d → %d", s.Cin, s.Cout, kw.cin, kw.cout))
	}
}
