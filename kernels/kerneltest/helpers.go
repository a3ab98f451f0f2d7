package kerneltest

import (
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
)

// Upload allocates a tensor on b holding a copy of data, failing t when b
// cannot allocate it.
func Upload(t testing.TB, b kernels.Backend, data []float32) kernels.Tensor {
	t.Helper()
	x, err := b.Alloc(len(data))
	if err != nil {
		t.Fatalf("%s: Alloc(%d): %v", b.Name(), len(data), err)
	}
	b.Write(x, data)
	return x
}

// Download reads x back from b, failing t when the read fails.
func Download(t testing.TB, b kernels.Backend, x kernels.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := b.Read(out, x); err != nil {
		t.Fatalf("%s: Read: %v", b.Name(), err)
	}
	return out
}

// Uniform returns n values uniform in [lo, hi).
func Uniform(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

// Normal returns n values drawn from a normal distribution of mean 0 and
// standard deviation sd.
func Normal(r *rand.Rand, n int, sd float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * sd)
	}
	return s
}
