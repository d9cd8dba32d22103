package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
)

// foreignOrigin stands for another origin a token endpoint redirects to:
// it counts what reaches it and would issue a token.
type foreignOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	hits int
}

func newForeignOrigin(t *testing.T) *foreignOrigin {
	f := &foreignOrigin{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		f.mu.Lock()
		f.hits++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"x","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *foreignOrigin) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// redirectingEndpoint answers every request with a 307 to target.
func redirectingEndpoint(t *testing.T, tls bool, target string) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	})
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// A token endpoint redirecting elsewhere gets no token from it and leaks
// nothing: with the Basic header, the form-body secret, a DPoP proof, an
// https -> http downgrade, and with the default or a caller's client.
func TestTokenRequestsDoNotFollowRedirects(t *testing.T) {
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	cases := []struct {
		name string
		tls  bool
		host string // replaces 127.0.0.1 in the target: another host name
		opts []client.TokenOption
	}{
		{name: "basic, other port"},
		{name: "post body, other host", host: "localhost", opts: []client.TokenOption{client.WithClientAuth(client.ClientSecretPost)}},
		{name: "https to http", tls: true},
		{name: "dpop", opts: []client.TokenOption{client.WithDPoP(key)}},
		{name: "caller's client", opts: []client.TokenOption{client.WithTokenHTTPClient(&http.Client{})}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			foreign := newForeignOrigin(t)
			target := foreign.URL + "/steal"
			if tc.host != "" {
				target = strings.Replace(target, "127.0.0.1", tc.host, 1)
			}
			as := redirectingEndpoint(t, tc.tls, target)
			opts := tc.opts
			if tc.tls {
				opts = append(opts, client.WithTokenHTTPClient(as.Client()))
			}
			ts, err := client.ClientCredentials(as.URL+"/token", "app", "s3cret", opts...)
			require.NoError(t, err)
			_, err = ts.TokenContext(context.Background())
			require.ErrorIs(t, err, client.ErrUnexpectedResponse)
			require.ErrorContains(t, err, "do not follow redirects")
			require.Zero(t, foreign.Hits(), "the redirect target was reached")
		})
	}
}

// The caller's client given to WithTokenHTTPClient is not modified.
func TestTokenHTTPClientNotModified(t *testing.T) {
	hc := &http.Client{}
	_, err := client.ClientCredentials("https://as.example/token", "app", "s", client.WithTokenHTTPClient(hc))
	require.NoError(t, err)
	require.Nil(t, hc.CheckRedirect)
}

// A Backend Services client assertion does not follow a redirect either:
// nothing reaches the other origin, so nothing can be redeemed there.
func TestBackendServicesAssertionDoesNotFollowRedirect(t *testing.T) {
	priv, jwks := assertionKey(t)

	foreign := newForeignOrigin(t)
	var as *authserver.Server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == authserver.TokenPath {
			http.Redirect(w, r, foreign.URL+"/collect", http.StatusTemporaryRedirect)
			return
		}
		as.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	var err error
	as, err = authserver.New(authserver.Config{Issuer: srv.URL, Audience: "http://127.0.0.1/fhir",
		Clients: []authserver.Client{{ID: "bulk", Scope: "system/*.rs", JWKS: jwks}}})
	require.NoError(t, err)

	for _, hc := range []*http.Client{nil, {}} {
		opts := []client.TokenOption{client.WithScopes("system/Patient.rs")}
		if hc != nil {
			opts = append(opts, client.WithTokenHTTPClient(hc))
		}
		ts, err := client.BackendServices(as.TokenURL(), "bulk", priv, opts...)
		require.NoError(t, err)
		_, err = ts.TokenContext(context.Background())
		require.ErrorIs(t, err, client.ErrUnexpectedResponse)
		require.Zero(t, foreign.Hits(), "the client assertion reached the redirect target")
	}
}
