package webgpu_test

// The browser tests of the WebGPU backend, named TestWebGPU… so that
// `make test-browser` (-run WebGPU) picks them:
//   GOOS=js GOARCH=wasm go test -exec "$PWD/tools/wasmtest/gowasm-browser" -run WebGPU ./kernels/webgpu/
// Under SwiftShader the conformance table runs its short variant; set
// CREMA_KERNELTEST_FULL=1 for all of it on a real GPU.

import (
	"errors"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/webgpu"
)

// openGPU opens a fresh WebGPU backend, checked, or fails the test with
// Open's reason.
func openGPU(t testing.TB) kernels.Backend {
	t.Helper()
	g, err := webgpu.Open()
	if err != nil {
		t.Fatalf("webgpu.Open: %v", err)
	}
	return kernels.Checked(g)
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
}

// TestWebGPUDeviceLost destroys the device in the middle of a sequence of
// operations: nothing panics, and Read, ReadAt and Alloc report
// ErrDeviceLost from then on.
func TestWebGPUDeviceLost(t *testing.T) {
	b := openGPU(t)
	s := kernels.ConvShape{Cin: 3, Cout: 8, H: 6, W: 5}
	zeros := func(n int) kernels.Tensor { return kerneltest.Upload(t, b, make([]float32, n)) }
	x := zeros(s.Cin * s.H * s.W)  // [Cin, H, W]
	w := zeros(s.Cout * s.Cin * 9) // [Cout, Cin, 3, 3]
	bias := zeros(s.Cout)          // [Cout]
	y := zeros(s.Cout * s.H * s.W) // [Cout, H, W]
	dx := zeros(s.Cin * s.H * s.W) // [Cin, H, W]
	loss := zeros(2)               // [2]
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

	webgpu.DestroyDevice(b)
	// Work recorded after the loss must be harmless.
	b.Conv3x3Backward(dx, y, y, w, s)
	b.Sum(loss, 1, dx)
	b.Write(x, make([]float32, x.Len()))
	err := b.ReadAt(got, loss, 1)
	if !errors.Is(err, kernels.ErrDeviceLost) {
		t.Fatalf("ReadAt after DestroyDevice: err = %v, want ErrDeviceLost", err)
	}
	if !strings.HasPrefix(err.Error(), "webgpu: ") {
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

// TestWebGPUAllocLimits: sizes the device cannot hold are refused with a
// message that wraps kernels.ErrDevice, not a crash; the budget counts live
// tensors only, and a reused buffer comes back zeroed.
func TestWebGPUAllocLimits(t *testing.T) {
	g, err := webgpu.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	b := kernels.Checked(g)
	_, err = b.Alloc(1 << 40)
	if err == nil || !strings.Contains(err.Error(), "cannot allocate 1099511627776 floats") ||
		!strings.Contains(err.Error(), "per buffer") || !errors.Is(err, kernels.ErrDevice) {
		t.Errorf("Alloc(2^40): err = %v, want a per-buffer limit message wrapping ErrDevice", err)
	}
	total, per := g.Budget()
	if total < 512<<20 || per < 128<<20 {
		t.Errorf("Budget() = %d, %d: want at least 512 MiB in all and 128 MiB per tensor (WebGPU's defaults)", total, per)
	}
	t.Logf("budget %d MiB, %d MiB per tensor", total>>20, per>>20)

	g.SetBudget(8 << 20)       // 8 MiB
	a, err := b.Alloc(1 << 20) // 4 MiB
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Alloc(1 << 20); err == nil || !strings.Contains(err.Error(), "budget") || !errors.Is(err, kernels.ErrDevice) {
		t.Errorf("Alloc past the budget: err = %v, want a budget message wrapping ErrDevice", err)
	}
	b.Free(a)
	c, err := b.Alloc(1 << 20) // fits again (reuses a's buffer, zeroed)
	if err != nil {
		t.Fatal(err)
	}
	b.Fill(c, 3)
	b.Free(c)
	d, err := b.Alloc(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
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
