package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/middleware"
)

// TestAllocationBudget holds the middleware to what it allocates per
// request, with the token in the verified-token cache, beyond what the
// wrapped handler allocates itself (the handlers of BenchmarkMiddleware).
// Allocation counts and bytes do not depend on the machine, so a change
// that adds to the hot path fails here and not only in a noisy benchmark.
// The budgets are ceilings with room for a change of Go version (two
// allocations and half the bytes over today's counts), not exact counts:
//
//   - a search (9 allocations, 1536 bytes): the request state, the context
//     and request handed on, the Request with its Reaches and query (map,
//     group, values), the Decision;
//   - a patient search naming its own patient (13, 1968): also the
//     narrowing map, its group, value and "Patient/<id>"; the query is
//     passed on as sent;
//   - a patient search the middleware rewrites (22, 2376): also the
//     rewritten URL, the copied query, the encoded query string and the
//     RequestURI;
//   - a checked read (7, 1184): the request state, the context and
//     request handed on, the Request and its Reaches, the Decision, and
//     the response buffer.
func TestAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	iss, ver, policy := hotPathSetup(t)
	mw, err := middleware.New(ver, policy, middleware.WithLogger(slog.New(slog.DiscardHandler)),
		middleware.WithAudit(func(context.Context, middleware.AuditRecord) {}))
	require.NoError(t, err)
	userTok := iss.Mint(map[string]any{"sub": "u1", "client_id": "c1", "scope": "user/Observation.rs user/Patient.rs"})
	patientTok := iss.Mint(map[string]any{"sub": "u1", "client_id": "c1", "scope": "launch/patient patient/*.rs", "patient": "123"})

	for _, c := range []struct {
		name, tok, target string
		inner             http.Handler
		allocs            float64
		bytes             uint64
	}{
		{"user search", userTok, "/fhir/Observation?patient=123&_count=50", http.HandlerFunc(benchInner), 9, 1536},
		{"patient search, own patient", patientTok, "/fhir/Observation?patient=123&_count=50", http.HandlerFunc(benchInner), 13, 1968},
		{"patient search, rewritten", patientTok, "/fhir/Observation?code=8867-4&_count=50", http.HandlerFunc(benchInner), 22, 2376},
		{"patient read, checked", patientTok, "/fhir/Observation/obs-1", fixedInner(readResult), 7, 1184},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodGet, "http://fhir.example"+c.target, nil)
			require.NoError(t, err)
			r.Header.Set("Authorization", "Bearer "+c.tok)
			wrapped := mw.Wrap(c.inner)
			w := &discardWriter{h: http.Header{}}
			wrapped.ServeHTTP(w, r) // the token into the cache
			require.Equal(t, http.StatusOK, w.status)
			serve := func(h http.Handler) func() {
				return func() {
					clear(w.h)
					w.status = 0
					h.ServeHTTP(w, r)
					if w.status != http.StatusOK {
						t.Fatalf("status %d", w.status)
					}
				}
			}
			allocs := testing.AllocsPerRun(200, serve(wrapped)) - testing.AllocsPerRun(200, serve(c.inner))
			bytes := bytesPerRun(200, serve(wrapped)) - bytesPerRun(200, serve(c.inner))
			t.Logf("middleware: %.0f allocations, %d bytes per request", allocs, bytes)
			assert.LessOrEqual(t, allocs, c.allocs+2, "allocations per request")
			assert.LessOrEqual(t, bytes, c.bytes*3/2, "bytes allocated per request")
		})
	}
}

// bytesPerRun is testing.AllocsPerRun for bytes: the heap bytes allocated
// per call of f, averaged over runs after one warm-up call. The counter is
// the whole process's, so goroutines left behind by other tests of the
// package can add to a window; they only ever add, so the least of five
// windows is taken.
func bytesPerRun(runs int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	least := ^uint64(0)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			f()
		}
		runtime.ReadMemStats(&after)
		least = min(least, (after.TotalAlloc-before.TotalAlloc)/uint64(runs))
	}
	return least
}
