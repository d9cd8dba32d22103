package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
)

// forwardedHeaders are the request headers that reach the upstream. The
// policy decides a request by its method, URL, body and the few headers
// it reads; any other header could still change what the upstream does
// (IBM FHIR's X-FHIR-TENANT-ID and X-FHIR-DSID select another tenant's
// data, HAPI's X-Provenance creates a Provenance naming the target, a
// partition header selects another partition), so only the headers the
// FHIR REST API and HTTP need are forwarded, and an operator names any
// other one. Authorization (-forward-authorization) and the X-Forwarded
// headers the gateway sets itself are handled apart.
var forwardedHeaders = []string{
	// Content negotiation and the body (decided by the middleware).
	"Accept", "Accept-Language", "Content-Type", "Content-Encoding", "Content-Length",
	// Conditional requests; If-Match and If-None-Exist are decided on and
	// may have been pinned or narrowed by the middleware.
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-None-Exist",
	// Prefer: return=, handling=, respond-async (decided by the middleware).
	"Prefer",
	// Freshness (no-cache bypasses a server's search cache; the gateway
	// sets it on an export kick-off).
	"Cache-Control",
	// Correlation and tracing, which name no data.
	"X-Request-Id", "X-Correlation-Id", "Traceparent", "Tracestate", "User-Agent",
}

// errForbiddenHeader: an operator named a header the gateway controls.
var errForbiddenHeader = errors.New("the gateway controls this header; it cannot be added to the forwarded ones")

// checkForwardHeader validates a header an operator adds to the
// forwarded ones and returns its canonical name. Headers the gateway
// sets, strips or decides on its own are refused: the credentials
// (Authorization, DPoP), the target (Host),
// hop-by-hop headers, the client's address (X-Forwarded-*, Forwarded,
// X-Real-Ip), method overrides (the policy decided the request's
// method), Accept-Encoding (responses are checked decompressed) and the
// CORS request headers (the gateway answers those).
func checkForwardHeader(name string) (string, error) {
	if !validHeaderName(name) {
		return "", fmt.Errorf("%q is not a header name", name)
	}
	c := http.CanonicalHeaderKey(name)
	switch c {
	case "Authorization", "Dpop", "Host",
		"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Http2-Settings",
		"Forwarded", "X-Real-Ip", "Via",
		"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
		"Accept-Encoding", "Origin", "Expect":
		return "", fmt.Errorf("%s: %w", c, errForbiddenHeader)
	}
	if strings.HasPrefix(c, "X-Forwarded-") || strings.HasPrefix(c, "Access-Control-") {
		return "", fmt.Errorf("%s: %w", c, errForbiddenHeader)
	}
	return c, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// headerFilter removes from an outbound request every header that is
// not forwarded.
type headerFilter struct {
	allow  map[string]bool // canonical names
	logger *slog.Logger
}

// newHeaderFilter forwards forwardedHeaders, the extra names (checked by
// checkForwardHeader already) and the X-Forwarded headers the proxy sets.
func newHeaderFilter(extra []string, logger *slog.Logger) *headerFilter {
	f := &headerFilter{allow: map[string]bool{}, logger: logger}
	for _, h := range slices.Concat(forwardedHeaders, extra, []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}) {
		f.allow[http.CanonicalHeaderKey(h)] = true
	}
	return f
}

// apply drops the headers of h that are not forwarded, in any letter
// case or spelling, and logs their names (never their values) at debug.
// Authorization is left to the caller.
func (f *headerFilter) apply(ctx context.Context, h http.Header) {
	var dropped []string
	for k := range h {
		c := http.CanonicalHeaderKey(k)
		if c == "Authorization" && c == k {
			continue
		}
		if !f.allow[c] || c != k {
			// A key in another spelling than the canonical one is not
			// merged: the upstream would read both as one header.
			delete(h, k)
			dropped = append(dropped, k)
		}
	}
	if len(dropped) > 0 && f.logger.Enabled(ctx, slog.LevelDebug) {
		slices.Sort(dropped)
		f.logger.LogAttrs(ctx, slog.LevelDebug, "gateway: request headers not forwarded", slog.Any("headers", dropped))
	}
}
