// Command loadcompare measures what the fhirwarden middleware costs under
// load: the same FHIR search handler is served bare and wrapped by the
// middleware on two 127.0.0.1 listeners, and a closed-loop Go load
// generator drives both with a valid token (held in the verified-token
// cache), alternating between them. It prints requests/s, p50 and p99 per
// server as a Markdown table, and the wrapped/bare throughput ratio.
//
//	go run ./cmd/loadcompare -c 8 -d 1s -rounds 8 -min-ratio 0.9
//
// With -min-ratio it exits with status 1 when a scenario's ratio is below it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/fhirwarden/fhirwarden/bench"
)

func main() {
	var (
		cfg      bench.CompareConfig
		scenario = flag.String("scenario", "all", "user-search, patient-search, patient-read or all")
		cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of the whole run (servers and load generator) to this file")
		audit    = flag.String("audit", "count", "audit sink: count (records only counted, as the bare server logs nothing either) or json (formatted by slog's JSON handler into io.Discard)")
		minRatio = flag.Float64("min-ratio", 0, "exit 1 when wrapped/bare throughput is below this (0: report only; issue 8's target is 0.9)")
	)
	flag.IntVar(&cfg.Concurrency, "c", 8, "concurrent workers (keep-alive connections)")
	flag.DurationVar(&cfg.Duration, "d", time.Second, "length of one timed run per server")
	flag.IntVar(&cfg.Rounds, "rounds", 8, "interleaved bare/wrapped rounds")
	flag.DurationVar(&cfg.Warmup, "warmup", 500*time.Millisecond, "untimed load per server first")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadcompare:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadcompare:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var opts bench.StackOptions
	switch *audit {
	case "count":
	case "json":
		opts.Audit = bench.JSONAudit()
	default:
		fmt.Fprintf(os.Stderr, "loadcompare: -audit %q: want json or count\n", *audit)
		os.Exit(2)
	}
	if err := run(ctx, opts, cfg, *scenario, *minRatio); err != nil {
		fmt.Fprintln(os.Stderr, "loadcompare:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, opts bench.StackOptions, cfg bench.CompareConfig, scenario string, minRatio float64) error {
	s, err := bench.NewStack(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	var cs []*bench.Comparison
	for _, sc := range bench.Scenarios() {
		if scenario != "all" && scenario != sc.Name {
			continue
		}
		c, err := s.Compare(ctx, sc, cfg)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return fmt.Errorf("no scenario named %q", scenario)
	}
	bench.WriteComparisonTable(os.Stdout, cs)
	var failed error
	for _, c := range cs {
		if c.Wrapped.OK() != c.Wrapped.Requests || c.Bare.OK() != c.Bare.Requests || c.Wrapped.Errors+c.Bare.Errors > 0 {
			failed = fmt.Errorf("%s: not every request succeeded (bare %v, wrapped %v, errors %d/%d)",
				c.Scenario, c.Bare.Status, c.Wrapped.Status, c.Bare.Errors, c.Wrapped.Errors)
		}
		if minRatio > 0 && c.Ratio() < minRatio {
			failed = fmt.Errorf("%s: wrapped/bare throughput %.2f is below %.2f", c.Scenario, c.Ratio(), minRatio)
		}
	}
	return failed
}
