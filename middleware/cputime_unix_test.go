//go:build unix

package middleware_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system):
// benchmarks report it per operation (cpu-ns/op) so that ratios hold on
// a machine shared with other work, and so that work spread over
// goroutines (concurrent stored-version reads) is counted whole.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
