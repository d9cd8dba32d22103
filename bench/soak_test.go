package bench

import (
	"context"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Soak bounds, stated here and in the README.
const (
	// soakGoroutineSlack: after the load stops and its connections close,
	// the goroutine count is back within this of where it started.
	soakGoroutineSlack = 5
	// soakGoroutineSpread: during the load, the last samples exceed the
	// first by at most this (a leak of one goroutine per request or per
	// refetch would show as thousands).
	soakGoroutineSpread = 25
	// soakHeapGrowth: HeapInuse after GC at the end exceeds the baseline
	// taken after the warm-up (verified-token cache full) by at most this.
	soakHeapGrowth = 8 << 20
)

// TestSoak is the bounded soak (bench/README.md). It runs only when
// FHIRWARDEN_SOAK is set to a duration (CI: FHIRWARDEN_SOAK=60s), so that
// go test ./... stays quick.
func TestSoak(t *testing.T) {
	v := os.Getenv("FHIRWARDEN_SOAK")
	if v == "" {
		t.Skip("set FHIRWARDEN_SOAK=<duration> (e.g. 60s) to soak")
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "FHIRWARDEN_SOAK")
	require.GreaterOrEqual(t, d, 10*time.Second, "FHIRWARDEN_SOAK: soak at least 10s")

	rep, err := Soak(context.Background(), SoakConfig{Duration: d})
	require.NoError(t, err)
	logSoak(t, rep)

	// No 5xx, and no transport errors, for any kind of token.
	for kind, ks := range rep.Kinds {
		assert.Positive(t, ks.Requests, "%s: no requests answered", kind)
		assert.Zero(t, ks.Errors, "%s: transport errors", kind)
		for status, n := range ks.Status {
			assert.Less(t, status, 500, "%s: %d answers with status %d", kind, n, status)
		}
	}
	// Invalid tokens are refused, every one of them, with 401.
	for _, kind := range []TokenKind{KindBadSignature, KindExpired, KindUnknownKid} {
		ks := rep.Kinds[kind]
		assert.Equal(t, ks.Requests, ks.Status[http.StatusUnauthorized], "%s: statuses %v", kind, ks.Status)
	}
	// Valid tokens get 200, or 401 while their new key cannot be fetched
	// yet (rate limit, JWKS failing) or after their key was retired.
	valid := rep.Kinds[KindValid]
	assert.Equal(t, valid.Requests, valid.Status[http.StatusOK]+valid.Status[http.StatusUnauthorized], "valid: statuses %v", valid.Status)
	assert.Greater(t, float64(valid.Status[http.StatusOK]), 0.5*float64(valid.Requests), "valid: most requests must succeed: %v", valid.Status)
	assert.Equal(t, http.StatusOK, rep.RecoveryStatus, "a fresh valid token once the JWKS is healthy again")

	// JWKS fetches within the rate limit, and rotations picked up.
	assert.LessOrEqual(t, rep.JWKSFetches, rep.FetchBound(), "JWKS fetches")
	assert.GreaterOrEqual(t, rep.JWKSFetches, rep.Rotations+1, "every rotation needs a refetch to be picked up")
	assert.Positive(t, rep.Verifier.JWKSRefetchesRateLimited, "the unknown-kid flood must hit the rate limit")

	// Goroutines and heap bounded.
	g := rep.GoroutineSamples
	require.GreaterOrEqual(t, len(g), 4, "goroutine samples")
	q := len(g) / 4
	assert.LessOrEqual(t, median(g[len(g)-q:])-median(g[:q]), soakGoroutineSpread, "goroutines grew during the run: %v", g)
	assert.LessOrEqual(t, rep.GoroutinesAfter, rep.GoroutinesBefore+soakGoroutineSlack, "goroutines after the run")
	assert.NotZero(t, rep.HeapBaseline)
	assert.LessOrEqual(t, rep.HeapGrowth(), int64(soakHeapGrowth), "heap growth (HeapInuse after GC)")
}

func median(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func logSoak(t *testing.T, r *SoakReport) {
	t.Helper()
	t.Logf("soak %v: refetch interval %v, %d rotations, faults %v", r.Elapsed.Round(time.Millisecond), r.Config.RefetchInterval, r.Rotations, r.FaultWindows)
	for _, k := range []TokenKind{KindValid, KindBadSignature, KindExpired, KindUnknownKid} {
		ks := r.Kinds[k]
		if ks == nil {
			continue
		}
		t.Logf("  %-14s %7d requests  statuses %v  errors %d  p99 %v", k, ks.Requests, ks.Status, ks.Errors, ks.P99().Round(time.Microsecond))
	}
	t.Logf("  JWKS fetches %d (bound %d = %v/%v + 3); verifier: fetches %d, failures %d, rate-limited refetches %d, cache hits %d, misses %d",
		r.JWKSFetches, r.FetchBound(), r.Elapsed.Round(time.Second), r.Config.RefetchInterval,
		r.Verifier.JWKSFetches, r.Verifier.JWKSFetchFailures, r.Verifier.JWKSRefetchesRateLimited, r.Verifier.CacheHits, r.Verifier.CacheMisses)
	t.Logf("  goroutines: before %d, during %v, after %d (bound before+%d)", r.GoroutinesBefore, r.GoroutineSamples, r.GoroutinesAfter, soakGoroutineSlack)
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	var hs []string
	for _, h := range r.HeapSamples {
		hs = append(hs, formatMiB(mib(h)))
	}
	t.Logf("  heap in use after GC: baseline %s MiB, during %v MiB, final %s MiB, growth %+.2f MiB (bound %d MiB)",
		formatMiB(mib(r.HeapBaseline)), hs, formatMiB(mib(r.HeapFinal)), float64(r.HeapGrowth())/(1<<20), soakHeapGrowth>>20)
}
