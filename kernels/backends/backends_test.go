package backends_test

import (
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/naive"
)

// unwrap returns the backend under b's shape checks, failing t when b is not
// checked.
func unwrap(t *testing.T, b kernels.Backend) kernels.Backend {
	t.Helper()
	u, ok := b.(interface{ Unwrap() kernels.Backend })
	if !ok {
		t.Fatalf("%T is not wrapped in kernels.Checked", b)
	}
	return u.Unwrap()
}

func TestOpenByName(t *testing.T) {
	b, reason, err := backends.Open("CPU")
	if err != nil || reason != "" {
		t.Fatalf("Open(CPU): reason %q, err %v", reason, err)
	}
	if c, ok := unwrap(t, b).(*cpu.Backend); !ok || b.Name() != "cpu" {
		t.Errorf("Open(CPU) gave %T named %q, want *cpu.Backend named cpu", c, b.Name())
	}
	b, reason, err = backends.Open("naive")
	if err != nil || reason != "" {
		t.Fatalf("Open(naive): reason %q, err %v", reason, err)
	}
	if _, ok := unwrap(t, b).(naive.Backend); !ok || b.Name() != "naive" {
		t.Errorf("Open(naive) gave %T named %q, want naive.Backend named naive", unwrap(t, b), b.Name())
	}
	const want = `backends: unknown backend "tpu" (want auto, cpu, webgpu or naive)`
	if _, _, err := backends.Open("tpu"); err == nil || err.Error() != want {
		t.Errorf("Open(tpu): err %v, want %q", err, want)
	}
}

// A fault is only for auto and webgpu, and only the known ones (fault=slow
// only for auto, which measures).
func TestOpenRejectsUnknownOptions(t *testing.T) {
	for _, name := range []string{"cpu,fault=selftest", "auto,fault=gremlins", "webgpu,speed=11", "webgpu,fault=slow", "cpu,fault=slow", "cpu,fault=hang"} {
		if _, _, err := backends.Open(name); err == nil || !strings.HasPrefix(err.Error(), "backends: unknown option ") {
			t.Errorf("Open(%q): err %v, want an unknown-option error", name, err)
		}
	}
}

// TestCPUKernel: the CPU backend under its checks says which kind of kernel
// it runs; the naive backend has none.
func TestCPUKernel(t *testing.T) {
	c, _, err := backends.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := backends.CPUKernel(c), unwrap(t, c).(*cpu.Backend).Kernel(); got != want || got == "" {
		t.Errorf("CPUKernel(cpu) = %q, want %q", got, want)
	}
	n, _, err := backends.Open("naive")
	if err != nil {
		t.Fatal(err)
	}
	if got := backends.CPUKernel(n); got != "" {
		t.Errorf("CPUKernel(naive) = %q, want \"\"", got)
	}
}
