package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/fhirwarden/fhirwarden/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command: it parses args, runs the comparison, writes the
// table to stdout and complaints to stderr, and returns the exit status.
// stdin is not read.
func run(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadcompare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: loadcompare [flags]")
		fs.PrintDefaults()
	}
	var (
		cfg      bench.CompareConfig
		scenario = fs.String("scenario", "all", bench.ScenarioNames()+" or all")
		cpuProf  = fs.String("cpuprofile", "", "write a CPU profile of the whole run (servers and load generator) to this file")
		audit    = fs.String("audit", "count", "audit sink: count (records only counted) or json (formatted by slog's JSON handler into io.Discard)")
		minRatio = fs.Float64("min-ratio", 0, "exit 1 when the rounds show wrapped/bare throughput below this (one-sided 95% test, see bench.Comparison.CheckThroughput; 0: report only; the target is 0.9)")
	)
	var opts bench.StackOptions
	fs.IntVar(&opts.Patients, "patients", 0, "patients in the handler's data (0: bench.NewStack's default)")
	fs.IntVar(&opts.PerPatient, "per-patient", 0, "Observations per patient in the handler's data (0: bench.NewStack's default)")
	fs.IntVar(&cfg.Concurrency, "c", 8, "concurrent workers (keep-alive connections)")
	fs.DurationVar(&cfg.Duration, "d", time.Second, "length of one timed run per server")
	fs.IntVar(&cfg.Rounds, "rounds", 8, "interleaved bare/wrapped rounds")
	fs.DurationVar(&cfg.Warmup, "warmup", 500*time.Millisecond, "untimed load per server first (negative: none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadcompare: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if _, ok := bench.ScenarioNamed(*scenario); !ok && *scenario != "all" {
		fmt.Fprintf(stderr, "loadcompare: -scenario %q: want %s or all\n", *scenario, bench.ScenarioNames())
		return 2
	}
	switch *audit {
	case "count":
	case "json":
		opts.Audit = bench.JSONAudit()
	default:
		fmt.Fprintf(stderr, "loadcompare: -audit %q: want json or count\n", *audit)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fmt.Fprintln(stderr, "loadcompare:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "loadcompare:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := compare(ctx, stdout, opts, cfg, *scenario, *minRatio); err != nil {
		fmt.Fprintln(stderr, "loadcompare:", err)
		return 1
	}
	return 0
}

// compare runs the named scenario (or all) against a fresh Stack, prints
// the table to w, and fails when a request did not succeed or the
// throughput check at minRatio fails.
func compare(ctx context.Context, w io.Writer, opts bench.StackOptions, cfg bench.CompareConfig, scenario string, minRatio float64) error {
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
	bench.WriteComparisonTable(w, cs)
	var failed error
	for _, c := range cs {
		if c.Wrapped.OK() != c.Wrapped.Requests || c.Bare.OK() != c.Bare.Requests || c.Wrapped.Errors+c.Bare.Errors > 0 {
			failed = fmt.Errorf("%s: not every request succeeded (bare %v, wrapped %v, errors %d/%d)",
				c.Scenario, c.Bare.Status, c.Wrapped.Status, c.Bare.Errors, c.Wrapped.Errors)
		}
		if minRatio > 0 {
			if err := c.CheckThroughput(minRatio); err != nil {
				failed = err
			}
		}
	}
	return failed
}
