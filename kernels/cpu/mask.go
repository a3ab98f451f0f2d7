package cpu

import "math"

// MaskReLU sets dst[i] = dy[i] where y[i] > 0 and +0 elsewhere: the
// gradient through a ReLU whose output was y. dst, dy and y have the same
// length (y may be longer; only its first len(dst) are read).
//
// It is branch-free (greater): the branch it replaces mispredicts on about
// half of a ReLU's outputs, and under WebAssembly this loop was a tenth of
// the pool's calling worker's busy time (BENCHMARKS.md, "Every core").
func MaskReLU(dst, dy, y []float32) {
	dy, y = dy[:len(dst)], y[:len(dst)]
	for i, v := range y {
		dst[i] = math.Float32frombits(math.Float32bits(dy[i]) & greater(0, v))
	}
}
