package cpu

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// The GEMM kernels and how one is chosen.
//
// A microKernel multiplies one packed A panel (mr rows, k-major: element
// (r, k) at k·mr + r) by one packed B panel (nr columns: element (k, j) at
// k·nr + j) into an mr×nr tile of C. Which kernels exist depends on the build
// and the CPU (candidates, in microkernel_*.go): the portable scalar 2×4
// everywhere; with GOEXPERIMENT=simd on amd64 the AVX-512 and AVX2 ones the
// CPU can run; under WebAssembly the SIMD128 block kernels when the browser
// has them (kernel_js.go).
//
// The choice is measured, not assumed from CPU flags: the first Backend made
// times every candidate on one synthetic packed block of the size gemm uses
// (a few milliseconds in all) and keeps each one's rate. Each product then
// takes the kernel with the highest rate × utilisation, where utilisation is
// the share of the padded mr×nr tiles that holds real rows and columns
// (a 64-column kernel wastes 3/4 of its work on a 16-pixel image, a 7-row
// kernel 4/7 of it on a 3-channel gradient). So no CPU runs a kernel slower
// than the scalar one, whatever its flags say (issue 10: an AVX-512 Xeon
// was 5× slower with GOEXPERIMENT=simd than without).

// tileFunc adds A·B over kc steps into the tile at c (row stride ldc):
// c[r·ldc+j] += Σ_k a[k·mr+r]·b[k·nr+j] for r < mr, j < nr. a holds at least
// kc·mr floats and b kc·nr.
type tileFunc func(kc int, a, b, c []float32, ldc int)

// blockFunc runs every tile of one packed block: for each A panel i < panels
// (kc·mr floats at a[i·aStride:]) and each B panel j < bPanels (kc·nr floats
// at b[j·nr·kc:]), C[i·mr : i·mr+mr, j·nr : j·nr+nr] += A_i·B_j, with C at
// c (row stride ldc). Only rowsLast rows of the last A panel and colsLast
// columns of the last B panel are real; tile (mr·nr floats) is scratch for
// those edge tiles. kc, panels and bPanels are at least 1.
type blockFunc func(k *microKernel, kc int, a []float32, aStride, panels, rowsLast int,
	b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32)

// microKernel is one GEMM kernel: its tile shape and code.
type microKernel struct {
	name   string
	mr, nr int
	tile   tileFunc
	// block, when set, replaces the Go loop over the tiles of a block
	// (goBlock): a kernel outside Go (WebAssembly SIMD) is called once per
	// block, not per tile.
	block blockFunc
	// pack, when set, packs a convolution's B blocks for this kernel
	// (its module's, like block), else convOperand.packB does.
	pack PackConvFunc
	// rate is the measured GFLOP/s of one block (single thread); 0 until
	// measured.
	rate float64
}

// run runs one block with k's block function, or the Go loop over its tiles.
func (k *microKernel) run(kc int, a []float32, aStride, panels, rowsLast int,
	b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32) {
	if k.block != nil {
		k.block(k, kc, a, aStride, panels, rowsLast, b, bPanels, colsLast, c, ldc, tile)
		return
	}
	goBlock(k, kc, a, aStride, panels, rowsLast, b, bPanels, colsLast, c, ldc, tile)
}

// goBlock is the block loop in Go around k.tile (see blockFunc).
func goBlock(k *microKernel, kc int, a []float32, aStride, panels, rowsLast int,
	b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32) {
	mr, nr := k.mr, k.nr
	for i := 0; i < panels; i++ {
		ap := a[i*aStride : i*aStride+kc*mr]
		rows := mr
		if i == panels-1 {
			rows = rowsLast
		}
		for j := 0; j < bPanels; j++ {
			bp := b[j*nr*kc : (j+1)*nr*kc]
			cols := nr
			if j == bPanels-1 {
				cols = colsLast
			}
			if rows == mr && cols == nr {
				k.tile(kc, ap, bp, c[i*mr*ldc+j*nr:], ldc)
				continue
			}
			clear(tile)
			k.tile(kc, ap, bp, tile, nr)
			for r := 0; r < rows; r++ {
				dst := c[(i*mr+r)*ldc+j*nr : (i*mr+r)*ldc+j*nr+cols]
				for q, v := range tile[r*nr : r*nr+cols] {
					dst[q] += v
				}
			}
		}
	}
}

// utilisation is the share of real rows and columns in the padded tiles of
// an [m, n] product with mr×nr tiles.
func utilisation(m, n, mr, nr int) float64 {
	pm := (m + mr - 1) / mr * mr
	pn := (n + nr - 1) / nr * nr
	return float64(m) / float64(pm) * float64(n) / float64(pn)
}

// choose returns the kernel of ks with the highest rate × utilisation for an
// [m, n] product (the first of equals; ks must be measured).
func choose(ks []*microKernel, m, n int) *microKernel {
	best, bestScore := ks[0], -1.0
	for _, k := range ks {
		if s := k.rate * utilisation(m, n, k.mr, k.nr); s > bestScore {
			best, bestScore = k, s
		}
	}
	return best
}

// Sizes of the measured block: rows and columns are rounded up to whole
// tiles of each kernel, so each is timed on full tiles, as in the bulk of a
// real product.
const (
	measureRows = 48
	measureCols = 192
	measureKC   = gemmKC
	// measureMin is the least time one sample of a kernel runs for (browsers
	// round performance.now() to 0.1 ms when not cross-origin isolated).
	measureMin = 2 * time.Millisecond
	// measureRounds samples of each kernel are taken in turn; the best counts.
	measureRounds = 3
)

// measure times each kernel of ks on one synthetic block, sets its rate and
// returns ks sorted fastest first.
func measure(ks []*microKernel) []*microKernel {
	type setup struct {
		a, b, c, tile []float32
		m, n          int
	}
	sets := make([]setup, len(ks))
	for i, k := range ks {
		m := (measureRows + k.mr - 1) / k.mr * k.mr
		n := (measureCols + k.nr - 1) / k.nr * k.nr
		s := setup{a: make([]float32, m*measureKC), b: make([]float32, n*measureKC),
			c: make([]float32, m*n), tile: make([]float32, k.mr*k.nr), m: m, n: n}
		for j := range s.a {
			s.a[j] = float32(j%7) * 0.25
		}
		for j := range s.b {
			s.b[j] = float32(j%5) * 0.25
		}
		sets[i] = s
	}
	once := func(k *microKernel, s setup) {
		k.run(measureKC, s.a, k.mr*measureKC, s.m/k.mr, k.mr, s.b, s.n/k.nr, k.nr, s.c, s.n, s.tile)
	}
	// Warm up: page in the buffers and, under WebAssembly, let V8 tier the
	// SIMD module's functions up from its baseline compiler (a first
	// measurement of one kernel in Chromium came out 20× too slow).
	for i, k := range ks {
		for t0 := time.Now(); time.Since(t0) < measureMin/2; {
			once(k, sets[i])
		}
	}
	for r := 0; r < measureRounds; r++ {
		for i, k := range ks {
			s := sets[i]
			reps := 0
			t0 := time.Now()
			for {
				once(k, s)
				reps++
				if time.Since(t0) >= measureMin {
					break
				}
			}
			flops := 2 * float64(s.m) * float64(s.n) * measureKC * float64(reps)
			k.rate = max(k.rate, flops/time.Since(t0).Seconds()/1e9)
		}
	}
	sorted := append([]*microKernel(nil), ks...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].rate > sorted[j].rate })
	return sorted
}

// The measured kernels of this process, made on first use.
var (
	measuredOnce sync.Once
	measuredKs   []*microKernel
	// simdNote says why no SIMD kernel is among the candidates where one
	// was expected (under WebAssembly: kernel_js.go), for Describe.
	simdNote string
)

// measured returns this machine's candidates, measured, fastest first.
func measured() []*microKernel {
	measuredOnce.Do(func() { measuredKs = measure(candidates()) })
	return measuredKs
}

// MicroKernels describes the GEMM kernels this build can run on this
// machine, fastest first, with their measured single-thread rates (the first
// use measures them).
func MicroKernels() []string {
	var out []string
	for _, k := range measured() {
		out = append(out, fmt.Sprintf("%s (%.1f GFLOP/s)", k.name, k.rate))
	}
	return out
}

// MicroKernelNames lists the names NewWithKernel accepts on this machine,
// fastest first.
func MicroKernelNames() []string {
	var out []string
	for _, k := range measured() {
		out = append(out, k.name)
	}
	return out
}

// NewWithKernel returns a CPU backend that runs every product on the named
// micro-kernel (one of MicroKernelNames) instead of choosing per product:
// for tests and benchmarks of one kernel.
func NewWithKernel(workers int, name string) (*Backend, error) {
	for _, k := range measured() {
		if k.name == name {
			b := New(workers)
			b.kernels = []*microKernel{k}
			return b, nil
		}
	}
	return nil, fmt.Errorf("cpu: no micro-kernel %q here (have %s)", name, strings.Join(MicroKernelNames(), ", "))
}

// BlockKernel is a GEMM block kernel that runs outside this package's Go
// code (package wasmsimd's WebAssembly SIMD kernels, which its native tests
// run under wazero). Block has blockFunc's arguments and contract: for each
// A panel i < panels (kc·MR floats at a[i·aStride:], element (r, k) at
// k·MR + r) and B panel j < bPanels (kc·NR floats at b[j·NR·kc:], element
// (k, q) at k·NR + q), C[i·MR+r, j·NR+q] (at c[(i·MR+r)·ldc + j·NR+q]) +=
// Σ_k A·B, for the rowsLast real rows of the last A panel and colsLast real
// columns of the last B panel; tile is MR·NR floats of scratch.
// PackConv, when set, packs the convolutions' B blocks (PackConvFunc).
type BlockKernel struct {
	Name     string
	MR, NR   int
	Block    func(kc int, a []float32, aStride, panels, rowsLast int, b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32)
	PackConv PackConvFunc
}

// NewWithBlockKernel returns a CPU backend whose every product runs on k:
// the GEMM driver (packing, blocking, epilogues) of this package around a
// kernel from outside it, for tests.
func NewWithBlockKernel(workers int, k BlockKernel) *Backend {
	b := New(workers)
	f := k.Block
	b.kernels = []*microKernel{{name: k.Name, mr: k.MR, nr: k.NR, rate: 1, pack: k.PackConv,
		block: func(_ *microKernel, kc int, a []float32, aStride, panels, rowsLast int,
			bb []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32) {
			f(kc, a, aStride, panels, rowsLast, bb, bPanels, colsLast, c, ldc, tile)
		}}}
	return b
}
