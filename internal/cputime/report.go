package cputime

import (
	"testing"
	"time"
)

// Report adds a cpu-ns/op metric to b: the CPU time used since start (a
// value of Process taken before the loop) per operation. It adds nothing
// where Process cannot read the CPU time.
func Report(b *testing.B, start time.Duration) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(Process()-start)/float64(b.N), "cpu-ns/op")
	}
}
