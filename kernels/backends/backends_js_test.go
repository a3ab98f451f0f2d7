package backends_test

import (
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/webgpu"
)

// TestWebGPUAuto: in a browser with WebGPU, "auto" and "webgpu" give the
// WebGPU backend, checked, with no fallback reason: its self-test passed.
func TestWebGPUAuto(t *testing.T) {
	for _, name := range []string{"auto", "webgpu"} {
		b, reason, err := backends.Open(name)
		if err != nil || reason != "" {
			t.Fatalf("Open(%s): reason %q, err %v; want the webgpu backend", name, reason, err)
		}
		g, ok := unwrap(t, b).(*webgpu.Backend)
		if !ok || b.Name() != "webgpu" {
			t.Fatalf("Open(%s) gave %T named %q, want *webgpu.Backend", name, g, b.Name())
		}
		g.Close()
	}
}

// TestWebGPUErrorsAtOpen: a self-test that finds a wrong value, or a shader
// that does not compile, makes "auto" use the CPU and say why, and makes
// "webgpu" an error that says why.
func TestWebGPUErrorsAtOpen(t *testing.T) {
	for fault, why := range map[string]string{
		"selftest": "webgpu: self-test: ",
		"pipeline": "webgpu: compiling the shaders: ",
	} {
		b, reason, err := backends.Open("auto,fault=" + fault)
		if err != nil || !strings.HasPrefix(reason, why) {
			t.Fatalf("Open(auto,fault=%s): reason %q, err %v; want the CPU because %q…", fault, reason, err, why)
		}
		if _, ok := unwrap(t, b).(*cpu.Backend); !ok {
			t.Errorf("Open(auto,fault=%s) gave %T, want *cpu.Backend", fault, unwrap(t, b))
		}
		t.Logf("fault=%s: %s", fault, reason)
		if _, _, err := backends.Open("WebGPU, fault=" + fault); err == nil || !strings.HasPrefix(err.Error(), why) {
			t.Errorf("Open(webgpu,fault=%s): err %v, want %q…", fault, err, why)
		}
	}
}
