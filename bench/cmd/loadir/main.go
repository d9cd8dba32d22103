package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/fhirwarden/fhirwarden/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadir", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: loadir -scenario NAME [flags]")
		fs.PrintDefaults()
	}
	var (
		scenario  = fs.String("scenario", "", "one of bench.Scenarios: "+bench.ScenarioNames())
		server    = fs.String("server", "wrapped", "bare or wrapped")
		n         = fs.Int("n", 3000, "requests counted")
		warmup    = fs.Int("warmup", 500, "requests sent first, not counted")
		workers   = fs.Int("c", 8, "concurrent workers")
		callgrind = fs.Bool("callgrind", false, "switch callgrind's instrumentation on for the counted requests only (run under valgrind --tool=callgrind --instr-atstart=no)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadir: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	sc, ok := bench.ScenarioNamed(*scenario)
	switch {
	case !ok:
		fmt.Fprintf(stderr, "loadir: -scenario %q: want one of %s\n", *scenario, bench.ScenarioNames())
		return 2
	case *server != "bare" && *server != "wrapped":
		fmt.Fprintf(stderr, "loadir: -server %q: want bare or wrapped\n", *server)
		return 2
	case *n <= 0 || *warmup < 0 || *workers <= 0:
		fmt.Fprintln(stderr, "loadir: -n and -c must be positive, -warmup not negative")
		return 2
	}
	res, err := measure(context.Background(), sc, *server == "wrapped", *n, *warmup, *workers, *callgrind)
	if err != nil {
		fmt.Fprintln(stderr, "loadir:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s %s: %d requests, statuses %v\n", sc.Name, *server, res.Requests, res.Status)
	if res.OK() != *n || res.Errors > 0 {
		fmt.Fprintf(stderr, "loadir: not every request succeeded (%d errors)\n", res.Errors)
		return 1
	}
	return 0
}

// measure starts a Stack, warms the chosen server up (the token is then in
// the verified-token cache, the connections open) and sends n requests,
// with callgrind's instrumentation on around them when asked.
func measure(ctx context.Context, sc bench.Scenario, wrapped bool, n, warmup, workers int, callgrind bool) (*bench.Result, error) {
	s, err := bench.NewStack(ctx, bench.StackOptions{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	load := bench.Load{
		URL:         s.Target(sc, wrapped),
		Header:      http.Header{"Authorization": {"Bearer " + s.Issuer.Mint(sc.Claims)}},
		Concurrency: workers,
		Client:      bench.NewLoadClient(workers),
	}
	defer load.Client.CloseIdleConnections()
	if warmup > 0 {
		load.Requests = warmup
		if _, err := load.Run(ctx); err != nil {
			return nil, err
		}
	}
	load.Requests = n
	if callgrind {
		if err := instrument("on"); err != nil {
			return nil, err
		}
	}
	res, err := load.Run(ctx)
	if callgrind {
		if ierr := instrument("off"); ierr != nil && err == nil {
			err = ierr
		}
	}
	return res, err
}

// instrument switches callgrind's instrumentation of this process on or off.
func instrument(state string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "callgrind_control", "-i", state, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err == nil && bytes.Contains(out, []byte("Error")) {
		err = errors.New("not detected") // callgrind_control exits 0 when it finds no callgrind task
	}
	if err != nil {
		return fmt.Errorf("callgrind_control -i %s (is this process running under valgrind --tool=callgrind?): %w: %s", state, err, out)
	}
	return nil
}
