//go:build unix

package cpu_test

import "syscall"

// cpuSeconds is the user + system CPU time of this process so far: the
// benchmarks divide FLOPs by it too, a per-core rate that other processes
// sharing the machine disturb far less than wall-clock time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
