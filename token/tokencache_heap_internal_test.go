package token

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// typicalSMARTClaims are the claims of a typical SMART access token: a
// dozen members (tokentest adds iss, aud, iat, exp and jti), ten scopes.
func typicalSMARTClaims(i int) map[string]any {
	return map[string]any{
		"sub":       fmt.Sprintf("f3b2c1d0-1234-4abc-9def-%012d", i),
		"client_id": "growth-chart-app",
		"scope": "launch/patient openid fhirUser offline_access patient/Patient.r patient/Observation.rs " +
			"patient/Condition.rs patient/MedicationRequest.rs patient/AllergyIntolerance.rs user/Practitioner.r",
		"patient": fmt.Sprintf("%d", 100000+i), "encounter": fmt.Sprintf("enc-%d", 4560+i), "fhirUser": "Practitioner/789",
		"nbf": nil,
	}
}

// cacheHeapPerEntry verifies n tokens minted by mint into a fresh
// Verifier's cache and returns the heap growth per cached token and
// entrySize's estimate per token, both in bytes, and the tokens' length.
func cacheHeapPerEntry(tb testing.TB, iss *tokentest.Issuer, n int, mint func(map[string]any) string) (heap, estimate float64, tokenLen int) {
	tb.Helper()
	set, err := jwk.Parse(iss.JWKS())
	require.NoError(tb, err)
	v, err := NewVerifier(context.Background(), Config{Issuer: iss.Issuer(), Audience: iss.Audience(), Keys: set})
	require.NoError(tb, err)
	defer v.Close()
	// The tokens wait in one buffer, there before and after the
	// measurement: each verification copies its token into a string of its
	// own, as an HTTP server does, and only the cache keeps that string.
	var buf []byte
	ends := make([]int, n)
	for i := range n {
		buf = append(buf, mint(typicalSMARTClaims(i))...)
		ends[i] = len(buf)
	}
	warm := mint(typicalSMARTClaims(n)) // loads the scope memo
	_, err = v.Authenticate(context.Background(), warm)
	require.NoError(tb, err)
	v.cache.remove(warm)

	before := heapInUse()
	start := 0
	for _, end := range ends {
		if _, err := v.Authenticate(context.Background(), string(buf[start:end])); err != nil {
			tb.Fatal(err)
		}
		start = end
	}
	after := heapInUse()
	require.Equal(tb, n, v.cache.len())
	runtime.KeepAlive(buf)
	return float64(after-before) / float64(n), float64(v.cache.bytes()) / float64(n), ends[0]
}

func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestTokenCacheEntrySizeMatchesHeap checks entrySize, which bounds the
// cache (WithTokenCacheBytes), against what cached tokens really hold on
// the heap, for typical RS256 and ES256 SMART access tokens.
func TestTokenCacheEntrySizeMatchesHeap(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	for _, tc := range []struct {
		alg  string
		n    int
		mint func(map[string]any) string
	}{
		{"RS256", 300, iss.Mint},
		{"ES256", 1000, iss.MintES256},
	} {
		heap, estimate, size := cacheHeapPerEntry(t, iss, tc.n, tc.mint)
		t.Logf("%s token of %d bytes: %.0f bytes per entry on the heap, %.0f estimated; %d tokens in DefaultCacheBytes",
			tc.alg, size, heap, estimate, int(DefaultCacheBytes/heap))
		require.InDelta(t, heap, estimate, 0.15*heap, "%s: entrySize within 15%% of the heap", tc.alg)
	}
}
