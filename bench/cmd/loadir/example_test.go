package main

import (
	"fmt"
	"os"
)

// A short run without callgrind: the requests and their statuses.
func Example() {
	status := run([]string{"-scenario", "patient-read", "-server", "wrapped", "-n", "20", "-warmup", "0", "-c", "2"}, os.Stdout, os.Stdout)
	fmt.Println("exit status", status)
	// Output:
	// patient-read wrapped: 20 requests, statuses map[200:20]
	// exit status 0
}
