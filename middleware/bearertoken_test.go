package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// recordingAuth is an Authenticator of no package of ours (as a
// handler's own would be): it records the token the middleware hands it.
type recordingAuth struct{ raw *string }

func (a recordingAuth) Authenticate(_ context.Context, raw string) (*token.Principal, error) {
	*a.raw = raw
	set, err := scope.ParseSet("system/*.rs")
	return &token.Principal{Subject: "s", Scopes: set}, err
}

// BearerToken takes a token from exactly the Authorization headers a
// Middleware with default options authenticates, and the same token: a
// handler beside the middleware that decides by who called can then not
// be gone around with a header only one of them reads.
func FuzzBearerTokenMatchesMiddleware(f *testing.F) {
	tok := strings.Repeat("aB3-._~+/", 4) + "=="
	for _, v := range []string{
		"Bearer " + tok, "bearer  " + tok, "BEARER    " + tok, "Bearer\t" + tok, "Bearer " + tok + " ",
		"Bearer " + tok + "," + tok, "Bearer", "Bearer ", "Bearer =", "Bearer a=b", "Basic " + tok, "Bearer" + tok,
		" Bearer " + tok, "Bearer \x00" + tok, "Bearer " + strings.Repeat("a", token.DefaultMaxTokenSize),
		"Bearer " + strings.Repeat("a", token.DefaultMaxTokenSize+1), "Bearer  " + strings.Repeat("a", token.DefaultMaxTokenSize),
	} {
		f.Add(v, false)
	}
	f.Add("Bearer "+tok, true)
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(f, err)
	var got string
	mw, err := middleware.New(recordingAuth{&got}, policy)
	require.NoError(f, err)
	h := mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Fuzz(func(t *testing.T, v string, twice bool) {
		req := httptest.NewRequest(http.MethodGet, "/fhir/Patient/p1", nil)
		req.Header["Authorization"] = []string{v}
		if twice {
			req.Header["Authorization"] = []string{v, v}
		}
		got = ""
		h.ServeHTTP(httptest.NewRecorder(), req)
		raw, ok := middleware.BearerToken(req.Header)
		require.Equal(t, got != "", ok, "BearerToken %v (%q), the middleware authenticated %q", ok, raw, got)
		require.Equal(t, got, raw)
	})
}
