// Package naive is crema's reference backend: each kernels.Backend operation
// is the textbook loop, accumulated in float64, one obvious line per formula.
// It is slow on purpose and exists so that every fast kernel has a plain twin
// to be tested against (kerneltest runs its table on a backend and on this
// one); it is never used for real work.
//
// Its tensors live in host memory (Data exposes them). The CPU backend
// (package cpu) shares them and delegates to naive the operations it has no
// fast kernel for.
//
// Like every backend it trusts its arguments: wrap it in kernels.Checked to
// have tensor lengths checked against the shapes (backends.Open does).
package naive

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// Backend is the reference backend. Its zero value is ready to use.
type Backend struct{}

var _ kernels.Backend = Backend{}

// hostTensor is the tensor of the backends that compute on the host (naive
// and cpu); they can use each other's tensors.
type hostTensor struct {
	data []float32 // [n]
}

func (t *hostTensor) Len() int { return len(t.data) }

// Data returns the storage of a tensor made by the naive or the CPU backend
// (no copy), panicking on a tensor of another backend.
func Data(t kernels.Tensor) []float32 {
	h, ok := t.(*hostTensor)
	if !ok {
		panic(fmt.Sprintf("naive: tensor %T does not belong to a host backend", t))
	}
	return h.data
}

// Wrap returns a host tensor whose storage is data (no copy): a slice of
// another host tensor, for an operation on part of it (kernels/pool splits
// convolutions by channel ranges this way).
func Wrap(data []float32) kernels.Tensor { return &hostTensor{data: data} }

// host is Data, short for the loops below.
func host(t kernels.Tensor) []float32 { return Data(t) }

// MaxElems bounds one host allocation (4 GiB of float32), so that a huge
// request fails with a message instead of killing the process.
const MaxElems = 1 << 30

// Alloc returns a zeroed host tensor of n elements for the backend named who
// (the prefix of its error), or an error beyond MaxElems.
func Alloc(who string, n int) (kernels.Tensor, error) {
	if n < 0 || n > MaxElems {
		return nil, fmt.Errorf("%s: cannot allocate %d floats (%.1f MB): over the %d MB limit of one tensor",
			who, n, float64(n)*4/1e6, MaxElems*4/1000000)
	}
	return &hostTensor{data: make([]float32, n)}, nil
}

func (Backend) Name() string     { return "naive" }
func (Backend) Describe() string { return "naive reference loops (test oracle)" }

func (Backend) Alloc(n int) (kernels.Tensor, error) { return Alloc("naive", n) }
func (Backend) Free(kernels.Tensor)                 {}

func (Backend) Write(dst kernels.Tensor, src []float32) { copy(host(dst), src) }

func (Backend) Read(dst []float32, src kernels.Tensor) error {
	copy(dst, host(src))
	return nil
}

func (Backend) ReadAt(dst []float32, src kernels.Tensor, off int) error {
	copy(dst, host(src)[off:off+len(dst)])
	return nil
}

func (Backend) Copy(dst, src kernels.Tensor) { copy(host(dst), host(src)) }
