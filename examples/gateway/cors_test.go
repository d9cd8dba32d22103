package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

const appOrigin = "https://app.example"

// corsUpstream answers with CORS headers of its own, as a HAPI with its
// CORS interceptor does: any origin, with credentials.
func corsUpstream(seen *seenUpstream) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return seen.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin")+"-upstream")
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("access-control-expose-headers", "X-Secret")
			next.ServeHTTP(w, r)
		}))
	}
}

// corsRequest sends method path with the Origin headers given (none when
// origins is empty) and, for a preflight, Access-Control-Request-*.
func (g *gw) corsRequest(t *testing.T, method, path, tok string, preflight bool, origins ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, g.url+"/"+path, nil)
	require.NoError(t, err)
	for _, o := range origins {
		req.Header.Add("Origin", o)
	}
	if preflight {
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func assertNoCORS(t *testing.T, res *http.Response) {
	t.Helper()
	for k := range res.Header {
		assert.False(t, strings.HasPrefix(k, "Access-Control-"), "%s: %v", k, res.Header[k])
	}
}

func seenCount(s *seenUpstream) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// A browser app on an allowed origin gets its preflight answered by the
// gateway (no token, the upstream not asked) and can read every answer,
// refusals included; the upstream's own CORS headers never pass.
func TestGatewayCORS(t *testing.T) {
	var seen seenUpstream
	g := startGatewayWith(t, corsUpstream(&seen), "-cors-origin", appOrigin, "-cors-origin", "http://localhost:3000")
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for _, origin := range []string{appOrigin, "http://localhost:3000"} {
		before := seenCount(&seen)
		res := g.corsRequest(t, http.MethodOptions, "Patient/p1", "", true, origin)
		assert.Equal(t, http.StatusNoContent, res.StatusCode)
		assert.Equal(t, []string{origin}, res.Header["Access-Control-Allow-Origin"])
		assert.Equal(t, corsMethods, res.Header.Get("Access-Control-Allow-Methods"))
		allowHeaders := res.Header.Get("Access-Control-Allow-Headers")
		for _, h := range []string{"Authorization", "Content-Type", "If-Match", "If-None-Exist", "Prefer"} {
			assert.Contains(t, allowHeaders, h)
		}
		assert.NotContains(t, allowHeaders, "Dpop")
		assert.Equal(t, "600", res.Header.Get("Access-Control-Max-Age"))
		assert.Empty(t, res.Header.Values("Access-Control-Allow-Credentials"))
		assert.Equal(t, before, seenCount(&seen), "a preflight does not reach the upstream")
	}
	for name, c := range map[string]struct {
		path, tok string
		status    int
	}{
		"allowed read": {"Patient/p1", tok, 200},
		"no token":     {"Patient/p1", "", 401},
		"refused":      {"Practitioner?name=x", g.token("patient/Observation.rs", naivefhir.Alice), 403},
		"other's":      {"Patient/p2", tok, 404},
	} {
		t.Run(name, func(t *testing.T) {
			res := g.corsRequest(t, http.MethodGet, c.path, c.tok, false, appOrigin)
			require.Equal(t, c.status, res.StatusCode)
			assert.Equal(t, []string{appOrigin}, res.Header["Access-Control-Allow-Origin"])
			assert.Contains(t, res.Header.Values("Vary"), "Origin")
			exposed := res.Header.Values("Access-Control-Expose-Headers")
			require.Len(t, exposed, 1)
			for _, h := range []string{"Location", "Content-Location", "ETag", "Last-Modified", "WWW-Authenticate", "X-Request-Id"} {
				assert.Contains(t, exposed[0], h)
			}
			assert.NotContains(t, exposed[0], "X-Secret")
			assert.Empty(t, res.Header.Values("Access-Control-Allow-Credentials"))
		})
	}
}

// With DPoP, a browser app sends the DPoP header and must read
// DPoP-Nonce: the preflight allows the one, every answer exposes the
// other.
func TestGatewayCORSWithDPoP(t *testing.T) {
	var seen seenUpstream
	g := startDPoPGateway(t, corsUpstream(&seen), "-cors-origin", appOrigin)
	before := seenCount(&seen)
	res := g.corsRequest(t, http.MethodOptions, "Patient/p1", "", true, appOrigin)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Contains(t, strings.Split(res.Header.Get("Access-Control-Allow-Headers"), ", "), "DPoP")
	res = g.corsRequest(t, http.MethodGet, "Patient/p1", "", false, appOrigin)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Contains(t, strings.Split(res.Header.Get("Access-Control-Expose-Headers"), ", "), "DPoP-Nonce")
	assert.Equal(t, before, seenCount(&seen), "neither reaches the upstream")
}

// Origins that are not exactly an allowed one, and requests with more
// than one Origin, get no CORS headers, and their preflights are
// refused without reaching the upstream.
func TestGatewayAttackCORSOrigins(t *testing.T) {
	var seen seenUpstream
	g := startGatewayWith(t, corsUpstream(&seen), "-cors-origin", appOrigin)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for name, origins := range map[string][]string{
		"null":            {"null"},
		"upper case":      {"HTTPS://APP.EXAMPLE"},
		"host upper case": {"https://App.example"},
		"suffix":          {"https://app.example.evil.example"},
		"prefix":          {"https://evil-app.example"},
		"shorter":         {"https://app.exampl"},
		"port":            {"https://app.example:8443"},
		"default port":    {"https://app.example:443"},
		"http":            {"http://app.example"},
		"trailing slash":  {"https://app.example/"},
		"path":            {"https://app.example/x"},
		"userinfo":        {"https://evil@app.example"},
		"empty":           {""},
		"two, one bad":    {appOrigin, "https://evil.example"},
		"two, both good":  {appOrigin, appOrigin},
		"none":            nil,
	} {
		t.Run(name, func(t *testing.T) {
			before := seenCount(&seen)
			res := g.corsRequest(t, http.MethodOptions, "Patient/p1", "", true, origins...)
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
			assertNoCORS(t, res)
			res = g.corsRequest(t, http.MethodOptions, "Patient/p1", tok, true, origins...)
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
			assertNoCORS(t, res)
			assert.Equal(t, before, seenCount(&seen), "a preflight does not reach the upstream")
			res = g.corsRequest(t, http.MethodGet, "Patient/p1", tok, false, origins...)
			assert.Equal(t, 200, res.StatusCode)
			assertNoCORS(t, res)
		})
	}
}

// "*" lets any single origin read the answers, never with credentials;
// without -cors-origin no CORS header is sent, the upstream's neither.
func TestGatewayCORSAnyOrNone(t *testing.T) {
	var seen seenUpstream
	g := startGatewayWith(t, corsUpstream(&seen), "-cors-origin", "*")
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for _, origin := range []string{appOrigin, "null", "https://other.example"} {
		res := g.corsRequest(t, http.MethodOptions, "Patient/p1", "", true, origin)
		assert.Equal(t, http.StatusNoContent, res.StatusCode)
		assert.Equal(t, []string{"*"}, res.Header["Access-Control-Allow-Origin"])
		res = g.corsRequest(t, http.MethodGet, "Patient/p1", tok, false, origin)
		assert.Equal(t, []string{"*"}, res.Header["Access-Control-Allow-Origin"])
		assert.Empty(t, res.Header.Values("Access-Control-Allow-Credentials"))
	}

	g = startGatewayWith(t, corsUpstream(&seen))
	tok = g.token("patient/*.rs", naivefhir.Alice)
	res := g.corsRequest(t, http.MethodGet, "Patient/p1", tok, false, appOrigin)
	assert.Equal(t, 200, res.StatusCode)
	assertNoCORS(t, res)
}

// An allowed origin must be one a browser sends; others fail start-up.
func TestCORSOriginForbidden(t *testing.T) {
	for _, o := range []string{"null", "", "app.example", "https://app.example/", "HTTPS://app.example", "https://App.example",
		"https://app.example:443", "http://app.example:80", "https://*.example", "https://app.example/fhir", "https://u@app.example",
		"ftp://app.example", "https://app.example?x", "https://app.example#x"} {
		t.Run(o, func(t *testing.T) {
			err := run(context.Background(), []string{"-upstream", "http://h/fhir", "-issuer", "https://idp.example",
				"-audience", "x", "-cors-origin", o}, io.Discard, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "-cors-origin")
		})
	}
	p := writeConfig(t, goodConfig+"cors_origins:\n  - https://app.example\n  - \"null\"\n")
	err := run(context.Background(), []string{"-check-config", p}, io.Discard, io.Discard)
	var ce *configError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, strings.Count(goodConfig, "\n")+3, ce.line, "the line of null")
}
