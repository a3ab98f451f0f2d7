// Package backends chooses crema's compute backend by name. It is the one
// place that knows every implementation of kernels.Backend (naive, cpu,
// webgpu), so that neither package kernels nor a backend depends on the
// others.
package backends

import (
	"fmt"
	"strings"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/kernels/webgpu"
)

// Open returns the backend named name, wrapped in kernels.Checked: "auto"
// (WebGPU where available, else the CPU), "cpu", "webgpu" or "naive"
// (case and surrounding spaces are ignored; "" is "auto"). WebGPU is only
// used once its self-test (webgpu.Backend.SelfTest: every kernel against
// the CPU backend on small inputs) passes. When "auto" falls back to the
// CPU, reason says why (empty otherwise), so that the user can be told;
// "webgpu" that cannot start, or fails its self-test, is an error. The CPU
// backend uses every core (GOMAXPROCS).
//
// For tests of the error paths (a page can ask for them in its URL),
// "auto" and "webgpu" take a fault after a comma: "auto,fault=selftest"
// makes the self-test fail, "auto,fault=pipeline" adds a shader that does
// not compile (see webgpu.Fault).
func Open(name string) (b kernels.Backend, reason string, err error) {
	base, opt, err := parse(name)
	if err != nil {
		return nil, "", err
	}
	switch base {
	case "", "auto":
		g, gerr := openGPU(opt)
		if gerr == nil {
			return kernels.Checked(g), "", nil
		}
		return kernels.Checked(cpu.New(0)), gerr.Error(), nil
	case "cpu":
		return kernels.Checked(cpu.New(0)), "", nil
	case "naive":
		return kernels.Checked(naive.Backend{}), "", nil
	case "webgpu":
		g, gerr := openGPU(opt)
		if gerr != nil {
			return nil, "", gerr
		}
		return kernels.Checked(g), "", nil
	}
	return nil, "", fmt.Errorf("backends: unknown backend %q (want auto, cpu, webgpu or naive)", name)
}

// parse splits name into the backend and the options after it.
func parse(name string) (string, webgpu.Options, error) {
	var opt webgpu.Options
	fields := strings.Split(strings.ToLower(strings.TrimSpace(name)), ",")
	base := strings.TrimSpace(fields[0])
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch fault := webgpu.Fault(v); {
		case k == "fault" && (base == "auto" || base == "webgpu") && (fault == webgpu.FaultSelfTest || fault == webgpu.FaultPipeline):
			opt.Fault = fault
		default:
			return "", opt, fmt.Errorf("backends: unknown option %q in backend %q (want fault=selftest or fault=pipeline after auto or webgpu)", f, name)
		}
	}
	return base, opt, nil
}

// openGPU opens the WebGPU backend and runs its self-test against the CPU
// backend; on failure the device is released and the error says why.
func openGPU(opt webgpu.Options) (*webgpu.Backend, error) {
	g, err := webgpu.OpenWith(opt)
	if err != nil {
		return nil, err
	}
	if err := g.SelfTest(cpu.New(1)); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}
