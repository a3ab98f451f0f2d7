//go:build js

package kernels

import "errors"

// openWebGPU is replaced by the WebGPU backend (webgpu_js.go).
func openWebGPU() (Backend, error) {
	return nil, errors.New("kernels: the WebGPU backend is not built yet")
}
