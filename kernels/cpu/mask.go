package cpu

import "math"

// MaskReLU sets dst[i] = dy[i] where y[i] > 0 and +0 elsewhere: the
// gradient through a ReLU whose output was y. dst, dy and y have the same
// length (y may be longer; only its first len(dst) are read).
//
// It is branch-free: y > 0 holds exactly when y's bits, less one, are below
// those of +Inf (as unsigned integers; +0 wraps around, negatives and NaNs
// are above), and that comparison becomes a mask of all ones or none. The
// branch it replaces mispredicts on about half of a ReLU's outputs, and
// under WebAssembly this loop was a tenth of the pool's calling worker's
// busy time (BENCHMARKS.md, "Every core").
func MaskReLU(dst, dy, y []float32) {
	dy, y = dy[:len(dst)], y[:len(dst)]
	for i, v := range y {
		b := int64(math.Float32bits(v)-1) - 0x7f800000 // < 0 exactly when y > 0
		dst[i] = math.Float32frombits(math.Float32bits(dy[i]) & uint32(b>>63))
	}
}
