package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, server.ErrUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run is the program: it serves until ctx is done. Tests call it (or
// server.RunConfig, to learn the bound address of -addr 127.0.0.1:0).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return server.Run(ctx, args, stdout, stderr)
}
