package token_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// unknownKidToken is a token naming kid. Its signature is never looked at
// (no key has that kid), so a fixed fake one keeps a 200-token flood cheap.
func unknownKidToken(t *testing.T, iss *tokentest.Issuer, _ *rsa.PrivateKey, kid string) string {
	t.Helper()
	return segment(t, map[string]any{"alg": "RS256", "kid": kid}) + "." +
		segment(t, map[string]any{"iss": iss.URL, "aud": iss.Audience(), "exp": time.Now().Add(time.Hour).Unix()}) + "." +
		segment(t, make([]byte, 256))
}

// flood authenticates n tokens with distinct unknown kids concurrently,
// all released at once, and requires every one to fail with ErrUnknownKey.
func flood(t *testing.T, v *token.Verifier, iss *tokentest.Issuer, key *rsa.PrivateKey, n int, tag string) {
	t.Helper()
	toks := make([]string, n)
	for i := range toks {
		toks[i] = unknownKidToken(t, iss, key, fmt.Sprintf("%s-%d", tag, i))
	}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = v.Authenticate(context.Background(), toks[i])
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		requireRejected(t, err, token.ErrUnknownKey, toks[i])
	}
}

func TestJWKSUnknownKidFlood(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	require.Equal(t, 1, iss.JWKSFetches(), "initial fetch")

	// Within the rate-limit window of the initial fetch: no fetch at all.
	flood(t, v, iss, key, 200, "a")
	require.Equal(t, 1, iss.JWKSFetches())

	// Next window, slow IdP: 200 concurrent unknown kids share one fetch.
	clk.Advance(11 * time.Second)
	iss.SetDelay(200 * time.Millisecond)
	flood(t, v, iss, key, 200, "b")
	require.Equal(t, 2, iss.JWKSFetches())

	// Fast IdP, next window: still at most one.
	iss.SetDelay(0)
	clk.Advance(11 * time.Second)
	flood(t, v, iss, key, 200, "c")
	require.Equal(t, 3, iss.JWKSFetches())

	// Same window again: none.
	clk.Advance(5 * time.Second)
	flood(t, v, iss, key, 200, "d")
	require.Equal(t, 3, iss.JWKSFetches())

	st := v.Stats()
	require.Equal(t, uint64(3), st.JWKSFetches)
	require.Positive(t, st.JWKSRefetchesRateLimited)
	require.Equal(t, uint64(800), st.Rejected)

	// Valid tokens keep working throughout.
	_, err = v.Authenticate(context.Background(), iss.Mint(nil))
	require.NoError(t, err)
}

func TestJWKSConfigurableRefetchInterval(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk, token.WithRefetchInterval(time.Minute))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	clk.Advance(30 * time.Second)
	flood(t, v, iss, key, 20, "a")
	require.Equal(t, 1, iss.JWKSFetches())
	clk.Advance(31 * time.Second)
	flood(t, v, iss, key, 20, "b")
	require.Equal(t, 2, iss.JWKSFetches())
}

func TestJWKSRotation(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	ctx := context.Background()

	old := iss.Mint(map[string]any{"sub": "old"})
	_, err := v.Authenticate(ctx, old) // cached now
	require.NoError(t, err)

	iss.RotateKeys(false) // new key published, old one kept
	fresh := iss.Mint(map[string]any{"sub": "new"})
	clk.Advance(11 * time.Second)
	p, err := v.Authenticate(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, "new", p.Subject)
	require.Equal(t, 2, iss.JWKSFetches(), "accepted after exactly one refetch")
	_, err = v.Authenticate(ctx, old)
	require.NoError(t, err, "old key still published")

	// Retire the old key: once the verifier has reloaded, tokens signed by
	// it are refused, including the one in the verified-token cache.
	iss.RotateKeys(true)
	newest := iss.Mint(map[string]any{"sub": "newest"})
	clk.Advance(11 * time.Second)
	_, err = v.Authenticate(ctx, newest)
	require.NoError(t, err)
	require.Equal(t, 3, iss.JWKSFetches())
	_, err = v.Authenticate(ctx, old)
	requireRejected(t, err, token.ErrUnknownKey, old)
	_, err = v.Authenticate(ctx, fresh)
	requireRejected(t, err, token.ErrUnknownKey, fresh)
}

func TestJWKSOutageKeepsLastGoodKeys(t *testing.T) {
	faults := []struct {
		name   string
		inject func(*tokentest.Issuer)
		heal   func(*tokentest.Issuer)
		client *http.Client
	}{
		{"HTTP 500", func(i *tokentest.Issuer) { i.FailJWKS(500) }, func(i *tokentest.Issuer) { i.FailJWKS(0) }, nil},
		{"HTTP 404", func(i *tokentest.Issuer) { i.FailJWKS(404) }, func(i *tokentest.Issuer) { i.FailJWKS(0) }, nil},
		{"garbage body", func(i *tokentest.Issuer) { i.JWKSGarbage(true) }, func(i *tokentest.Issuer) { i.JWKSGarbage(false) }, nil},
		{"200 with empty key set", func(i *tokentest.Issuer) { i.EmptyJWKS(true) }, func(i *tokentest.Issuer) { i.EmptyJWKS(false) }, nil},
		{"timeout", func(i *tokentest.Issuer) { i.SetDelay(2 * time.Second) }, func(i *tokentest.Issuer) { i.SetDelay(0) },
			&http.Client{Timeout: 200 * time.Millisecond}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			iss, clk := newIssuer(t)
			var opts []token.VerifierOption
			if f.client != nil {
				opts = append(opts, token.WithHTTPClient(f.client))
			}
			v := newVerifier(t, iss, clk, opts...)
			ctx := context.Background()
			loaded := v.Stats().KeysLoaded
			require.Positive(t, loaded)
			good := iss.Mint(map[string]any{"sub": "good"})

			f.inject(iss)
			clk.Advance(11 * time.Second)
			iss.RotateKeys(false)
			rotated := iss.Mint(map[string]any{"sub": "rotated"})
			// The unknown kid triggers a refetch that fails: 401, not 5xx.
			_, err := v.Authenticate(ctx, rotated)
			requireRejected(t, err, token.ErrUnknownKey, rotated)
			// The last good keys keep serving.
			p, err := v.Authenticate(ctx, good)
			require.NoError(t, err)
			require.Equal(t, "good", p.Subject)
			st := v.Stats()
			require.Equal(t, uint64(1), st.JWKSFetchFailures)
			require.NotEmpty(t, st.JWKSLastError)
			require.Equal(t, loaded, st.KeysLoaded)

			f.heal(iss)
			clk.Advance(11 * time.Second)
			_, err = v.Authenticate(ctx, rotated)
			require.NoError(t, err, "accepted after the IdP heals")
			require.Empty(t, v.Stats().JWKSLastError)
		})
	}
}

func TestJWKSNeverLoaded(t *testing.T) {
	iss, clk := newIssuer(t)
	iss.FailJWKS(503)
	v := newVerifier(t, iss, clk)
	raw := iss.Mint(nil)
	_, err := v.Authenticate(context.Background(), raw)
	requireRejected(t, err, token.ErrIssuerUnavailable, raw)

	iss.FailJWKS(0)
	clk.Advance(11 * time.Second)
	_, err = v.Authenticate(context.Background(), raw)
	require.NoError(t, err)
}

func TestJWKSBackgroundRefreshHonoursCacheControl(t *testing.T) {
	iss, clk := newIssuer(t)
	iss.SetJWKSCacheControl("max-age=1")
	v := newVerifier(t, iss, clk, token.WithRefreshBounds(time.Second, time.Hour))
	require.Equal(t, 1, iss.JWKSFetches())
	require.Eventually(t, func() bool { return iss.JWKSFetches() >= 2 }, 5*time.Second, 50*time.Millisecond,
		"max-age=1 with a 1 s lower bound must refresh within seconds")

	// Close stops the loop: no fetch afterwards.
	require.NoError(t, v.Close())
	n := iss.JWKSFetches()
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, n, iss.JWKSFetches())
}

func TestJWKSRefreshLowerBound(t *testing.T) {
	iss, clk := newIssuer(t)
	iss.SetJWKSCacheControl("max-age=0, no-cache")
	_ = newVerifier(t, iss, clk, token.WithRefreshBounds(time.Hour, 2*time.Hour))
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 1, iss.JWKSFetches(), "no-cache must not turn into a refresh storm")
}

func stacks() string {
	buf := make([]byte, 1<<16)
	return string(buf[:runtime.Stack(buf, true)])
}

func TestVerifierCloseStopsGoroutines(t *testing.T) {
	iss, clk := newIssuer(t)
	settle := func() int {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		time.Sleep(20 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	var vs []*token.Verifier
	for range 5 {
		v, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()},
			token.WithClock(clk.Now), token.WithLogger(discardLogger))
		require.NoError(t, err)
		vs = append(vs, v)
	}
	require.GreaterOrEqual(t, runtime.NumGoroutine(), before+5, "one refresh loop per verifier")
	for _, v := range vs {
		require.NoError(t, v.Close())
	}
	deadline := time.Now().Add(2 * time.Second)
	for settle() > before && time.Now().Before(deadline) {
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left after Close:\n%s", stacks())
	// A closed verifier still answers from the keys it has, without fetching.
	_, err := vs[0].Authenticate(context.Background(), iss.Mint(nil))
	require.NoError(t, err)
}
