package kernels

import (
	"fmt"
	"runtime"
)

// CPU is the pure-Go production backend. Operations without a fast kernel
// of their own fall through to the embedded Naive loops.
type CPU struct {
	Naive
	workers int
}

var _ Backend = (*CPU)(nil)

// NewCPU returns a CPU backend that uses up to workers goroutines
// (0 means GOMAXPROCS).
func NewCPU(workers int) *CPU {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &CPU{workers: workers}
}

func (c *CPU) Name() string     { return "cpu" }
func (c *CPU) Describe() string { return fmt.Sprintf("pure Go, %d worker(s)", c.workers) }
