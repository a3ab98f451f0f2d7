package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
)

// Quantize8 quantises a weight tensor [cout, cin, 3, 3] (or any tensor
// whose first dimension has cout output channels): symmetric, one scale per
// output channel, scale = max|w|/127 over the channel, values in
// [-127, 127]. Each value is rounded down or up (so it is within one step
// of w/scale), the nine of each 3×3 kernel together: of the 512 ways, the
// one whose errors e minimise eᵀCe, C the covariance of a 3×3 patch of a
// smooth image (rho^distance, rho = 0.9). The errors are thereby pushed
// into the high spatial frequencies, which feature maps hold little of: on
// the real weights conv1_1 … conv3_4 the features' error against float32
// is 30–50 % below that of rounding each value to the nearest step (see
// BENCHMARKS.md). A channel of zeros gets scale 0. The values must be
// finite.
func Quantize8(data []float32, cout int) (scales []float32, q []int8) {
	scales = make([]float32, cout)
	q = make([]int8, len(data))
	per := len(data) / cout
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range next {
				scales[o] = quantizeChannel(data[o*per:(o+1)*per], q[o*per:(o+1)*per])
			}
		}()
	}
	for o := range cout {
		next <- o
	}
	close(next)
	wg.Wait()
	return scales, q
}

// quantizeChannel quantises one output channel into q and returns its
// scale.
func quantizeChannel(ch []float32, q []int8) float32 {
	var m float32
	for _, v := range ch {
		m = max(m, float32(math.Abs(float64(v))))
	}
	if m == 0 {
		return 0
	}
	s := m / 127
	if len(ch)%9 != 0 {
		for i, v := range ch {
			q[i] = int8(min(max(math.Round(float64(v)/float64(s)), -127), 127))
		}
		return s
	}
	for k := 0; k < len(ch); k += 9 {
		roundKernel(ch[k:k+9], float64(s), q[k:k+9])
	}
	return s
}

// patch is the covariance model of a 3×3 patch of a feature map: rho to
// the power of the city-block distance between two taps, rho = 0.9.
var patch = func() (c [9][9]float64) {
	for a := range 9 {
		for b := range 9 {
			d := max(a/3-b/3, b/3-a/3) + max(a%3-b%3, b%3-a%3)
			c[a][b] = math.Pow(0.9, float64(d))
		}
	}
	return c
}()

// roundKernel rounds the nine values v/s each down or up, within
// [-127, 127], choosing the combination whose errors e minimise eᵀCe
// (C = patch). It walks the combinations in Gray-code order, one flip at a
// time, keeping Ce up to date.
func roundKernel(v []float32, s float64, q []int8) {
	var lo, e, ce [9]float64
	var free []int
	for i, x := range v {
		r := float64(x) / s
		f := math.Floor(r)
		switch {
		case f >= 127:
			f = 127
		case f < -127:
			f = -127
		case r != f && f < 127:
			free = append(free, i)
		}
		lo[i], e[i] = f, f-r
	}
	cost := 0.0
	for a := range 9 {
		for b := range 9 {
			ce[a] += patch[a][b] * e[b]
		}
		cost += e[a] * ce[a]
	}
	best, bestCode := cost, 0
	up := 0 // bit j set: free[j] rounded up
	for g := 1; g < 1<<len(free); g++ {
		j := bits.TrailingZeros(uint(g)) // Gray code: flip bit j
		i := free[j]
		d := 1.0
		if up>>j&1 == 1 {
			d = -1
		}
		up ^= 1 << j
		// e[i] += d: cost += 2d(Ce)_i + d²C_ii.
		cost += 2*d*ce[i] + patch[i][i]
		e[i] += d
		for a := range 9 {
			ce[a] += d * patch[a][i]
		}
		if cost < best {
			best, bestCode = cost, up
		}
	}
	for i := range 9 {
		q[i] = int8(lo[i])
	}
	for j, i := range free {
		if bestCode>>j&1 == 1 {
			q[i]++
		}
	}
}

// decodeInt8 decodes an int8 tensor's bytes: cout little-endian float32
// scales, then the values, q·scale of their output channel.
func decodeInt8(b []byte, cout int) ([]float32, error) {
	scales := make([]float32, cout)
	for o := range scales {
		s := math.Float32frombits(binary.LittleEndian.Uint32(b[4*o:]))
		if !finite(s) || s < 0 {
			return nil, fmt.Errorf("the scale of output channel %d is %g: scales must be finite and not negative", o, s)
		}
		scales[o] = s
	}
	vals := b[4*cout:]
	out := make([]float32, len(vals))
	per := len(vals) / cout
	for i, v := range vals {
		q := int8(v)
		if q == math.MinInt8 {
			return nil, fmt.Errorf("element %d is -128: int8 values must lie in [-127, 127]", i)
		}
		out[i] = float32(q) * scales[i/per]
	}
	return out, nil
}
