//go:build !js

package webgpu

import "errors"

// Open fails outside the browser: WebGPU is reached through syscall/js.
func Open() (*Backend, error) { return OpenWith(Options{}) }

// OpenWith fails outside the browser, as Open does.
func OpenWith(Options) (*Backend, error) {
	return nil, errors.New("webgpu: only available in a browser (GOOS=js)")
}
