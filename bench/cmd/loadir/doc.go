// Command loadir is the deterministic side of the load comparison: it
// sends a fixed number of one scenario's requests to the bare or the
// wrapped server (same Stack, handler and closed-loop generator as
// loadcompare) so that valgrind's callgrind can count the instructions the
// whole process (servers, middleware, runtime and load generator) executes
// for them. Instruction counts do not move with the machine's load the way
// requests per second do, so bare/wrapped instructions per request is a
// steady companion to loadcompare's throughput ratio (it is not the same
// thing: cache misses and waiting do not count). irload.sh runs it under
// callgrind for every scenario and prints the table.
//
//	GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind \
//	    --instr-atstart=no --callgrind-out-file=/dev/null \
//	    go-built-loadir -scenario patient-read -server wrapped -n 3000 -callgrind
//
// The GODEBUG settings keep the Go runtime from preemption signals and
// from the RDTSCP instruction, which valgrind cannot run (SIGILL).
//
// Flags:
//
//	-scenario NAME  one of bench.Scenarios (required)
//	-server S       bare or wrapped (default wrapped)
//	-n N            requests counted (default 3000)
//	-warmup N       requests sent first, not counted (default 500)
//	-c N            concurrent workers (default 8)
//	-callgrind      switch callgrind's instrumentation on just for the counted
//	                requests (callgrind_control -i on/off); without it the
//	                command only runs the requests, for a quick check
//
// It prints one line: the scenario, the server and the requests answered
// by status. Exit status: 0 when every request got a 200; 1 otherwise or
// when the run fails; 2 for a bad flag or an argument.
package main
