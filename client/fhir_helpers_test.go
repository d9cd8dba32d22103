package client

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client/internal/fakefhir"
)

// The fake FHIR server of these tests (shared with client/typed's).
type (
	seenRequest = fakefhir.Request
	fakeFHIR    = fakefhir.Server
)

func newFakeFHIR(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *fakeFHIR {
	t.Helper()
	return fakefhir.New(t, handle)
}

func writeFHIR(w http.ResponseWriter, status int, body string) { fakefhir.Write(w, status, body) }

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
	opts = append([]Option{withRetryClock(clk.Now, rs.sleep)}, opts...)
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
