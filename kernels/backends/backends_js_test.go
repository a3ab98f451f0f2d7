package backends_test

import (
	"testing"

	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/webgpu"
)

// TestWebGPUAuto: in a browser with WebGPU, "auto" and "webgpu" give the
// WebGPU backend, checked, with no fallback reason.
func TestWebGPUAuto(t *testing.T) {
	for _, name := range []string{"auto", "webgpu"} {
		b, reason, err := backends.Open(name)
		if err != nil || reason != "" {
			t.Fatalf("Open(%s): reason %q, err %v; want the webgpu backend", name, reason, err)
		}
		if g, ok := unwrap(t, b).(*webgpu.Backend); !ok || b.Name() != "webgpu" {
			t.Errorf("Open(%s) gave %T named %q, want *webgpu.Backend", name, g, b.Name())
		}
	}
}
