package bench

import (
	"io"
	"strings"
	"testing"
)

// FuzzParseBenchOutput: any input parses without panicking, and the table
// writer copes with whatever rows come out.
func FuzzParseBenchOutput(f *testing.F) {
	f.Add(sampleBench)
	f.Add("BenchmarkX-2 10 NaN ns/op -1 B/op x allocs/op\n")
	f.Add("pkg: a\nBenchmarkA/b-baseline-/b-2 1 1 ns/op\nBenchmarkA/-2 1 2 ns/op\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ParseBenchOutput(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if !strings.HasPrefix(r.Name, "Benchmark") {
				t.Fatalf("row %q is not a benchmark", r.Name)
			}
		}
		WriteBenchTable(io.Discard, rows)
	})
}
