package kernels

import (
	"fmt"
	"strings"
)

// Open returns the backend named name: "auto" (WebGPU where available, else
// the CPU), "cpu", "webgpu" or "naive". When "auto" falls back to the CPU,
// reason says why (empty otherwise), so that the user can be told.
func Open(name string) (b Backend, reason string, err error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "auto":
		gb, gerr := openWebGPU()
		if gerr == nil {
			return gb, "", nil
		}
		return NewCPU(0), gerr.Error(), nil
	case "cpu":
		return NewCPU(0), "", nil
	case "naive":
		return Naive{}, "", nil
	case "webgpu":
		gb, gerr := openWebGPU()
		if gerr != nil {
			return nil, "", gerr
		}
		return gb, "", nil
	}
	return nil, "", fmt.Errorf("kernels: unknown backend %q (want auto, cpu, webgpu or naive)", name)
}
