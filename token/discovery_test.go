package token_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

func TestDiscover(t *testing.T) {
	iss, _ := newIssuer(t)
	ctx := context.Background()
	md, err := token.DiscoverOpenID(ctx, iss.URL)
	require.NoError(t, err)
	require.Equal(t, iss.URL, md.Issuer)
	require.Equal(t, iss.JWKSURL(), md.JWKSURI)
	require.Equal(t, iss.IntrospectionURL(), md.IntrospectionEndpoint)
	require.Equal(t, iss.TokenURL(), md.TokenEndpoint)

	sc, err := token.DiscoverSMART(ctx, iss.URL)
	require.NoError(t, err)
	require.Equal(t, iss.TokenURL(), sc.TokenEndpoint)

	iss.FailDiscovery(http.StatusServiceUnavailable)
	_, err = token.DiscoverOpenID(ctx, iss.URL)
	require.ErrorIs(t, err, token.ErrIssuerUnavailable)
	_, err = token.DiscoverSMART(ctx, iss.URL)
	require.ErrorIs(t, err, token.ErrIssuerUnavailable)
	iss.FailDiscovery(http.StatusNotFound)
	_, err = token.DiscoverOpenID(ctx, iss.URL)
	require.ErrorIs(t, err, token.ErrDiscovery)
}

func TestDiscoverHostileDocuments(t *testing.T) {
	var doc string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" && r.URL.Path != "/fhir/.well-known/smart-configuration" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(strings.ReplaceAll(doc, "$URL", "http://"+r.Host)))
	}))
	defer srv.Close()
	ctx := context.Background()
	tests := []struct {
		name, doc string
		want      error
	}{
		{"ok", `{"issuer":"$URL","jwks_uri":"$URL/jwks"}`, nil},
		{"issuer mismatch", `{"issuer":"https://evil.example","jwks_uri":"$URL/jwks"}`, token.ErrDiscovery},
		{"issuer with trailing slash", `{"issuer":"$URL/","jwks_uri":"$URL/jwks"}`, token.ErrDiscovery},
		{"no jwks_uri", `{"issuer":"$URL"}`, token.ErrDiscovery},
		{"jwks_uri over plain http elsewhere", `{"issuer":"$URL","jwks_uri":"http://evil.example/jwks"}`, token.ErrDiscovery},
		{"jwks_uri relative", `{"issuer":"$URL","jwks_uri":"/jwks"}`, token.ErrDiscovery},
		{"introspection_endpoint javascript", `{"issuer":"$URL","jwks_uri":"$URL/jwks","introspection_endpoint":"javascript:alert(1)"}`, token.ErrDiscovery},
		{"not JSON", `<html>`, token.ErrDiscovery},
		{"huge", `{"issuer":"$URL","jwks_uri":"$URL/jwks","x":"` + strings.Repeat("a", 300<<10) + `"}`, token.ErrDiscovery},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc = tc.doc
			md, err := token.DiscoverOpenID(ctx, srv.URL)
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, srv.URL+"/jwks", md.JWKSURI)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}

	doc = `{"issuer":"$URL","jwks_uri":"$URL/jwks"}`
	_, err := token.DiscoverSMART(ctx, srv.URL+"/fhir")
	require.ErrorIs(t, err, token.ErrDiscovery, "token_endpoint is required")
	doc = `{"token_endpoint":"$URL/token","jwks_uri":"$URL/jwks","capabilities":["client-confidential-symmetric"]}`
	sc, err := token.DiscoverSMART(ctx, srv.URL+"/fhir/")
	require.NoError(t, err)
	require.Equal(t, []string{"client-confidential-symmetric"}, sc.Capabilities)

	_, err = token.DiscoverOpenID(ctx, "http://idp.example")
	require.ErrorIs(t, err, token.ErrConfig, "plain http issuer that is not loopback")
	_, err = token.DiscoverOpenID(ctx, "not a url")
	require.ErrorIs(t, err, token.ErrConfig)
}

func TestDiscoverSMARTHostileDocuments(t *testing.T) {
	var doc string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/fhir/.well-known/smart-configuration" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(strings.ReplaceAll(doc, "$URL", "http://"+r.Host)))
	}))
	defer srv.Close()
	for name, d := range map[string]string{
		"relative token_endpoint":         `{"token_endpoint":"/token"}`,
		"javascript token_endpoint":       `{"token_endpoint":"javascript:alert(1)"}`,
		"token_endpoint with credentials": `{"token_endpoint":"https://u:p@as.example/token"}`,
		"token_endpoint plain http":       `{"token_endpoint":"http://as.example/token"}`,
		"registration_endpoint relative":  `{"token_endpoint":"$URL/token","registration_endpoint":"/register"}`,
		"not an object":                   `["token_endpoint"]`,
	} {
		t.Run(name, func(t *testing.T) {
			doc = d
			_, err := token.DiscoverSMART(context.Background(), srv.URL+"/fhir")
			require.ErrorIs(t, err, token.ErrDiscovery)
		})
	}
}

func TestDiscoverRefusesDowngrade(t *testing.T) {
	// An https base whose document points to plain-http endpoints: refused
	// even where WithInsecureHTTP allows plain http.
	var doc string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.ReplaceAll(doc, "$URL", "https://"+r.Host)))
	}))
	defer srv.Close()
	ctx := context.Background()
	opts := []token.DiscoveryOption{token.WithHTTPClient(srv.Client()), token.WithInsecureHTTP()}

	doc = `{"token_endpoint":"http://as.example/token"}`
	_, err := token.DiscoverSMART(ctx, srv.URL, opts...)
	require.ErrorIs(t, err, token.ErrDiscovery)
	require.Contains(t, err.Error(), "downgrades")

	doc = `{"issuer":"$URL","jwks_uri":"http://` + strings.TrimPrefix(srv.URL, "https://") + `/jwks"}`
	_, err = token.DiscoverOpenID(ctx, srv.URL, opts...)
	require.ErrorIs(t, err, token.ErrDiscovery)
	require.Contains(t, err.Error(), "downgrades")

	doc = `{"issuer":"$URL","jwks_uri":"$URL/jwks"}`
	md, err := token.DiscoverOpenID(ctx, srv.URL, opts...)
	require.NoError(t, err)
	require.Equal(t, srv.URL+"/jwks", md.JWKSURI)
}
