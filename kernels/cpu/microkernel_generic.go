//go:build !(goexperiment.simd && amd64) && !js

package cpu

// Without GOEXPERIMENT=simd on amd64 the portable scalar kernel is the only
// candidate (under WebAssembly see kernel_js.go).
func candidates() []*microKernel {
	s := scalar2x4
	return []*microKernel{&s}
}
