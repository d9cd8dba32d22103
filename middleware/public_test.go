package middleware

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/token"
)

type refusingAuth struct{}

func (refusingAuth) Authenticate(context.Context, string) (*token.Principal, error) {
	return nil, token.ErrMalformed
}

// isPublic skips endpoints by their unescaped path before it escapes the
// request's; that must decide exactly as comparing escaped paths does.
func TestIsPublicMatchesEscapedPathComparison(t *testing.T) {
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	m, err := New(refusingAuth{}, policy,
		WithPublicEndpoint(http.MethodGet, "/fhir/a%2Fb"),
		WithPublicEndpoint(http.MethodGet, "/fhir/caf%C3%A9"),
		WithPublicEndpoint(http.MethodPost, "/fhir/$open"),
		WithPublicEndpoint(http.MethodGet, "/fhir/%zz"))
	require.NoError(t, err)
	reference := func(r *http.Request) bool {
		if r.URL.Opaque != "" {
			return false
		}
		path := r.URL.EscapedPath()
		for _, e := range m.cfg.public {
			if e.path == path && e.method == r.Method {
				return !e.restricted || onlyParams(r.URL.RawQuery, e.params)
			}
		}
		return false
	}
	targets := []string{
		"/fhir/metadata", "/fhir/metadata?_format=json", "/fhir/metadata?_getpages=x", "/fhir/%6detadata", "/fhir/./metadata",
		"/fhir//metadata", "/fhir/metadata/", "/fhir/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration?x=1",
		"/fhir/a%2Fb", "/fhir/a/b", "/fhir/a%2fb", "/fhir/caf%C3%A9", "/fhir/café", "/fhir/caf%c3%a9", "/fhir/$open", "/fhir/%24open",
		"/fhir/%zz", "/fhir/%25zz", "/fhir/Patient", "*", "/",
	}
	for _, target := range targets {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
			u, err := url.ParseRequestURI(target)
			if err != nil {
				continue
			}
			r := &http.Request{Method: method, URL: u, RequestURI: target}
			assert.Equal(t, reference(r), m.isPublic(r), "%s %s", method, target)
		}
	}
	assert.True(t, m.isPublic(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/fhir/a/b", RawPath: "/fhir/a%2Fb"}}))
}
