package backends_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/webgpu"
)

// TestWebGPUAuto: in a browser with WebGPU, "webgpu" gives the WebGPU
// backend, checked, with no reason: its self-test passed. "auto" measures
// the probe on the CPU and on WebGPU and keeps the faster: the backend is
// the one its Choice names, whose time is the smaller, and the reason names
// both figures.
func TestWebGPUAuto(t *testing.T) {
	b, reason, err := backends.Open("webgpu")
	if err != nil || reason != "" {
		t.Fatalf("Open(webgpu): reason %q, err %v; want the webgpu backend", reason, err)
	}
	g, ok := unwrap(t, b).(*webgpu.Backend)
	if !ok || b.Name() != "webgpu" {
		t.Fatalf("Open(webgpu) gave %T named %q, want *webgpu.Backend", g, b.Name())
	}
	g.Close()

	t0 := time.Now()
	o, err := backends.OpenWith("auto", nil)
	took := time.Since(t0)
	if err != nil || o.Fallback != "" || o.Choice == nil || o.Choice.Remembered {
		t.Fatalf("OpenWith(auto) = %+v, %v; want a measured choice", o, err)
	}
	c := *o.Choice
	if len(c.Times) != 2 || c.Times[0].Name != "cpu" || c.Times[1].Name != "webgpu" || c.Times[0].MS <= 0 || c.Times[1].MS <= 0 {
		t.Fatalf("times %+v: want the CPU's and WebGPU's", c.Times)
	}
	faster := "cpu"
	if c.Times[1].MS < c.Times[0].MS {
		faster = "webgpu"
	}
	if c.Name != faster || o.Backend.Name() != faster {
		t.Fatalf("chose %s (backend %s) with times %+v; want %s", c.Name, o.Backend.Name(), c.Times, faster)
	}
	if !regexp.MustCompile(`^measured at start: CPU [0-9.]+ ms, WebGPU [0-9.]+ ms for one conv$`).MatchString(o.Reason()) {
		t.Errorf("reason %q", o.Reason())
	}
	t.Logf("auto chose %s in %v (open, self-test and measurement): %s", c.Name, took, o.Reason())
	if g, ok := unwrap(t, o.Backend).(*webgpu.Backend); ok {
		g.Close()
	}
}

// TestWebGPUAutoSlow: "auto,fault=slow" adds a second to WebGPU's measured
// time, so the CPU wins and the reason says so.
func TestWebGPUAutoSlow(t *testing.T) {
	o, err := backends.OpenWith("auto,fault=slow", nil)
	if err != nil || o.Fallback != "" || o.Choice == nil || o.Choice.Name != "cpu" {
		t.Fatalf("OpenWith(auto,fault=slow) = %+v, %v; want the CPU by measurement", o, err)
	}
	if _, ok := unwrap(t, o.Backend).(*cpu.Backend); !ok {
		t.Fatalf("OpenWith(auto,fault=slow) gave %T, want *cpu.Backend", unwrap(t, o.Backend))
	}
	if g := o.Choice.Times[1]; g.Name != "webgpu" || g.PenaltyMS != 1000 || g.MS < 1000 {
		t.Errorf("WebGPU's time %+v, want 1000 ms of penalty in it", g)
	}
	if !regexp.MustCompile(`^measured at start: CPU [0-9.]+ ms, WebGPU [0-9]+ ms \(1000 ms of it added by fault=slow\) for one conv$`).MatchString(o.Reason()) {
		t.Errorf("reason %q", o.Reason())
	}
}

// TestWebGPURemembered: a remembered WebGPU choice opens WebGPU (self-test
// and all) without measuring, and says it is remembered; a fault makes
// "auto" measure (and fall back) even with a remembered choice.
func TestWebGPURemembered(t *testing.T) {
	r := &backends.Choice{Name: "webgpu", Times: []backends.Timing{{Name: "cpu", MS: 38}, {Name: "webgpu", MS: 4.5}}}
	o, err := backends.OpenWith("auto", r)
	if err != nil || o.Fallback != "" || o.Choice == nil || !o.Choice.Remembered {
		t.Fatalf("OpenWith(auto, webgpu remembered) = %+v, %v", o, err)
	}
	g, ok := unwrap(t, o.Backend).(*webgpu.Backend)
	if !ok {
		t.Fatalf("OpenWith(auto, webgpu remembered) gave %T, want *webgpu.Backend", unwrap(t, o.Backend))
	}
	g.Close()
	if want := "remembered from an earlier measurement on this device: CPU 38 ms, WebGPU 4.5 ms for one conv"; o.Reason() != want {
		t.Errorf("reason %q, want %q", o.Reason(), want)
	}
	o, err = backends.OpenWith("auto,fault=selftest", r)
	if err != nil || !strings.HasPrefix(o.Fallback, "webgpu: self-test: ") || o.Choice != nil {
		t.Fatalf("OpenWith(auto,fault=selftest, remembered) = %+v, %v; want the self-test's fallback", o, err)
	}
}

// TestWebGPUErrorsAtOpen: a self-test that finds a wrong value, a shader
// that does not compile, or a GPU that stops answering makes "auto" use the
// CPU and say why, and makes "webgpu" an error that says why.
func TestWebGPUErrorsAtOpen(t *testing.T) {
	for fault, why := range map[string]string{
		"selftest": "webgpu: self-test: ",
		"pipeline": "webgpu: compiling the shaders: ",
		"hang":     "webgpu: self-test: webgpu: the GPU did not answer within 2s (reading a buffer)",
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
