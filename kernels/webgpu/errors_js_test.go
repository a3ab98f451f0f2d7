package webgpu_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/webgpu"
)

// TestWebGPUSelfTest: the self-test passes on this browser's WebGPU, and a
// forced wrong value makes it fail with an error that names the kernel and
// wraps kernels.ErrDevice.
func TestWebGPUSelfTest(t *testing.T) {
	g, err := webgpu.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	start := time.Now()
	if err := g.SelfTest(cpu.New(1)); err != nil {
		t.Fatalf("SelfTest: %v", err)
	}
	t.Logf("self-test: %v on %s", time.Since(start).Round(time.Millisecond), g.Describe())
	f, err := webgpu.OpenWith(webgpu.Options{Fault: webgpu.FaultSelfTest})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = f.SelfTest(cpu.New(1))
	if err == nil || !errors.Is(err, kernels.ErrDevice) || !strings.HasPrefix(err.Error(), "webgpu: self-test: ") ||
		!strings.Contains(err.Error(), "differs from the CPU") {
		t.Fatalf("SelfTest with a wrong value: %v, want a self-test failure wrapping ErrDevice", err)
	}
	if kernels.LastError(f) != err {
		t.Errorf("LastError = %v, want the self-test's error", kernels.LastError(f))
	}
	t.Logf("forced failure: %v", err)
}

// TestWebGPUPipelineError: a shader that does not compile makes Open fail,
// saying which pipeline and why, before any work is recorded.
func TestWebGPUPipelineError(t *testing.T) {
	g, err := webgpu.OpenWith(webgpu.Options{Fault: webgpu.FaultPipeline})
	if err == nil {
		g.Close()
		t.Fatal("Open with a broken shader succeeded")
	}
	if !errors.Is(err, kernels.ErrDevice) || !strings.HasPrefix(err.Error(), "webgpu: compiling the shaders: ") || !strings.Contains(err.Error(), "crema broken") {
		t.Fatalf("Open with a broken shader: %v, want the pipeline named, wrapping ErrDevice", err)
	}
	t.Logf("error: %v", err)
}

// TestWebGPUValidationError: an invalid command drops its whole batch; the
// next Read reports the device's validation error (wrapping ErrDevice, not
// ErrDeviceLost) instead of returning the lost work as zeros, and the
// backend is unusable from then on.
func TestWebGPUValidationError(t *testing.T) {
	b := openGPU(t)
	x := kerneltest.Upload(t, b, []float32{1, 2, 3, 4})
	y := kerneltest.Upload(t, b, make([]float32, 4))
	b.Axpy(y, 2, x)
	got := make([]float32, 4)
	if err := b.Read(got, y); err != nil || got[3] != 8 {
		t.Fatalf("before the fault: %v, %v", got, err)
	}
	b.Axpy(y, 2, x)
	webgpu.InjectFault(b, webgpu.FaultValidation)
	err := b.Read(got, y)
	if err == nil || !errors.Is(err, kernels.ErrDevice) || errors.Is(err, kernels.ErrDeviceLost) ||
		!strings.HasPrefix(err.Error(), "webgpu: validation error: ") {
		t.Fatalf("Read after an invalid batch: %v (got %v), want a validation error wrapping ErrDevice", err, got)
	}
	if _, aerr := b.Alloc(4); aerr == nil || aerr.Error() != err.Error() {
		t.Errorf("Alloc after the error: %v, want %v", aerr, err)
	}
	if err2 := b.Read(got, x); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second Read: %v, want %v", err2, err)
	}
	if kernels.LastError(b) == nil {
		t.Error("LastError is nil after the error")
	}
	t.Logf("error: %v", err)
}
