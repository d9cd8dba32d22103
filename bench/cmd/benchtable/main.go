// Command benchtable turns `go test -bench` output on standard input (any
// number of packages, any -count) into a Markdown table on standard output:
// per benchmark the median ns/op, B/op and allocs/op over the runs, and
// ns/op as a multiple of the benchmark's baseline in the same run (its
// "raw-..." or "bare" sibling, or "<name>-baseline-...").
//
//	go test -run '^$' -bench . -count 5 ./... | go run ./cmd/benchtable
package main

import (
	"fmt"
	"os"

	"github.com/fhirwarden/fhirwarden/bench"
)

func main() {
	rows, err := bench.ParseBenchOutput(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on standard input")
		os.Exit(1)
	}
	bench.WriteBenchTable(os.Stdout, rows)
}
