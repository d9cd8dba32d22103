package token_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// redirectFixture is a server on one loopback origin that redirects, and
// another origin that counts the requests reaching it.
type redirectFixture struct {
	front, other *httptest.Server
	otherHits    atomic.Int32
}

// newRedirectFixture serves on front: /fhir/.well-known/smart-configuration
// (a document), /same/... redirected to /fhir/... on front, and
// /foreign/... redirected to /fhir/... on the other origin, which serves
// the same document.
func newRedirectFixture(t *testing.T) *redirectFixture {
	f := &redirectFixture{}
	doc := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token_endpoint":"http://` + r.Host + `/token"}`))
	}
	f.other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.otherHits.Add(1)
		doc(w, r)
	}))
	t.Cleanup(f.other.Close)
	f.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fhir/.well-known/smart-configuration":
			doc(w, r)
		case "/same/.well-known/smart-configuration":
			http.Redirect(w, r, "/fhir/.well-known/smart-configuration", http.StatusFound)
		case "/foreign/.well-known/smart-configuration", "/jwks":
			http.Redirect(w, r, f.other.URL+"/fhir/.well-known/smart-configuration", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.front.Close)
	return f
}

// The default HTTP client follows a discovery redirect on the origin
// asked, and refuses one to another origin (here the same host on another
// port) before sending anything there.
func TestDefaultClientRedirectsStayOnOrigin(t *testing.T) {
	f := newRedirectFixture(t)
	ctx := context.Background()

	sc, err := token.DiscoverSMART(ctx, f.front.URL+"/same")
	require.NoError(t, err)
	require.Equal(t, f.front.URL+"/token", sc.TokenEndpoint)

	_, err = token.DiscoverSMART(ctx, f.front.URL+"/foreign")
	require.ErrorIs(t, err, token.ErrDiscovery)
	require.NotErrorIs(t, err, token.ErrIssuerUnavailable)
	require.Contains(t, err.Error(), "another origin")
	require.Zero(t, f.otherHits.Load())

	// A JWKS redirected to another origin is not fetched either.
	v, err := token.NewVerifier(ctx, token.Config{Issuer: f.front.URL, Audience: "aud", JWKSURL: f.front.URL + "/jwks"},
		token.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer v.Close()
	require.Contains(t, v.Stats().JWKSLastError, "another origin")
	require.Zero(t, f.otherHits.Load())
}

// A caller's own client keeps its own redirect policy.
func TestCallerClientKeepsItsRedirectPolicy(t *testing.T) {
	f := newRedirectFixture(t)
	sc, err := token.DiscoverSMART(context.Background(), f.front.URL+"/foreign", token.WithHTTPClient(&http.Client{}))
	require.NoError(t, err)
	require.Equal(t, f.other.URL+"/token", sc.TokenEndpoint)
	require.EqualValues(t, 1, f.otherHits.Load())
}
