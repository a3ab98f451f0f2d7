//go:build !js

package backends_test

import (
	"testing"

	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/cpu"
)

// TestOpenOnTheHost: natively there is no WebGPU, so "auto" falls back to
// the CPU and says why, and "webgpu" is an error.
func TestOpenOnTheHost(t *testing.T) {
	const why = "webgpu: only available in a browser (GOOS=js)"
	for _, name := range []string{"auto", "", " Auto "} {
		b, reason, err := backends.Open(name)
		if err != nil || reason != why {
			t.Fatalf("Open(%q) = reason %q, err %v; want the CPU and reason %q", name, reason, err, why)
		}
		if _, ok := unwrap(t, b).(*cpu.Backend); !ok {
			t.Errorf("Open(%q) gave %T, want *cpu.Backend", name, unwrap(t, b))
		}
	}
	if b, _, err := backends.Open("webgpu"); err == nil || err.Error() != why {
		t.Errorf("Open(webgpu) = %v, err %v; want the error %q", b, err, why)
	}
}

// TestOpenRememberedOnTheHost: a remembered WebGPU that cannot start now
// falls back to the CPU and says why; a remembered choice that is not a
// valid one is ignored, and "auto" chooses afresh (here: no GPU).
func TestOpenRememberedOnTheHost(t *testing.T) {
	const why = "webgpu: only available in a browser (GOOS=js)"
	times := []backends.Timing{{Name: "cpu", MS: 38}, {Name: "webgpu", MS: 4}}
	for _, r := range []backends.Choice{{Name: "webgpu", Times: times}, {Name: "tpu", Times: times}, {Name: "webgpu"}} {
		o, err := backends.OpenWith("auto", &r)
		if err != nil || o.Fallback != why || o.Choice != nil || o.Reason() != why {
			t.Fatalf("OpenWith(auto, %+v) = %+v, %v; want the CPU because %q", r, o, err, why)
		}
		if _, ok := unwrap(t, o.Backend).(*cpu.Backend); !ok {
			t.Errorf("OpenWith(auto, %+v) gave %T, want *cpu.Backend", r, unwrap(t, o.Backend))
		}
	}
}
