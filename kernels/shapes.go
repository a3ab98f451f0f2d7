package kernels

// Pooling selects the 2×2, stride-2 pooling of VGG.
type Pooling int

const (
	// MaxPool takes the largest of each 2×2 window (VGG's own).
	MaxPool Pooling = iota
	// AvgPool averages each 2×2 window (Gatys et al.'s choice for synthesis).
	AvgPool
)

// String names the pooling as the CLI and page spell it.
func (p Pooling) String() string {
	if p == AvgPool {
		return "avg"
	}
	return "max"
}

// ConvShape describes a 3×3, stride-1, zero-padded ("same") convolution over
// one CHW image: input [Cin, H, W], weights [Cout, Cin, 3, 3], bias [Cout],
// output [Cout, H, W].
type ConvShape struct {
	Cin, Cout, H, W int
}

// FLOPs is the multiply-add count of the forward convolution, times two.
func (s ConvShape) FLOPs() float64 {
	return 2 * float64(s.Cin) * 9 * float64(s.Cout) * float64(s.H) * float64(s.W)
}

// PoolShape describes 2×2, stride-2 pooling of an input [C, H, W] into
// [C, H/2, W/2] (integer division: an odd last row or column is dropped, as
// Keras' "valid" padding and Caffe's VGG do).
type PoolShape struct {
	C, H, W int
}

// OutH is the pooled height.
func (s PoolShape) OutH() int { return s.H / 2 }

// OutW is the pooled width.
func (s PoolShape) OutW() int { return s.W / 2 }

// AdamParams are the constants of one Adam step (Kingma & Ba, bias-corrected).
type AdamParams struct {
	LR, Beta1, Beta2, Eps float32
	// Step is t, counted from 1, for the bias corrections 1-β^t.
	Step int
}
