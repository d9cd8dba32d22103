package credential_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/credential"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// FuzzCredentialMatchesMiddleware: whatever the spelling of the
// Authorization header around a token, the number of DPoP headers and
// whether the token is bound, the Checker admits a request exactly when
// the middleware, configured with the same DPoPConfig, does. Each side
// gets a proof of its own (they share the replay cache).
func FuzzCredentialMatchesMiddleware(f *testing.F) {
	for _, scheme := range []string{"DPoP ", "dpop  ", "DPOP\t", "Bearer ", "bearer ", "DPoP", " DPoP ", "DPoP,", "Basic "} {
		for proofs := range 3 {
			f.Add(scheme, "", uint8(proofs), true)
			f.Add(scheme, "", uint8(proofs), false)
		}
	}
	f.Add("DPoP ", " ", uint8(1), true)
	f.Add("DPoP ", "=", uint8(1), true)
	f.Add("DPoP ", ", x", uint8(1), true)

	iss, ver := verifier(f)
	key, err := client.GenerateDPoPKey()
	require.NoError(f, err)
	bound := iss.Mint(map[string]any{"scope": "system/*.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	plain := iss.Mint(map[string]any{"scope": "system/*.rs"})
	cfg := middleware.DPoPConfig{DPoPConfig: token.DPoPConfig{Replay: token.NewMemoryReplayCache(1 << 20)}, ExternalURL: origin}
	c, err := credential.New(ver, &cfg)
	require.NoError(f, err)
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(f, err)
	mw, err := middleware.New(ver, policy, middleware.WithDPoP(cfg), middleware.WithLogger(discard()))
	require.NoError(f, err)
	var reached bool
	h := mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))

	f.Fuzz(func(t *testing.T, prefix, suffix string, proofs uint8, isBound bool) {
		tok := plain
		if isBound {
			tok = bound
		}
		request := func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/fhir/Patient/p1", nil)
			r.Header["Authorization"] = []string{prefix + tok + suffix}
			for range proofs % 3 {
				p, err := key.Proof(http.MethodGet, origin+"/fhir/Patient/p1", tok, "")
				require.NoError(t, err)
				r.Header.Add("DPoP", p)
			}
			return r
		}
		reached = false
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request())
		pr, refused := c.Authenticate(request())
		require.Equal(t, reached, refused == nil, "middleware %d %s; checker %+v", w.Code, strings.TrimSpace(w.Body.String()), refused)
		require.Equal(t, reached, pr != nil)
	})
}
