package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/fhirwarden/fhirwarden/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command: it reads `go test -bench` output from stdin,
// writes the table to stdout and complaints to stderr, and returns the exit
// status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go test -run '^$' -bench . -count 5 ./... | benchtable")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "benchtable: unexpected argument %q (input is read from standard input)\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	rows, err := bench.ParseBenchOutput(stdin)
	if err != nil {
		fmt.Fprintln(stderr, "benchtable:", err)
		return 1
	}
	if len(rows) == 0 {
		fmt.Fprintln(stderr, "benchtable: no benchmark results on standard input")
		return 1
	}
	bench.WriteBenchTable(stdout, rows)
	return 0
}
