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
// (case and surrounding spaces are ignored; "" is "auto"). When "auto"
// falls back to the CPU, reason says why (empty otherwise), so that the user
// can be told. The CPU backend uses every core (GOMAXPROCS).
func Open(name string) (b kernels.Backend, reason string, err error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "auto":
		g, gerr := webgpu.Open()
		if gerr == nil {
			return kernels.Checked(g), "", nil
		}
		return kernels.Checked(cpu.New(0)), gerr.Error(), nil
	case "cpu":
		return kernels.Checked(cpu.New(0)), "", nil
	case "naive":
		return kernels.Checked(naive.Backend{}), "", nil
	case "webgpu":
		g, gerr := webgpu.Open()
		if gerr != nil {
			return nil, "", gerr
		}
		return kernels.Checked(g), "", nil
	}
	return nil, "", fmt.Errorf("backends: unknown backend %q (want auto, cpu, webgpu or naive)", name)
}
