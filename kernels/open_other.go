//go:build !js

package kernels

import "errors"

// openWebGPU fails outside the browser: WebGPU is reached through syscall/js.
func openWebGPU() (Backend, error) {
	return nil, errors.New("kernels: WebGPU is only available in a browser (GOOS=js)")
}
