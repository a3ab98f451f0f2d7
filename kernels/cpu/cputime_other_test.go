//go:build !unix

package cpu_test

// cpuSeconds is unknown here (WebAssembly): 0, and the benchmarks report
// wall-clock rates only.
func cpuSeconds() float64 { return 0 }
