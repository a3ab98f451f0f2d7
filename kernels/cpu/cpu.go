// Package cpu is crema's CPU backend. Convolutions and MatMul run on a
// blocked, register-tiled SGEMM (gemm.go) split across worker goroutines;
// pooling, elementwise ops and reductions are plain loops split the same
// way. Natively it uses every core; under WebAssembly it runs on one thread.
//
// The GEMM's micro-kernel is chosen by measurement among the candidates of
// the build (kernel.go): the portable scalar 2×4 in Go everywhere; with
// GOEXPERIMENT=simd on amd64, AVX-512 and AVX2 kernels on Go's experimental
// simd/archsimd package (microkernel_simd_amd64.go); in a browser, SIMD128
// block kernels in a small generated WebAssembly module that works on the
// Go program's own memory (package wasmsimd, kernel_js.go). The scalar
// kernel is the fallback where SIMD is missing and, with the naive backend,
// the oracle the others are tested against.
//
// Its tensors are the naive backend's host tensors: the two backends can use
// each other's tensors, and the operations without a fast kernel here
// (memory, ResampleRows) are naive's.
//
// Like every backend it trusts its arguments: wrap it in kernels.Checked to
// have tensor lengths checked against the shapes (backends.Open does).
package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// Backend is the CPU backend. It keeps scratch buffers (packed weights and
// image tiles) between calls so that the hot loops never allocate; calls that
// use them hold a mutex, so a Backend may be shared by goroutines, but its
// operations then run one at a time.
type Backend struct {
	naive.Backend // memory operations and ResampleRows
	workers       int
	kernels       []*microKernel // measured candidates, fastest first (kernel.go)

	mu      sync.Mutex  // guards the scratch below
	packedA []float32   // [ceil(M/mr)·mr·K]: the A operand of the current GEMM, in mr-row panels
	packedB [][]float32 // [workers][KC·NC + mr·nr]: one B block and edge tile per worker
	masked  []float32   // [Cout, H, W]: dy ⊙ [y > 0] for Conv3x3Backward
}

var _ kernels.Backend = (*Backend)(nil)

// New returns a CPU backend that uses up to workers goroutines
// (0 means GOMAXPROCS). The first call measures the GEMM micro-kernels this
// machine can run (a few milliseconds; kernel.go).
func New(workers int) *Backend {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Backend{workers: workers, kernels: measured()}
}

func (c *Backend) Name() string { return "cpu" }

// Alloc returns a zeroed host tensor (shared with the naive backend).
func (c *Backend) Alloc(n int) (kernels.Tensor, error) { return naive.Alloc("cpu", n) }

// Describe names the workers and the GEMM micro-kernels with their measured
// rates, the one most products use first.
func (c *Backend) Describe() string {
	k := c.kernels[0]
	s := fmt.Sprintf("Go on %d worker(s), %s GEMM micro-kernel (%.0f GFLOP/s measured", c.workers, k.name, k.rate)
	if len(c.kernels) > 1 {
		last := c.kernels[len(c.kernels)-1]
		s += fmt.Sprintf("; %s %.0f", last.name, last.rate)
	}
	s += ")"
	if simdNote != "" {
		s += "; no SIMD: " + simdNote
	}
	return s
}

// parallel runs fn(job) for job in [0, jobs) on up to c.workers goroutines,
// handing out jobs in order from a shared counter. fn receives the worker
// index (< c.workers) so that it can use that worker's scratch.
func (c *Backend) parallel(jobs int, fn func(worker, job int)) {
	nw := min(c.workers, jobs)
	if nw <= 1 {
		for j := 0; j < jobs; j++ {
			fn(0, j)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(nw)
	for w := 0; w < nw; w++ {
		go func(w int) {
			defer wg.Done()
			for {
				j := int(next.Add(1) - 1)
				if j >= jobs {
					return
				}
				fn(w, j)
			}
		}(w)
	}
	wg.Wait()
}

// chunks splits n elements into at most c.workers contiguous ranges of at
// least minChunk elements and calls fn(lo, hi) for each, in parallel. The
// split depends only on n, minChunk and the worker count, so reductions built
// on it are deterministic.
func (c *Backend) chunks(n, minChunk int, fn func(part, lo, hi int)) {
	parts := max(1, min(c.workers, n/minChunk))
	size := (n + parts - 1) / parts
	c.parallel(parts, func(_, p int) {
		lo := p * size
		hi := min(n, lo+size)
		if lo < hi {
			fn(p, lo, hi)
		}
	})
}

// grow returns buf resliced to n elements, reallocating only when it is too
// small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
