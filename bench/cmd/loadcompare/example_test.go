package main

import (
	"fmt"
	"os"
)

// -h prints the flags and exits 0 without starting a server.
func Example() {
	status := run([]string{"-h"}, nil, os.Stdout, os.Stdout)
	fmt.Println("exit status", status)
	// Output:
	// usage: loadcompare [flags]
	//   -audit string
	//     	audit sink: count (records only counted) or json (formatted by slog's JSON handler into io.Discard) (default "count")
	//   -c int
	//     	concurrent workers (keep-alive connections) (default 8)
	//   -cpuprofile string
	//     	write a CPU profile of the whole run (servers and load generator) to this file
	//   -d duration
	//     	length of one timed run per server (default 1s)
	//   -min-ratio float
	//     	exit 1 when the rounds show wrapped/bare throughput below this (one-sided 95% test, see bench.Comparison.CheckThroughput; 0: report only; the target is 0.9)
	//   -patients int
	//     	patients in the handler's data (0: bench.NewStack's default)
	//   -per-patient int
	//     	Observations per patient in the handler's data (0: bench.NewStack's default)
	//   -rounds int
	//     	interleaved bare/wrapped rounds (default 8)
	//   -scenario string
	//     	user-search, patient-search, patient-search-narrowed, patient-read or all (default "all")
	//   -warmup duration
	//     	untimed load per server first (negative: none) (default 500ms)
	// exit status 0
}

// A flag value it does not know is refused with exit status 2 before any
// server starts.
func Example_badFlag() {
	status := run([]string{"-audit", "syslog"}, nil, os.Stdout, os.Stdout)
	fmt.Println("exit status", status)
	status = run([]string{"-scenario", "patient-delete"}, nil, os.Stdout, os.Stdout)
	fmt.Println("exit status", status)
	// Output:
	// loadcompare: -audit "syslog": want json or count
	// exit status 2
	// loadcompare: -scenario "patient-delete": want user-search, patient-search, patient-search-narrowed, patient-read or all
	// exit status 2
}
