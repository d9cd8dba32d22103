package main

import (
	"os"
	"strings"
)

// Two -count runs of a benchmark with a "bare" baseline become one row each:
// medians over the runs, and ns/op as a multiple of the baseline.
func Example() {
	input := `goos: linux
pkg: github.com/fhirwarden/fhirwarden/middleware
BenchmarkMiddleware/bare-2           1000     1000 ns/op    0 B/op   0 allocs/op
BenchmarkMiddleware/cached-token-2   1000     2400 ns/op  300 B/op   5 allocs/op
BenchmarkMiddleware/bare-2           1000     1200 ns/op    0 B/op   0 allocs/op
BenchmarkMiddleware/cached-token-2   1000     2600 ns/op  300 B/op   5 allocs/op
PASS
ok  	github.com/fhirwarden/fhirwarden/middleware	3.1s
`
	status := run(nil, strings.NewReader(input), os.Stdout, os.Stdout)
	if status != 0 {
		panic(status)
	}
	// Output:
	// | package | benchmark | runs | ns/op (median) | B/op | allocs/op | vs baseline |
	// | --- | --- | ---: | ---: | ---: | ---: | --- |
	// | middleware | BenchmarkMiddleware/bare | 2 | 1100 | 0 | 0 | baseline |
	// | middleware | BenchmarkMiddleware/cached-token | 2 | 2500 | 300 | 5 | 2.27x bare |
}
