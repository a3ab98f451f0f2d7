package webgpu

import (
	"errors"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
)

// TestFold: grids of any size fit 65535 workgroups per dimension, cover
// every tile, and waste less than one row.
func TestFold(t *testing.T) {
	for _, n := range []int{1, 2, 65535, 65536, 65537, 131071, 262144, 1 << 22, 65535*65535 - 3} {
		gx, gy := fold(n)
		if gx < 1 || gy < 1 || gx > maxGroups || gy > maxGroups || gx*gy < n || gx*gy-n >= gx {
			t.Errorf("fold(%d) = %d×%d", n, gx, gy)
		}
	}
}

// TestGridsStayWithinLimits records every operation at sizes whose natural
// grids exceed 65535 workgroups in a dimension (16M-pixel images in every
// conv tile shape, a product with 262144 column tiles, long rows) on the
// fake executor, and checks every dispatch: dispatch panics beyond the
// limit, and the folded conv and matmul grids cover exactly their tiles.
func TestGridsStayWithinLimits(t *testing.T) {
	g, f := newFakeBackend(t)
	g.SetBudget(8 << 30)
	b := kernels.Checked(g)
	alloc := func(n int) kernels.Tensor {
		x, err := b.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	const side = 4096
	s := kernels.ConvShape{Cin: 1, Cout: 1, H: side, W: side}
	x, y, dx := alloc(side*side), alloc(side*side), alloc(side*side)
	w, bias := alloc(9), alloc(1)
	for _, tile := range convTiles {
		g.convTile = tile
		b.Conv3x3(y, x, w, bias, s)
		b.Conv3x3Backward(dx, y, y, w, s)
	}
	g.convTile = convTile{}
	const n = 1 << 24 // 262144 tiles of 64 columns
	a, c := alloc(n), alloc(2*n)
	b.MatMul(c, alloc(2), a, 2, n, 1, false, false, 1, 0)
	b.Fill(a, 1)
	b.Dot(alloc(1), 0, a, a)
	b.Pool2x2(alloc(side*side/4), x, kernels.PoolShape{C: 1, H: side, W: side}, kernels.MaxPool)
	b.SortRows(alloc(n), alloc(n), a, 1, n)
	b.RowSum(alloc(n), a, n, 1, 1)
	g.flush()
	checked := 0
	for _, r := range f.runs {
		for _, d := range decode(t, f, r) {
			if d.groups[0] > maxGroups || d.groups[1] > maxGroups || d.groups[2] > maxGroups {
				t.Errorf("%s: %v workgroups", d.pipe.label, d.groups)
			}
			if strings.HasPrefix(d.pipe.label, "crema conv forward ") || strings.HasPrefix(d.pipe.label, "crema conv backward ") ||
				d.pipe.label == "crema matmul" {
				tiles := d.uniform[8] // convParams.tiles
				if d.pipe.label == "crema matmul" {
					tiles = d.uniform[10] // matmulParams.tiles
				}
				gx, gy := d.groups[0], d.groups[1]
				if gx*gy < tiles || gx*gy-tiles >= gx {
					t.Errorf("%s: %d×%d workgroups for %d tiles", d.pipe.label, gx, gy, tiles)
				}
				if tiles > maxGroups {
					checked++
				}
			}
		}
	}
	if checked < len(convTiles) {
		t.Errorf("only %d dispatches needed folding; the shapes do not test it", checked)
	}
}

// TestAdapterEstimates: the software test, the parallelism and the budget
// from what browsers expose.
func TestAdapterEstimates(t *testing.T) {
	for _, c := range []struct {
		a        adapter
		software bool
		parallel int
	}{
		{adapter{info: "google swiftshader", vendor: "google", arch: "swiftshader", fallback: true, cores: 2}, true, 2},
		{adapter{info: "unknown adapter", fallback: true, cores: 0}, true, 1},
		{adapter{info: "mesa llvmpipe (LLVM 19.1.7, 256 bits)", cores: 16}, true, 16},
		{adapter{info: "unknown adapter"}, false, 64}, // Firefox: adapter.info is empty
		{adapter{info: "nvidia ampere", vendor: "nvidia", arch: "ampere"}, false, 128},
		{adapter{info: "intel gen-12lp (Intel(R) UHD Graphics, a CPU-integrated GPU)", vendor: "intel"}, false, 64},
		{adapter{info: "apple metal-3", vendor: "apple"}, false, 64},
		{adapter{info: "qualcomm adreno-7xx", vendor: "qualcomm"}, false, 16},
		{adapter{info: "arm valhall", vendor: "arm"}, false, 16},
	} {
		if got := c.a.isSoftware(); got != c.software {
			t.Errorf("%q: software %v, want %v", c.a.info, got, c.software)
		}
		if got := c.a.parallelism(); got != c.parallel {
			t.Errorf("%q: parallelism %d, want %d", c.a.info, got, c.parallel)
		}
	}
	for _, c := range []struct {
		maxBuffer int64
		memGiB    float64
		want      int64
	}{
		{256 << 20, 0, 512 << 20}, // WebGPU's default: phones
		{256 << 20, 4, 512 << 20},
		{1 << 30, 0, 2 << 30},
		{1 << 30, 2, 1 << 30}, // half of a 2 GiB device's memory
		{2 << 30, 8, 4 << 30},
		{4 << 30, 0, 4 << 30},
	} {
		if got := budget(limits{maxBuffer: c.maxBuffer}, adapter{memoryGiB: c.memGiB}); got != c.want {
			t.Errorf("budget(maxBufferSize %d MiB, %g GiB) = %d MiB, want %d MiB", c.maxBuffer>>20, c.memGiB, got>>20, c.want>>20)
		}
	}
}

// TestSplitK: products are split only when their tiles do not fill the
// adapter, and never on a CPU implementation's few cores for a product
// that already has as many tiles.
func TestSplitK(t *testing.T) {
	for _, c := range []struct{ tiles, k, minK, parallel, want int }{
		{1, 4608, 512, 128, 18}, // conv5_1 at 32²: 128 slices wanted, K/256 = 18 allowed
		{16, 4608, 512, 128, 8},
		{128, 4608, 512, 128, 1},
		{1, 256, 512, 128, 1}, // K too short
		{1, 4608, 512, 2, 2},  // two CPU cores
		{4, 4608, 512, 2, 1},
		{1, 65536, 1024, 64, 64}, // a Gram matrix of a large image
	} {
		if got := splitK(c.tiles, c.k, c.minK, c.parallel); got != c.want {
			t.Errorf("splitK(%d tiles, k %d, min %d, parallel %d) = %d, want %d", c.tiles, c.k, c.minK, c.parallel, got, c.want)
		}
	}
}

// TestPipelinesAllMadeAtOpen: every pipeline exists before the first
// operation, and recording never creates one; a pipeline the device
// rejects makes Open fail with the device's words, wrapping ErrDevice.
func TestPipelinesAllMadeAtOpen(t *testing.T) {
	g, f := newFakeBackend(t)
	if len(f.pipelines) != len(kernelSpecs()) {
		t.Fatalf("%d pipelines at Open, want %d", len(f.pipelines), len(kernelSpecs()))
	}
	x, _ := g.Alloc(100)
	g.Fill(x, 1)
	g.MatMul(x, x, x, 10, 10, 10, false, true, 1, 0)
	g.flush()
	if len(f.pipelines) != len(kernelSpecs()) {
		t.Errorf("recording created pipelines: %d, want %d", len(f.pipelines), len(kernelSpecs()))
	}
	bad := newFake()
	bad.failPipes = "crema conv forward 64x64 bk32: validation error (test)"
	_, err := newBackend(bad, fakeAdapter, fakeLimits, Options{})
	if err == nil || !errors.Is(err, kernels.ErrDevice) || err.Error() != "webgpu: compiling the shaders: crema conv forward 64x64 bk32: validation error (test)" {
		t.Errorf("a rejected pipeline: %v", err)
	}
	h, err := newBackend(newFake(), fakeAdapter, fakeLimits, Options{Fault: FaultPipeline})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.pipes["broken"]; !ok {
		t.Error("FaultPipeline did not add the broken pipeline")
	}
}

// TestDeviceErrorBreaksTheBackend: a device error reported at a read is
// returned wrapping ErrDevice (not ErrDeviceLost) with the device's words;
// the device is released, and every later Read and Alloc returns the same
// error without touching it.
func TestDeviceErrorBreaksTheBackend(t *testing.T) {
	g, f := newFakeBackend(t)
	x, _ := g.Alloc(4)
	g.Fill(x, 1)
	f.failRead = "validation error: binding too small (test)"
	err := g.Read(make([]float32, 4), x)
	if err == nil || !errors.Is(err, kernels.ErrDevice) || errors.Is(err, kernels.ErrDeviceLost) ||
		err.Error() != "webgpu: validation error: binding too small (test)" {
		t.Fatalf("Read: %v", err)
	}
	if !f.destroyed {
		t.Error("the device was not released")
	}
	runs := len(f.runs)
	g.Fill(x, 2)
	if err2 := g.Read(make([]float32, 4), x); err2 != err {
		t.Errorf("second Read: %v, want the first error", err2)
	}
	if _, err2 := g.Alloc(4); err2 != err {
		t.Errorf("Alloc: %v, want the first error", err2)
	}
	if len(f.runs) != runs {
		t.Error("work was submitted after the error")
	}
	if g.LastError() != err {
		t.Errorf("LastError = %v", g.LastError())
	}
}

// TestInjectFault: FaultValidation appends a copy past the end of a buffer
// to the next batch, and only to it.
func TestInjectFault(t *testing.T) {
	g, f := newFakeBackend(t)
	x, _ := g.Alloc(4)
	InjectFault(kernels.Checked(g), FaultValidation)
	g.Fill(x, 1)
	g.flush()
	g.Fill(x, 2)
	g.flush()
	w := f.runs[len(f.runs)-2].cmds
	tail := w[len(w)-6:]
	if command(tail[0]) != cmdCopy || tail[1] != g.dummy.id || tail[5] != 1<<20 {
		t.Errorf("poisoned batch ends %v, want an oversized copy of the dummy", tail)
	}
	if w := f.runs[len(f.runs)-1].cmds; command(w[len(w)-6]) == cmdCopy {
		t.Error("the next batch was poisoned too")
	}
}

// TestInjectOutOfMemory: the next new buffer fails as the device's
// out-of-memory error would (an Alloc error wrapping ErrDevice, the backend
// still usable), once.
func TestInjectOutOfMemory(t *testing.T) {
	g, _ := newFakeBackend(t)
	InjectFault(kernels.Checked(g), FaultOutOfMemory)
	_, err := g.Alloc(1000)
	if err == nil || !errors.Is(err, kernels.ErrDevice) || !strings.Contains(err.Error(), "out of memory") || g.LastError() != err {
		t.Fatalf("Alloc: %v", err)
	}
	if _, err := g.Alloc(1000); err != nil {
		t.Fatalf("the next Alloc: %v", err)
	}
}

// TestDotsBatches: L-BFGS's 66 dot products over 23 vectors become batches
// of at most 8 pairs over at most 6 vectors, each pair's vectors named by
// its nibbles, and one finish; 12 dispatches in all instead of 132.
func TestDotsBatches(t *testing.T) {
	g, f := newFakeBackend(t)
	vec := func() *tensor {
		x, err := g.Alloc(1000)
		if err != nil {
			t.Fatal(err)
		}
		return x.(*tensor)
	}
	sNew, yNew, gr := vec(), vec(), vec()
	var a, b []kernels.Tensor
	for j := 0; j < 10; j++ {
		s, y := vec(), vec()
		a = append(a, sNew, sNew, yNew, yNew, gr, gr)
		b = append(b, s, y, s, y, s, y)
	}
	a = append(a, sNew, sNew, yNew, gr, gr, gr)
	b = append(b, sNew, yNew, yNew, sNew, yNew, gr)
	dst, _ := g.Alloc(66)
	g.Dots(dst, 0, a, b)
	g.flush()
	ds := decode(t, f, f.runs[len(f.runs)-1])
	pairs := 0
	for i, d := range ds {
		if d.pipe.label == "crema dots finish" {
			if i != len(ds)-1 || d.groups[0] != 66 {
				t.Errorf("finish at %d of %d over %v", i, len(ds), d.groups)
			}
			continue
		}
		nv, np, ia, ib, base := d.uniform[1], d.uniform[2], d.uniform[3], d.uniform[4], d.uniform[6]
		if nv > dotsVectors || np > dotsPairs || int(base) != pairs {
			t.Errorf("batch %d: %d vectors, %d pairs, base %d", i, nv, np, base)
		}
		for q := uint32(0); q < np; q++ {
			va, vb := d.bufferIDs[ia>>(4*q)&15], d.bufferIDs[ib>>(4*q)&15]
			if va != a[pairs].(*tensor).id || vb != b[pairs].(*tensor).id {
				t.Errorf("pair %d: buffers %d·%d, want %d·%d", pairs, va, vb, a[pairs].(*tensor).id, b[pairs].(*tensor).id)
			}
			pairs++
		}
	}
	if pairs != 66 || len(ds) > 13 {
		t.Errorf("%d pairs in %d dispatches, want 66 in at most 13", pairs, len(ds))
	}
	t.Logf("%d dispatches", len(ds))
}
