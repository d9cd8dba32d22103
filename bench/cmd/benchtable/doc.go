// Command benchtable turns `go test -bench` output on standard input (any
// number of packages, any -count) into a Markdown table on standard output:
// per benchmark the median ns/op, B/op and allocs/op over the runs, and
// ns/op as a multiple of the benchmark's baseline in the same run (its
// "raw-..." or "bare" sibling, or "<name>-baseline-...").
//
//	go test -run '^$' -bench . -count 5 ./... | go run ./cmd/benchtable
//	go run ./cmd/benchtable < bench.txt > table.md
//
// It takes no flags and no arguments (-h prints the usage). Lines that are
// not benchmark results (PASS, ok, goos, ...) are skipped; the "pkg:" lines
// name each row's package.
//
// Exit status: 0 after printing the table; 1 when the input cannot be read
// or holds no benchmark result; 2 for a flag or an argument.
package main
