package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// testClock is a settable clock shared by an issuer and a verifier.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Now().Truncate(time.Second)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// newIssuer starts a tokentest issuer on a test clock.
func newIssuer(t *testing.T, opts ...tokentest.Option) (*tokentest.Issuer, *testClock) {
	t.Helper()
	clk := newTestClock()
	iss := tokentest.NewIssuer(append([]tokentest.Option{tokentest.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(iss.Close)
	return iss, clk
}

// newVerifier builds a Verifier for iss on clk.
func newVerifier(t *testing.T, iss *tokentest.Issuer, clk *testClock, opts ...token.VerifierOption) *token.Verifier {
	t.Helper()
	base := []token.VerifierOption{token.WithClock(clk.Now), token.WithLogger(discardLogger)}
	v, err := token.NewVerifier(context.Background(), token.Config{
		Issuer:   iss.URL,
		Audience: iss.Audience(),
		JWKSURL:  iss.JWKSURL(),
	}, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// primarySentinels are the errors of which exactly one is wrapped by every
// Authenticate error.
var primarySentinels = []error{
	token.ErrMalformed, token.ErrSignature, token.ErrUnknownKey, token.ErrExpired,
	token.ErrNotYetValid, token.ErrIssuer, token.ErrAudience, token.ErrAlgorithm,
	token.ErrInactive, token.ErrScope, token.ErrClient, token.ErrIssuerUnavailable,
}

// requireRejected asserts that err wraps want and exactly one primary
// sentinel, and that its text does not echo raw or any sizeable part of it
// (the base64 segments or the decoded payload).
func requireRejected(t *testing.T, err, want error, raw string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, want, "error: %v", err)
	n := 0
	for _, s := range primarySentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	require.Equal(t, 1, n, "error must wrap exactly one sentinel: %v", err)
	requireNoLeak(t, err, raw)
}

func requireNoLeak(t *testing.T, err error, raw string) {
	t.Helper()
	msg := err.Error()
	if len(raw) >= 12 {
		require.NotContains(t, msg, raw)
	}
	for _, part := range strings.Split(raw, ".") {
		if len(part) >= 12 {
			require.NotContains(t, msg, part, "error text echoes a token segment")
		}
		if dec, derr := base64.RawURLEncoding.DecodeString(part); derr == nil && len(dec) >= 12 {
			require.NotContains(t, msg, string(dec), "error text echoes a decoded token segment")
		}
	}
}

// segment base64url-encodes v as JSON (or raw bytes/strings as they are).
func segment(t *testing.T, v any) string {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		b, err = json.Marshal(v)
		require.NoError(t, err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// parts splits a compact token.
func parts(t *testing.T, tok string) (h, p, s string) {
	t.Helper()
	ps := strings.Split(tok, ".")
	require.Len(t, ps, 3)
	return ps[0], ps[1], ps[2]
}
