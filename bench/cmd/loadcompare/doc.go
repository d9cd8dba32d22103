// Command loadcompare measures what the fhirwarden middleware costs under
// load: the same FHIR search handler is served bare and wrapped by the
// middleware on two 127.0.0.1 listeners, and a closed-loop Go load
// generator drives both with a valid token (held in the verified-token
// cache), alternating between them. It prints requests/s, p50 and p99 per
// server as a Markdown table, and the wrapped/bare throughput ratio.
//
//	go run ./cmd/loadcompare -c 8 -d 1s -rounds 8 -min-ratio 0.9
//	go run ./cmd/loadcompare -scenario patient-read -audit json -cpuprofile cpu.out
//
// Flags:
//
//	-c N             concurrent workers, one keep-alive connection each (default 8)
//	-d DURATION      length of one timed run per server (default 1s)
//	-rounds N        interleaved bare/wrapped pairs of runs (default 8)
//	-warmup DURATION untimed load on each server first (default 500ms; negative: none)
//	-scenario NAME   user-search, patient-search, patient-search-narrowed, patient-read or all (default all)
//	-patients N      patients in the handler's data (default: bench.NewStack's, 50)
//	-per-patient N   Observations per patient in that data (default: bench.NewStack's, 4)
//	-audit SINK      count (audit records only counted, as the bare server logs
//	                 nothing either) or json (each formatted by slog's JSON
//	                 handler into io.Discard) (default count)
//	-cpuprofile FILE write a CPU profile of the whole run (servers and load
//	                 generator) to FILE
//	-min-ratio R     exit 1 when a scenario's wrapped/bare throughput is below
//	                 R (0, the default, only reports; the target is 0.9)
//
// Exit status: 0 after printing the table; 1 when the run fails, a request
// did not succeed, or a ratio is below -min-ratio; 2 for a bad flag or an
// argument. An interrupt (Ctrl-C) cancels the run.
package main
