// Package cputime reads the CPU time the process has used, for benchmarks
// that report CPU time per operation (cpu-ns/op) rather than wall time:
//
//	start := cputime.Process()
//	for b.Loop() {
//		work()
//	}
//	cputime.Report(b, start) // adds cpu-ns/op
//
// Ratios between sub-benchmarks then hold on a machine shared with other
// work (wall time there includes waiting for a CPU), and work spread over
// goroutines is counted whole.
package cputime
