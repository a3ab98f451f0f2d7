package cpu

import "math"

// greater is all ones when e > v (false when either is NaN), else zero.
// The compiler makes the condition a select, not a branch: the elementwise
// kernels that compare (max pooling, the ReLU mask) run over activations
// that are zero about half the time in no order, where a branch
// mispredicts about as often.
func greater(v, e float32) uint32 {
	var m uint32
	if e > v {
		m = 1
	}
	return -m
}

// pick is e where m is all ones and v where it is zero, bit for bit.
func pick(m uint32, v, e float32) float32 {
	return math.Float32frombits(math.Float32bits(v)&^m | math.Float32bits(e)&m)
}
