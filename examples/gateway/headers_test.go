package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// hostileHeaders are request headers the policy does not read that would
// change what an upstream does: tenant and partition selectors, HAPI's
// X-Provenance, vendor switches, in other letter cases and
// spellings, empty and repeated.
const hostileHeaders = "X-FHIR-TENANT-ID: other\r\nx-fhir-tenant-id: other2\r\nX-FHIR-DSID: profile\r\n" +
	"X-Provenance: {\"resourceType\":\"Provenance\",\"agent\":[{\"who\":{\"reference\":\"Practitioner/x\"}}]}\r\n" +
	"X-Upsert-Existence-Check: disabled\r\nX-Request-Tenant: t2\r\nX-Tenant-Id:\r\n" +
	"X_FHIR_TENANT_ID: other3\r\nX-Partition: a\r\nX-Partition: b\r\nCookie: s=1\r\nOrigin: https://evil.example\r\n" +
	"Range: bytes=0-10\r\nX-Real-IP: 10.0.0.9\r\n"

// allowedHeaders are forwarded as they are.
var allowedHeaders = map[string]string{
	"Accept-Language": "de", "If-None-Match": `W/"9"`, "Prefer": "handling=lenient",
	"X-Request-Id": "rq-1", "Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	"Tracestate": "v=1", "User-Agent": "client-js", "X-Correlation-Id": "c-1",
}

func allowedRaw() string {
	var b strings.Builder
	for k, v := range allowedHeaders {
		b.WriteString(k + ": " + v + "\r\n")
	}
	return b.String()
}

// assertFiltered checks that no request the upstream saw carries a header
// outside the forwarded ones, in any spelling, and that the allowed ones
// arrived (on requests the client sent, not the gateway's own reads).
func assertFiltered(t *testing.T, seen *seenUpstream, from int, extra ...string) {
	t.Helper()
	seen.mu.Lock()
	defer seen.mu.Unlock()
	require.Greater(t, len(seen.reqs), from)
	allow := map[string]bool{"Accept-Encoding": true} // the transport's own gzip
	for _, h := range append(append([]string{}, forwardedHeaders...), "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto") {
		allow[h] = true
	}
	for _, h := range extra {
		allow[http.CanonicalHeaderKey(h)] = true
	}
	carried := 0
	for _, r := range seen.reqs[from:] {
		for k := range r.header {
			assert.True(t, allow[http.CanonicalHeaderKey(k)], "%s %q reached the upstream", r.method, k)
		}
		if r.header.Get("X-Request-Id") != "" {
			carried++
			for k, v := range allowedHeaders {
				if k == "If-None-Match" && r.method == http.MethodPost {
					continue // the middleware drops it from a Bundle
				}
				assert.Equal(t, v, r.header.Get(k), k)
			}
		}
	}
	assert.Positive(t, carried, "no request carried the allowed headers")
}

// Headers the policy never read do not reach the upstream: reads,
// searches, writes, Bundles, and export kick-offs, polls and files.
func TestGatewayAttackUpstreamHeaders(t *testing.T) {
	var seen seenUpstream
	b := &bulkUpstream{polls: map[string]int{}}
	g := startGatewayWith(t, func(next http.Handler) http.Handler { return seen.wrap(b.wrap(next)) })
	tok := g.token("patient/*.cruds", naivefhir.Alice)
	sys := g.token("system/*.rs", "")
	send := func(t *testing.T, method, target, tok, body string) *http.Response {
		t.Helper()
		req := method + " " + target + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer " + tok + "\r\n" + hostileHeaders + allowedRaw()
		if method == http.MethodGet {
			req += "X-Cascade: delete\r\n" // refused by the policy on writes
		}
		if body != "" {
			req += "Content-Type: application/fhir+json\r\nContent-Length: " + itoa(len(body)) + "\r\n"
		}
		res, got := g.raw(t, req+"\r\n"+body)
		require.Less(t, res.StatusCode, 300, "%s %s: %s", method, target, got)
		return res
	}
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/obs-p1-lab"}},` +
		`{"request":{"method":"GET","url":"Observation?code=8867-4"}}]}`
	txn := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Observation"},` +
		`"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}]}`
	own := `{"resourceType":"Observation","id":"obs-p1-lab","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	for _, c := range []struct{ name, method, target, tok, body string }{
		{"read", "GET", "/fhir/Patient/p1", tok, ""},
		{"search", "GET", "/fhir/Observation?code=8867-4", tok, ""},
		{"update", "PUT", "/fhir/Observation/obs-p1-lab", tok, own},
		{"batch", "POST", "/fhir/", tok, batch},
		{"transaction", "POST", "/fhir", tok, txn},
		{"export kick-off", "GET", "/fhir/Patient/$export", sys, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			from := len(seen.reqs)
			send(t, c.method, c.target, c.tok, c.body)
			assertFiltered(t, &seen, from)
		})
	}
	t.Run("export job routes", func(t *testing.T) {
		status := startExport(t, g, sys)
		u, err := url.Parse(status)
		require.NoError(t, err)
		for range 2 { // 202, then the manifest
			from := len(seen.reqs)
			send(t, "GET", u.RequestURI(), sys, "")
			assertFiltered(t, &seen, from)
		}
		from := len(seen.reqs)
		send(t, "GET", "/fhir/bulkfiles/j2-Patient.ndjson", sys, "")
		assertFiltered(t, &seen, from)
		from = len(seen.reqs)
		send(t, "DELETE", u.RequestURI(), sys, "")
		assertFiltered(t, &seen, from)
	})
}

// An operator forwards a header by name, from a flag or the file, in any
// letter case; the others stay dropped.
func TestGatewayForwardHeader(t *testing.T) {
	var seen seenUpstream
	g := startGatewayWith(t, seen.wrap, "-forward-header", "x-fhir-tenant-id")
	tok := g.token("patient/*.rs", naivefhir.Alice)
	res, body := g.raw(t, "GET /fhir/Patient/p1 HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer "+tok+"\r\n"+hostileHeaders+allowedRaw()+"\r\n")
	require.Equal(t, 200, res.StatusCode, "%s", body)
	assertFiltered(t, &seen, 0, "X-FHIR-TENANT-ID")
	assert.Equal(t, []string{"other", "other2"}, seen.last(t).header["X-Fhir-Tenant-Id"])

	var out bytes.Buffer
	p := writeConfig(t, goodConfig+"forward_headers: [X-Tenant, x-tenant]\n")
	require.NoError(t, run(context.Background(), []string{"-check-config", p}, &out, io.Discard))
	assert.Contains(t, out.String(), ", Tracestate, User-Agent, X-Tenant\n")
}

// A header the gateway controls cannot be forwarded: start-up fails.
func TestForwardHeaderForbidden(t *testing.T) {
	for _, name := range []string{"Authorization", "authorization", "DPoP", "Host", "Connection", "Upgrade", "TE",
		"Transfer-Encoding", "Proxy-Authorization", "X-Forwarded-Host", "x-forwarded-for", "Forwarded",
		"X-HTTP-Method-Override", "X-Method-Override", "X-Http-Method", "Accept-Encoding", "", "X Tenant", "X-Tenant:"} {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), []string{"-upstream", "http://h/fhir", "-issuer", "https://idp.example",
				"-audience", "x", "-forward-header", name}, io.Discard, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "-forward-header")
		})
	}
	p := writeConfig(t, goodConfig+"forward_headers:\n  - X-Tenant\n  - DPoP\n")
	err := run(context.Background(), []string{"-check-config", p}, io.Discard, io.Discard)
	var ce *configError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, strings.Count(goodConfig, "\n")+3, ce.line, "the line of DPoP")
	assert.ErrorContains(t, err, "Dpop")
}

// The dropped headers' names are logged at debug, never their values.
func TestHeaderFilterLogsNames(t *testing.T) {
	var logs bytes.Buffer
	f := newHeaderFilter(nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	h := http.Header{"X-Fhir-Tenant-Id": {"secret-tenant"}, "x-provenance": {"secret-prov"}, "Accept": {"application/fhir+json"},
		"Authorization": {"Bearer t"}, "authorization": {"Bearer u"}}
	f.apply(context.Background(), h)
	assert.Equal(t, http.Header{"Accept": {"application/fhir+json"}, "Authorization": {"Bearer t"}}, h)
	assert.Contains(t, logs.String(), "X-Fhir-Tenant-Id")
	assert.Contains(t, logs.String(), "x-provenance")
	assert.NotContains(t, logs.String(), "secret")
}
