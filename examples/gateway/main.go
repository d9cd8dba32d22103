package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var usage usageError
	var config *configError
	switch {
	case err == nil:
	case errors.As(err, &usage):
		os.Exit(2)
	case errors.As(err, &config):
		os.Exit(1) // parseFlags has said it, as FILE:LINE: reason
	default:
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// usageError is a command-line mistake (exit status 2); the flag package
// has already printed the details.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
