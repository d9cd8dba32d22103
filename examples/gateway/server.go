package main

import (
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// serverTimeouts bound what a client or the upstream can hold on to: a
// slow client sending headers or a body (slowloris), a slow reader of the
// response, an idle keep-alive connection, a slow upstream.
type serverTimeouts struct {
	readHeader     time.Duration // request line and headers
	read           time.Duration // the whole request, body included
	write          time.Duration // from the end of the headers to the end of the response
	idle           time.Duration // between requests on a keep-alive connection
	upstream       time.Duration // the whole upstream exchange
	upstreamHeader time.Duration // until the upstream's response headers
	drain          time.Duration // how long shutdown waits for in-flight requests
}

// maxHeaderBytes bounds the request headers (a bearer token is at most 16
// KiB).
const maxHeaderBytes = 64 << 10

var (
	timeoutsMu sync.Mutex
	timeouts   = serverTimeouts{
		readHeader:     10 * time.Second,
		read:           time.Minute,
		write:          3 * time.Minute,
		idle:           2 * time.Minute,
		upstream:       2 * time.Minute,
		upstreamHeader: time.Minute,
		drain:          30 * time.Second,
	}
)

// currentTimeouts returns the timeouts in force (tests shorten them).
func currentTimeouts() serverTimeouts {
	timeoutsMu.Lock()
	defer timeoutsMu.Unlock()
	return timeouts
}

// newServer is the gateway's HTTP server: every phase of a connection is
// bounded.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	t := currentTimeouts()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
