//go:build js

package kernels

import (
	"embed"
	"fmt"
	"math"
	"sync"
	"syscall/js"
)

//go:embed wgsl/*.wgsl
var wgslFiles embed.FS

// WebGPU is the backend that runs every operation as a WGSL compute shader
// on the browser's GPU (Open("webgpu") or Open("auto")). Operations are only
// recorded; they are submitted in one batch at Read, Write or every
// maxPendingDispatches dispatches, so nothing but what Read asks for comes
// back to the host. Read must not be called from inside a js.FuncOf callback
// (it waits for a Promise). After a device loss every operation is a no-op
// and Read returns an error wrapping ErrDeviceLost.
type WebGPU struct {
	mu     sync.Mutex
	dev    js.Value // GPUDevice
	ex     js.Value // the executor object of webgpu_exec.js
	info   string
	limits gpuLimits

	// Staging arrays in JavaScript and their capacities in bytes.
	cmdU8, uniU8, stageU8    js.Value
	cmdCap, uniCap, stageCap int

	// The recorded, not yet submitted work.
	cmds       []uint32
	uni        []byte
	slots      int // uniform slots used in uni
	dispatches int
	submits    int

	readOK, readFail js.Func
	readCh           chan promiseResult
	lost             bool
	lostMsg          string
	err              error // a failure to report at the next Read

	nextID uint32
	pipes  map[string]uint32
	pool   map[int][]uint32 // freed buffer ids by size
	pooled int64            // bytes in pool
	live   int64            // bytes of live tensors (scratch included)
	doomed []uint32         // buffers to destroy after the next flush

	dummy   *gpuTensor
	scratch [5]*gpuTensor           // reduction partials, sort keys, sort ids, split-K parts, masked dy
	flipped map[*gpuTensor]*derived // conv weights → w' of the backward conv
	tables  map[[2]int]*gpuTensor   // (scols, dcols) → ResampleRows column map

	software bool                      // a CPU implementation (SwiftShader, lavapipe)
	convK    map[convTile]*convKernels // conv pipelines by tile shape
	convTile convTile                  // tests: the tile conv uses when set
	convS    int                       // tests: the split-K slices conv asks for when set
}

// derived is a tensor computed from another one, valid while that one's
// version is unchanged.
type derived struct {
	t       *gpuTensor
	version uint64
}

var _ Backend = (*WebGPU)(nil)

// The pipelines: one per entry point (see each .wgsl file's header).
var (
	kElementwise = &kernelSpec{name: "elementwise", module: "elementwise.wgsl", entry: "main", spec: "uwrr"}
	kAdam        = &kernelSpec{name: "adam", module: "adam.wgsl", entry: "main", spec: "uwrww"}
	kTVGrad      = &kernelSpec{name: "tv", module: "tv.wgsl", entry: "main", spec: "urw"}
	kPartial     = &kernelSpec{name: "reduce partial", module: "reduce.wgsl", entry: "partial", spec: "urrw"}
	kFinish      = &kernelSpec{name: "reduce finish", module: "reduce.wgsl", entry: "finish", spec: "u--ww"}
	kRowSum      = &kernelSpec{name: "rowsum", module: "rows.wgsl", entry: "rowsum", spec: "ur-w"}
	kScatter     = &kernelSpec{name: "scatter", module: "rows.wgsl", entry: "scatter", spec: "urrw"}
	kResample    = &kernelSpec{name: "resample", module: "rows.wgsl", entry: "resample", spec: "urrw"}
	kPoolFwd     = &kernelSpec{name: "pool forward", module: "pool.wgsl", entry: "forward", spec: "ur-w"}
	kPoolBwd     = &kernelSpec{name: "pool backward", module: "pool.wgsl", entry: "backward", spec: "urrw"}
	kSortInit    = &kernelSpec{name: "sort init", module: "sort.wgsl", entry: "sort_init", spec: "uwwr"}
	kSortLocal   = &kernelSpec{name: "sort local", module: "sort.wgsl", entry: "sort_local", spec: "uww"}
	kSortGlobal  = &kernelSpec{name: "sort global", module: "sort.wgsl", entry: "sort_global", spec: "uww"}
	kSortFinal   = &kernelSpec{name: "sort final", module: "sort.wgsl", entry: "sort_final", spec: "uww-ww"}
	kMatMul      = &kernelSpec{name: "matmul", module: "matmul.wgsl", entry: "main", spec: "urrww"}
	kMatMulSum   = &kernelSpec{name: "matmul finish", module: "matmul.wgsl", entry: "finish", spec: "u--ww"}
	kConvFlip    = &kernelSpec{name: "conv flip", module: "convflip.wgsl", entry: "main", spec: "urw"}
)

// convTile is one tile shape of conv.wgsl: TM rows of M × TN pixels, computed
// by TM·TN/16 threads.
type convTile struct{ tm, tn int }

// convTiles are the tile shapes conv picks from (see conv.wgsl's header): the
// general 64×64 first, then thin ones for the few pixels of deep layers of
// small images (64×16, 64×4), for a few output channels (conv1_1's input
// gradient, M = 3: 4×64, 8×64) and a square 32×32 between. At BK = 32 each
// needs at most 16 KiB of workgroup memory.
var convTiles = []convTile{{64, 64}, {64, 16}, {64, 4}, {32, 32}, {16, 64}, {8, 64}, {4, 64}}

// convCost estimates, in units of one multiply-add, what a tile shape costs
// per tap of K for out [m, n]: the multiply-adds of the padded tiles, the
// gathers of B (one per pixel per row of tiles, each worth ~16 multiply-adds:
// the tap's index arithmetic, bounds and ReLU-mask tests) and the reads of A.
func convCost(t convTile, m, n int) int {
	mt, nt := (m+t.tm-1)/t.tm, (n+t.tn-1)/t.tn
	return mt*t.tm*nt*t.tn + 16*mt*nt*t.tn + 2*nt*mt*t.tm
}

// convTileFor picks the cheapest tile shape for out [m, n]; hardware GPUs
// skip tiles of fewer than 32 threads (a fraction of one SIMD group).
func (g *WebGPU) convTileFor(m, n int) convTile {
	if g.convTile.tm != 0 {
		return g.convTile
	}
	best, bestCost := convTiles[0], convCost(convTiles[0], m, n)
	for _, t := range convTiles[1:] {
		if t.tm*t.tn/16 < 32 && !g.software {
			continue
		}
		if c := convCost(t, m, n); c < bestCost {
			best, bestCost = t, c
		}
	}
	return best
}

// convKernels are conv.wgsl's pipelines for one tile shape and tile depth BK.
type convKernels struct {
	bk                       int
	tile                     convTile
	fwd, bwd, fwdSum, bwdSum *kernelSpec
}

func newConvKernels(bk int, tile convTile) *convKernels {
	k := func(name, entry, spec, consts string) *kernelSpec {
		return &kernelSpec{name: fmt.Sprintf("%s %dx%d bk%d", name, tile.tm, tile.tn, bk), module: "conv.wgsl",
			entry: entry, spec: spec, constants: fmt.Sprintf("BK=%d,TM=%d,TN=%d%s", bk, tile.tm, tile.tn, consts)}
	}
	return &convKernels{
		bk:     bk,
		tile:   tile,
		fwd:    k("conv forward", "main", "urrrrww", ""),
		bwd:    k("conv backward", "main", "urrrrww", ",BACKWARD=1"),
		fwdSum: k("conv forward finish", "finish", "u---rww", ""),
		bwdSum: k("conv backward finish", "finish", "u---rww", ",BACKWARD=1"),
	}
}

// convKernelsFor returns the conv pipelines for tile shape t, made on first use.
func (g *WebGPU) convKernelsFor(t convTile) *convKernels {
	ck := g.convK[t]
	if ck == nil {
		ck = newConvKernels(32, t)
		g.convK[t] = ck
	}
	return ck
}

const (
	scratchPartial = iota
	scratchKeys
	scratchIDs
	scratchSplitK
	scratchMask
)

// maxGroups is WebGPU's default maxComputeWorkgroupsPerDimension.
const maxGroups = 65535

// groups1D is the workgroup count of a grid-stride kernel over n elements
// with 256 threads per workgroup.
func groups1D(n int) int {
	if n <= 0 {
		return 0
	}
	return min((n+255)/256, maxGroups)
}

func f32bits(v float32) uint32 { return math.Float32bits(v) }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// gt returns t as a tensor of this backend, panicking on a foreign one.
func (g *WebGPU) gt(t Tensor) *gpuTensor {
	x, ok := t.(*gpuTensor)
	if !ok || x.owner != g {
		panic(fmt.Sprintf("kernels: tensor %T does not belong to this WebGPU backend", t))
	}
	if x.freed {
		panic("kernels: webgpu: use of a freed tensor")
	}
	return x
}

// scratchOf returns internal scratch tensor which with at least n floats.
func (g *WebGPU) scratchOf(which, n int) *gpuTensor {
	if s := g.scratch[which]; s != nil && s.n >= n {
		return s
	}
	if s := g.scratch[which]; s != nil {
		g.release(s)
		g.scratch[which] = nil
	}
	s, err := g.newTensor(n, "crema scratch")
	if err != nil {
		if g.err == nil {
			g.err = err
		}
		return nil
	}
	g.scratch[which] = s
	return s
}

func (g *WebGPU) Name() string { return "webgpu" }

func (g *WebGPU) Describe() string { return "WebGPU: " + g.info }

// ---- memory ----

func (g *WebGPU) Alloc(n int) (Tensor, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lost {
		return nil, g.lostError()
	}
	t, err := g.newTensor(n, "")
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (g *WebGPU) Free(t Tensor) {
	if t == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	x := g.gt(t)
	if d := g.flipped[x]; d != nil {
		g.release(d.t)
		delete(g.flipped, x)
	}
	g.release(x)
}

func (g *WebGPU) Write(dst Tensor, src []float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Write dst", dst, len(src))
	g.upload(g.gt(dst), src)
}

func (g *WebGPU) Read(dst []float32, src Tensor) error {
	checkLen("Read src", src, len(dst))
	return g.ReadAt(dst, src, 0)
}

func (g *WebGPU) ReadAt(dst []float32, src Tensor, off int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.gt(src)
	if off < 0 || off+len(dst) > s.n {
		panic(fmt.Sprintf("kernels: ReadAt [%d:%d] of a tensor of %d", off, off+len(dst), s.n))
	}
	if g.err != nil && !g.lost {
		err := g.err
		g.err = nil
		return err
	}
	return g.download(dst, s, off)
}

func (g *WebGPU) Copy(dst, src Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Copy dst", dst, src.Len())
	d, s := g.gt(dst), g.gt(src)
	if d != s {
		g.copyBuffer(d, 0, s, 0, d.n)
	}
}

// ---- VGG layers ----

func (g *WebGPU) Conv3x3(dst, x, w, b Tensor, s ConvShape) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Conv3x3 dst", dst, s.Cout*s.H*s.W)
	checkLen("Conv3x3 x", x, s.Cin*s.H*s.W)
	checkLen("Conv3x3 w", w, s.Cout*s.Cin*9)
	checkLen("Conv3x3 b", b, s.Cout)
	g.conv(false, s.Cout, s.Cin, s, g.gt(x), g.gt(w), g.gt(b), g.gt(dst))
}

func (g *WebGPU) Conv3x3Backward(dx, dy, y, w Tensor, s ConvShape) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Conv3x3Backward dx", dx, s.Cin*s.H*s.W)
	checkLen("Conv3x3Backward dy", dy, s.Cout*s.H*s.W)
	checkLen("Conv3x3Backward y", y, s.Cout*s.H*s.W)
	checkLen("Conv3x3Backward w", w, s.Cout*s.Cin*9)
	wf := g.flippedWeights(g.gt(w), s)
	if wf == nil {
		return
	}
	// The ReLU mask is applied once, by an elementwise pass into a scratch
	// buffer, rather than while the conv gathers B (which reads each element
	// of dy nine times, and y beside it). make bench at 128² on SwiftShader:
	// the profiled input-gradient convs went from 10.1 s to 8.8 s per
	// iteration; the whole-iteration median moved within its noise.
	n := s.Cout * s.H * s.W
	masked := g.scratchOf(scratchMask, n)
	if masked == nil {
		return
	}
	g.elementwise(opReluMask, masked, g.gt(dy), g.gt(y), n, 1, 0)
	g.conv(true, s.Cin, s.Cout, s, masked, wf, g.gt(y), g.gt(dx))
}

// conv records conv.wgsl's implicit GEMM out[m, H·W] = A[m, c·9]·B with B
// gathered from in: [c, H, W] (see the shader), in the tile shape that wastes
// least on padding for m × H·W. On hardware GPUs it splits K when out has too
// few tiles to fill the GPU; software adapters, which run workgroups on a few
// CPU cores, only lose by it.
func (g *WebGPU) conv(backward bool, m, c int, s ConvShape, in, a, aux, out *gpuTensor) {
	n, k := s.H*s.W, c*9
	ck := g.convKernelsFor(g.convTileFor(m, n))
	tm, tn := ck.tile.tm, ck.tile.tn
	main, sum := ck.fwd, ck.fwdSum
	if backward {
		main, sum = ck.bwd, ck.bwdSum
	}
	// Work in units of 64×64 tiles.
	tiles := ((n+tn-1)/tn*tn*((m+tm-1)/tm*tm) + 4095) / 4096
	slices := 1
	if tiles < 128 && k >= 512 && !g.software {
		slices = min((128+tiles-1)/tiles, k/256)
	}
	if g.convS > 0 {
		slices = g.convS
	}
	kc := (k + slices - 1) / slices
	kc = (kc + ck.bk - 1) / ck.bk * ck.bk
	slices = (k + kc - 1) / kc
	part := g.dummy
	if slices > 1 {
		if part = g.scratchOf(scratchSplitK, slices*m*n); part == nil {
			return
		}
	}
	uni := []uint32{uint32(m), uint32(n), uint32(k), uint32(c), uint32(s.H), uint32(s.W), b2u(k%4 == 0),
		uint32(kc), uint32(slices), 0, 0, 0}
	g.dispatch(main, uni, (n+tn-1)/tn, (m+tm-1)/tm, slices, in, a, a, aux, out, part)
	if slices > 1 {
		g.dispatch(sum, uni, groups1D(m*n), 1, 1, aux, out, part)
	}
}

// flippedWeights returns w' = the [Cin, Cout·9] weights of the input-gradient
// convolution, computed on the device once per version of w.
func (g *WebGPU) flippedWeights(w *gpuTensor, s ConvShape) *gpuTensor {
	d := g.flipped[w]
	if d != nil && d.version == w.version && d.t.n == w.n {
		return d.t
	}
	if d == nil || d.t.n != w.n {
		if d != nil {
			g.release(d.t)
		}
		t, err := g.newTensor(w.n, "crema flipped weights")
		if err != nil {
			if g.err == nil {
				g.err = err
			}
			delete(g.flipped, w)
			return nil
		}
		d = &derived{t: t}
		g.flipped[w] = d
	}
	g.dispatch(kConvFlip, []uint32{uint32(s.Cin), uint32(s.Cout), uint32(w.n), 0}, groups1D(w.n), 1, 1, w, d.t)
	d.version = w.version
	return d.t
}

func (g *WebGPU) Pool2x2(dst, x Tensor, s PoolShape, p Pooling) {
	g.mu.Lock()
	defer g.mu.Unlock()
	oh, ow := s.OutH(), s.OutW()
	checkLen("Pool2x2 dst", dst, s.C*oh*ow)
	checkLen("Pool2x2 x", x, s.C*s.H*s.W)
	n := s.C * oh * ow
	g.dispatch(kPoolFwd, []uint32{uint32(s.C), uint32(s.H), uint32(s.W), uint32(oh), uint32(ow), b2u(p == MaxPool), uint32(n), 0},
		groups1D(n), 1, 1, g.gt(x), g.gt(dst))
}

func (g *WebGPU) Pool2x2Backward(dx, dy, x Tensor, s PoolShape, p Pooling) {
	g.mu.Lock()
	defer g.mu.Unlock()
	oh, ow := s.OutH(), s.OutW()
	checkLen("Pool2x2Backward dx", dx, s.C*s.H*s.W)
	checkLen("Pool2x2Backward dy", dy, s.C*oh*ow)
	checkLen("Pool2x2Backward x", x, s.C*s.H*s.W)
	n := s.C * ((s.H + 1) / 2) * ((s.W + 1) / 2) // windows, partial ones included
	g.dispatch(kPoolBwd, []uint32{uint32(s.C), uint32(s.H), uint32(s.W), uint32(oh), uint32(ow), b2u(p == MaxPool), uint32(n), 0},
		groups1D(n), 1, 1, g.gt(x), g.gt(dy), g.gt(dx))
}

// ---- linear algebra ----

func (g *WebGPU) MatMul(dst, a, b Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("MatMul dst", dst, m*n)
	checkLen("MatMul a", a, m*k)
	checkLen("MatMul b", b, k*n)
	if m == 0 || n == 0 {
		return
	}
	// Split k when dst has too few 64×64 tiles to keep a GPU busy.
	tiles := ((m + 63) / 64) * ((n + 63) / 64)
	slices := 1
	if tiles < 64 && k >= 1024 {
		slices = min((k+255)/256, (128+tiles-1)/tiles, maxGroups)
	}
	kc := (k + slices - 1) / slices
	kc = max((kc+15)&^15, 16)
	slices = max((k+kc-1)/kc, 1)
	uni := []uint32{uint32(m), uint32(n), uint32(k), b2u(transA), b2u(transB), uint32(kc), uint32(slices), 0,
		f32bits(alpha), f32bits(beta), 0, 0}
	d := g.gt(dst)
	part := g.dummy
	if slices > 1 {
		if part = g.scratchOf(scratchSplitK, slices*m*n); part == nil {
			return
		}
	}
	g.dispatch(kMatMul, uni, (n+63)/64, (m+63)/64, slices, g.gt(a), g.gt(b), d, part)
	if slices > 1 {
		g.dispatch(kMatMulSum, uni, groups1D(m*n), 1, 1, d, part)
	}
}

// ---- elementwise ----

// Elementwise op codes of elementwise.wgsl.
const (
	opFill = iota
	opScale
	opAxpy
	opMul
	opDiv
	opSqrt
	opAddRows
	opMulRows
	opReluMask
)

// elementwise records d = op(d, a, b) over n elements; a and b may be nil
// (unused) or d itself.
func (g *WebGPU) elementwise(op uint32, d, a, b *gpuTensor, n, cols int, s0 float32) {
	var flags uint32
	if a == nil {
		a = g.dummy
	} else if a == d {
		flags |= 1
		a = g.dummy
	}
	if b == nil {
		b = g.dummy
	} else if b == d {
		flags |= 2
		b = g.dummy
	}
	g.dispatch(kElementwise, []uint32{uint32(n), op, flags, uint32(cols), f32bits(s0), 0, 0, 0},
		groups1D(n), 1, 1, d, a, b)
}

func (g *WebGPU) Fill(dst Tensor, v float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opFill, d, nil, nil, d.n, 1, v)
}

func (g *WebGPU) Scale(dst Tensor, alpha float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opScale, d, nil, nil, d.n, 1, alpha)
}

func (g *WebGPU) Axpy(dst Tensor, alpha float32, x Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Axpy x", x, dst.Len())
	d := g.gt(dst)
	g.elementwise(opAxpy, d, g.gt(x), nil, d.n, 1, alpha)
}

func (g *WebGPU) Mul(dst, a, b Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Mul a", a, dst.Len())
	checkLen("Mul b", b, dst.Len())
	d := g.gt(dst)
	g.elementwise(opMul, d, g.gt(a), g.gt(b), d.n, 1, 0)
}

func (g *WebGPU) Div(dst, a, b Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Div a", a, dst.Len())
	checkLen("Div b", b, dst.Len())
	d := g.gt(dst)
	g.elementwise(opDiv, d, g.gt(a), g.gt(b), d.n, 1, 0)
}

func (g *WebGPU) Sqrt(dst, a Tensor, eps float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Sqrt a", a, dst.Len())
	d := g.gt(dst)
	g.elementwise(opSqrt, d, g.gt(a), nil, d.n, 1, eps)
}

// ---- rows ----

func (g *WebGPU) RowSum(dst, a Tensor, rows, cols int, alpha float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("RowSum dst", dst, rows)
	checkLen("RowSum a", a, rows*cols)
	if rows == 0 {
		return
	}
	gx := min(rows, maxGroups)
	g.dispatch(kRowSum, []uint32{uint32(rows), uint32(cols), 0, 0, f32bits(alpha), 0, 0, 0},
		gx, (rows+gx-1)/gx, 1, g.gt(a), g.gt(dst))
}

func (g *WebGPU) AddRows(dst, v Tensor, rows, cols int, alpha float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("AddRows dst", dst, rows*cols)
	checkLen("AddRows v", v, rows)
	if cols == 0 {
		return
	}
	g.elementwise(opAddRows, g.gt(dst), g.gt(v), nil, rows*cols, cols, alpha)
}

func (g *WebGPU) MulRows(dst, v Tensor, rows, cols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("MulRows dst", dst, rows*cols)
	checkLen("MulRows v", v, rows)
	if cols == 0 {
		return
	}
	g.elementwise(opMulRows, g.gt(dst), g.gt(v), nil, rows*cols, cols, 0)
}

// sortChunk is the number of elements sort_local sorts in workgroup memory.
const sortChunk = 2048

func (g *WebGPU) SortRows(dst, idx, src Tensor, rows, cols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("SortRows dst", dst, rows*cols)
	checkLen("SortRows idx", idx, rows*cols)
	checkLen("SortRows src", src, rows*cols)
	if rows == 0 || cols == 0 {
		return
	}
	pw := 1
	for pw < cols {
		pw *= 2
	}
	l := min(pw, sortChunk)
	n := rows * pw
	keys, ids := g.scratchOf(scratchKeys, n), g.scratchOf(scratchIDs, n)
	if keys == nil || ids == nil {
		return
	}
	uni := func(k0, k1, j int) []uint32 {
		return []uint32{uint32(rows), uint32(cols), uint32(pw), uint32(l), uint32(k0), uint32(k1), uint32(j), uint32(n),
			math.Float32bits(float32(math.Inf(1))), 0, 0, 0}
	}
	g.dispatch(kSortInit, uni(0, 0, 0), groups1D(n), 1, 1, keys, ids, g.gt(src))
	if pw > 1 {
		chunks := min(n/l, maxGroups)
		g.dispatch(kSortLocal, uni(2, l, 0), chunks, 1, 1, keys, ids)
		for k := 2 * l; k <= pw; k *= 2 {
			for j := k / 2; j >= l; j /= 2 {
				g.dispatch(kSortGlobal, uni(k, k, j), groups1D(n/2), 1, 1, keys, ids)
			}
			g.dispatch(kSortLocal, uni(k, k, 0), chunks, 1, 1, keys, ids)
		}
	}
	g.dispatch(kSortFinal, uni(0, 0, 0), groups1D(rows*cols), 1, 1, keys, ids, g.gt(dst), g.gt(idx))
}

func (g *WebGPU) ScatterRows(dst, idx, src Tensor, rows, cols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("ScatterRows dst", dst, rows*cols)
	checkLen("ScatterRows idx", idx, rows*cols)
	checkLen("ScatterRows src", src, rows*cols)
	n := rows * cols
	g.dispatch(kScatter, []uint32{uint32(rows), uint32(cols), 0, uint32(n), 0, 0, 0, 0},
		groups1D(n), 1, 1, g.gt(src), g.gt(idx), g.gt(dst))
}

func (g *WebGPU) ResampleRows(dst, src Tensor, rows, scols, dcols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("ResampleRows dst", dst, rows*dcols)
	checkLen("ResampleRows src", src, rows*scols)
	n := rows * dcols
	if n == 0 {
		return
	}
	tab := g.resampleTable(scols, dcols)
	if tab == nil {
		return
	}
	g.dispatch(kResample, []uint32{uint32(rows), uint32(scols), uint32(dcols), uint32(n), 0, 0, 0, 0},
		groups1D(n), 1, 1, g.gt(src), tab, g.gt(dst))
}

// resampleTable is the column map of ResampleRows, computed on the host with
// the reference's float64 formula and kept on the device.
func (g *WebGPU) resampleTable(scols, dcols int) *gpuTensor {
	key := [2]int{scols, dcols}
	if t := g.tables[key]; t != nil {
		return t
	}
	tab := make([]float32, dcols)
	for j := range tab {
		k := int((float64(j) + 0.5) * float64(scols) / float64(dcols))
		tab[j] = float32(min(k, scols-1))
	}
	t, err := g.newTensor(dcols, "crema resample table")
	if err != nil {
		if g.err == nil {
			g.err = err
		}
		return nil
	}
	if len(g.tables) >= 64 {
		for k, old := range g.tables {
			g.release(old)
			delete(g.tables, k)
		}
	}
	g.upload(t, tab)
	g.tables[key] = t
	return t
}

// ---- reductions ----

// Reduction modes of reduce.wgsl.
const (
	reduceSum = iota
	reduceDot
	reduceTV
)

// reduce records dst[i] = scale·Σ term(mode) over n elements of a (and b).
func (g *WebGPU) reduce(dst *gpuTensor, i int, mode uint32, a, b *gpuTensor, n, h, w int, scale float32) {
	if i < 0 || i >= dst.n {
		panic(fmt.Sprintf("kernels: reduction slot %d of a tensor of %d", i, dst.n))
	}
	groups := min(max((n+4095)/4096, 1), 512)
	part := g.scratchOf(scratchPartial, 512)
	if part == nil {
		return
	}
	uni := []uint32{uint32(n), mode, uint32(h), uint32(w), uint32(groups), uint32(i), f32bits(scale), 0}
	g.dispatch(kPartial, uni, groups, 1, 1, a, b, part)
	g.dispatch(kFinish, uni, 1, 1, 1, part, dst)
}

func (g *WebGPU) Dot(dst Tensor, i int, a, b Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("Dot b", b, a.Len())
	g.reduce(g.gt(dst), i, reduceDot, g.gt(a), g.gt(b), a.Len(), 1, 1, 1)
}

func (g *WebGPU) Sum(dst Tensor, i int, a Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	x := g.gt(a)
	g.reduce(g.gt(dst), i, reduceSum, x, x, x.n, 1, 1, 1)
}

// ---- losses and optimisers ----

func (g *WebGPU) TV(loss Tensor, i int, dx, x Tensor, c, h, w int, weight float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	checkLen("TV x", x, c*h*w)
	checkLen("TV dx", dx, c*h*w)
	n := c * h * w
	xs := g.gt(x)
	g.dispatch(kTVGrad, []uint32{uint32(n), uint32(h), uint32(w), f32bits(weight)}, groups1D(n), 1, 1, xs, g.gt(dx))
	g.reduce(g.gt(loss), i, reduceTV, xs, xs, n, h, w, weight)
}

func (g *WebGPU) Adam(x, gr, m, v Tensor, p AdamParams) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := x.Len()
	checkLen("Adam g", gr, n)
	checkLen("Adam m", m, n)
	checkLen("Adam v", v, n)
	c1 := 1 - math.Pow(float64(p.Beta1), float64(p.Step))
	c2 := 1 - math.Pow(float64(p.Beta2), float64(p.Step))
	g.dispatch(kAdam, []uint32{uint32(n), f32bits(p.LR), f32bits(p.Beta1), f32bits(p.Beta2), f32bits(p.Eps),
		f32bits(float32(c1)), f32bits(float32(c2)), 0}, groups1D(n), 1, 1, g.gt(x), g.gt(gr), g.gt(m), g.gt(v))
}
