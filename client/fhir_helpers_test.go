package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// seenRequest is what a fake FHIR server saw.
type seenRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// fakeFHIR is an httptest FHIR server whose answers come from handle.
type fakeFHIR struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newFakeFHIR(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fakeFHIR {
	t.Helper()
	f := &fakeFHIR{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
		n := len(f.seen)
		f.mu.Unlock()
		handle(w, r, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFHIR) Seen() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func writeFHIR(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", FHIRMediaType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

const outcomeNotFound = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Patient/404 is not known"}]}`

// recordedSleep replaces waiting between retries with recording.
type recordedSleep struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *recordedSleep) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *recordedSleep) Delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// newTestClient builds a client for f with recorded sleeps and a fake clock.
func newTestClient(t *testing.T, base string, ts interface{}, opts ...Option) (*Client, *recordedSleep, *fakeClock) {
	t.Helper()
	rs := &recordedSleep{}
	clk := newFakeClock()
	opts = append([]Option{WithRetryClock(clk, rs.sleep)}, opts...)
	var c *Client
	var err error
	switch src := ts.(type) {
	case nil:
		c, err = New(base, nil, opts...)
	case *TokenCache:
		c, err = New(base, src, opts...)
	case string:
		c, err = New(base, StaticToken(src), opts...)
	default:
		t.Fatalf("unsupported token source %T", ts)
	}
	require.NoError(t, err)
	return c, rs, clk
}

func newTLSFHIR(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewTLSServer(h)
	t.Cleanup(s.Close)
	return s
}
