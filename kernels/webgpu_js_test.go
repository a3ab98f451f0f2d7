//go:build js

package kernels_test

// These tests need a browser with WebGPU: run them with
//   GOOS=js GOARCH=wasm go test -exec "$PWD/tools/wasmtest/gowasm-browser" ./kernels/
// (make test-browser). Under SwiftShader the conformance table runs its short
// variant; set CREMA_KERNELTEST_FULL=1 for all of it on a real GPU.

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// openGPU opens a fresh WebGPU backend or fails the test with Open's reason.
func openGPU(t *testing.T) kernels.Backend {
	t.Helper()
	b, _, err := kernels.Open("webgpu")
	if err != nil {
		t.Fatalf("Open(webgpu): %v", err)
	}
	return b
}

func TestWebGPUOpen(t *testing.T) {
	b := openGPU(t)
	if b.Name() != "webgpu" {
		t.Errorf("Name() = %q, want webgpu", b.Name())
	}
	if d := b.Describe(); !strings.HasPrefix(d, "WebGPU: ") || len(d) <= len("WebGPU: ") {
		t.Errorf("Describe() = %q, want \"WebGPU: <adapter>\"", d)
	}
	t.Logf("adapter: %s", b.Describe())

	auto, reason, err := kernels.Open("auto")
	if err != nil || auto.Name() != "webgpu" || reason != "" {
		t.Errorf("Open(auto) = %v, reason %q, err %v; want the webgpu backend", auto, reason, err)
	}
}

func TestWebGPUConformance(t *testing.T) {
	b := openGPU(t)
	if os.Getenv("CREMA_KERNELTEST_FULL") != "" {
		kerneltest.Run(t, b, kernels.Naive{})
		return
	}
	kerneltest.RunShort(t, b, kernels.Naive{})
}

// TestWebGPUDeviceLost destroys the device in the middle of a sequence of
// operations: nothing panics, and Read, ReadAt and Alloc report
// ErrDeviceLost from then on.
func TestWebGPUDeviceLost(t *testing.T) {
	b := openGPU(t)
	s := kernels.ConvShape{Cin: 3, Cout: 8, H: 6, W: 5}
	x := mustAlloc(t, b, s.Cin*s.H*s.W)
	w := mustAlloc(t, b, s.Cout*s.Cin*9)
	bias := mustAlloc(t, b, s.Cout)
	y := mustAlloc(t, b, s.Cout*s.H*s.W)
	dx := mustAlloc(t, b, s.Cin*s.H*s.W)
	loss := mustAlloc(t, b, 2)
	b.Fill(x, 1)
	b.Fill(w, 0.5)
	b.Fill(bias, 0.25)
	b.Conv3x3(y, x, w, bias, s)
	b.Sum(loss, 0, y)
	got := make([]float32, 1)
	if err := b.ReadAt(got, loss, 0); err != nil {
		t.Fatalf("ReadAt before the loss: %v", err)
	}
	// Every output pixel sees 4, 6 or 9 taps of 3 channels × 0.5, plus 0.25.
	var want float64
	for yy := 0; yy < s.H; yy++ {
		for xx := 0; xx < s.W; xx++ {
			taps := (3 - b2i(yy == 0) - b2i(yy == s.H-1)) * (3 - b2i(xx == 0) - b2i(xx == s.W-1))
			want += float64(s.Cout) * (float64(taps*s.Cin)*0.5 + 0.25)
		}
	}
	if float64(got[0]) != want {
		t.Fatalf("Sum of the conv before the loss = %g, want %g", got[0], want)
	}

	kernels.DestroyDevice(b)
	// Work recorded after the loss must be harmless.
	b.Conv3x3Backward(dx, y, y, w, s)
	b.Sum(loss, 1, dx)
	b.Write(x, make([]float32, x.Len()))
	err := b.ReadAt(got, loss, 1)
	if !errors.Is(err, kernels.ErrDeviceLost) {
		t.Fatalf("ReadAt after DestroyDevice: err = %v, want ErrDeviceLost", err)
	}
	if !strings.HasPrefix(err.Error(), "kernels: webgpu: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
	b.Fill(y, 2)
	if err := b.Read(make([]float32, y.Len()), y); !errors.Is(err, kernels.ErrDeviceLost) {
		t.Errorf("second Read after the loss: err = %v, want ErrDeviceLost", err)
	}
	if _, err := b.Alloc(16); !errors.Is(err, kernels.ErrDeviceLost) {
		t.Errorf("Alloc after the loss: err = %v, want ErrDeviceLost", err)
	}
	b.Free(x)
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

func mustAlloc(t *testing.T, b kernels.Backend, n int) kernels.Tensor {
	t.Helper()
	x, err := b.Alloc(n)
	if err != nil {
		t.Fatalf("Alloc(%d): %v", n, err)
	}
	return x
}

// TestWebGPUAllocLimits: sizes the device cannot hold are refused with a
// message, not a crash; the budget counts live tensors only.
func TestWebGPUAllocLimits(t *testing.T) {
	b := openGPU(t)
	_, err := b.Alloc(1 << 40)
	if err == nil || !strings.Contains(err.Error(), "cannot allocate 1099511627776 floats") ||
		!strings.Contains(err.Error(), "per buffer") {
		t.Errorf("Alloc(2^40): err = %v, want a per-buffer limit message", err)
	}

	old := kernels.WebGPUBudgetBytes
	defer func() { kernels.WebGPUBudgetBytes = old }()
	kernels.WebGPUBudgetBytes = 8 << 20 // 8 MiB
	a := mustAlloc(t, b, 1<<20)         // 4 MiB
	if _, err := b.Alloc(1 << 20); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("Alloc past the budget: err = %v, want a budget message", err)
	}
	b.Free(a)
	c := mustAlloc(t, b, 1<<20) // fits again (reuses a's buffer, zeroed)
	b.Fill(c, 3)
	b.Free(c)
	d := mustAlloc(t, b, 1<<20)
	got := make([]float32, 4)
	if err := b.ReadAt(got, d, 1<<20-4); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("reused buffer not zeroed: [%d] = %g", i, v)
		}
	}
}

// TestWebGPULargeShapes covers the paths the conformance table's shapes do
// not reach: split-K MatMul (a Gram matrix of a long feature map), the
// global merge steps of SortRows (rows longer than a workgroup's 2048-element
// chunk, with ties), ResampleRows of long rows, reductions capped at 512
// workgroups and grid-stride loops past 65535 workgroups.
func TestWebGPULargeShapes(t *testing.T) {
	gpu := openGPU(t)
	ref := kernels.Naive{}
	rng := rand.New(rand.NewPCG(11, 12))
	vals := func(n int, quant bool) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
			if quant {
				v[i] = float32(int(v[i]*50)) / 50 // many ties
			}
		}
		return v
	}
	type op func(b kernels.Backend, ts []kernels.Tensor)
	// check runs f on both backends with inputs in and compares the tensors
	// listed in outs (indexes into the tensors made from in).
	check := func(name string, tol float64, in [][]float32, outs []int, f op) {
		t.Run(name, func(t *testing.T) {
			var res [2][][]float32
			for bi, b := range []kernels.Backend{gpu, ref} {
				ts := make([]kernels.Tensor, len(in))
				for i, v := range in {
					ts[i] = mustAlloc(t, b, len(v))
					b.Write(ts[i], v)
				}
				f(b, ts)
				for _, o := range outs {
					got := make([]float32, ts[o].Len())
					if err := b.Read(got, ts[o]); err != nil {
						t.Fatalf("%s: %v", b.Name(), err)
					}
					res[bi] = append(res[bi], got)
				}
				for _, x := range ts {
					b.Free(x)
				}
			}
			for i := range outs {
				if err := kerneltest.Compare(res[0][i], res[1][i], tol); err != nil {
					t.Errorf("output %d: %v", outs[i], err)
				}
			}
		})
	}

	const c, hw = 64, 5000
	check("MatMul/gram-splitK", kerneltest.TolGemm, [][]float32{vals(c*hw, false), vals(c*c, false)}, []int{1},
		func(b kernels.Backend, ts []kernels.Tensor) {
			b.MatMul(ts[1], ts[0], ts[0], c, c, hw, false, true, 0.5, 0.25)
		})
	check("MatMul/GF-splitK", kerneltest.TolGemm, [][]float32{vals(3*hw, false), vals(hw*5, false), vals(15, false)}, []int{2},
		func(b kernels.Backend, ts []kernels.Tensor) {
			b.MatMul(ts[2], ts[0], ts[1], 3, 5, hw, false, false, 1, 0)
		})
	check("SortRows/3x5000-ties", kerneltest.TolExact, [][]float32{vals(3*hw, true), vals(3*hw, false), vals(3*hw, false)}, []int{1, 2},
		func(b kernels.Backend, ts []kernels.Tensor) { b.SortRows(ts[1], ts[2], ts[0], 3, hw) })
	check("SortRows/2x4096-inplace", kerneltest.TolExact, [][]float32{vals(2*4096, true), vals(2*4096, false)}, []int{0, 1},
		func(b kernels.Backend, ts []kernels.Tensor) { b.SortRows(ts[0], ts[1], ts[0], 2, 4096) })
	check("ResampleRows/2x5000to3001", kerneltest.TolExact, [][]float32{vals(2*hw, false), vals(2*3001, false)}, []int{1},
		func(b kernels.Backend, ts []kernels.Tensor) { b.ResampleRows(ts[1], ts[0], 2, hw, 3001) })
	const long = 2_500_003
	check("Dot/2.5M", kerneltest.TolReduce, [][]float32{vals(long, false), make([]float32, 2)}, []int{1},
		func(b kernels.Backend, ts []kernels.Tensor) { b.Dot(ts[1], 1, ts[0], ts[0]) })

	t.Run("Fill/17M", func(t *testing.T) {
		const n = 65535*256 + 1000
		x := mustAlloc(t, gpu, n)
		defer gpu.Free(x)
		gpu.Fill(x, 2)
		gpu.Scale(x, 1.5)
		got := make([]float32, 1000)
		if err := gpu.ReadAt(got, x, n-1000); err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != 3 {
				t.Fatalf("element %d = %g after Fill(2) and Scale(1.5), want 3", n-1000+i, v)
			}
		}
	})
}
