package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/token"
)

// capabilityHandler serves GET {base}/metadata: the upstream's
// CapabilityStatement, rewritten for the clients of the gateway. Every
// absolute URL naming the upstream's base names the gateway's instead,
// implementation.url is the gateway's base URL, and each rest entry's
// security says SMART on FHIR with the issuer's OAuth URIs. An upstream
// answer that is not a CapabilityStatement is never passed on (it could
// name the upstream's internal address): 502.
type capabilityHandler struct {
	capability *capabilityCache
	base       string // the gateway's base path
	version    fhirspec.Version
	oauth      token.ProviderMetadata
	logger     *slog.Logger

	// The last upstream body read, rewritten once for placeholderOrigin:
	// a request then only puts its own origin in (the rewrite decodes
	// and encodes the whole statement, and GET metadata needs no token).
	mu       sync.Mutex
	raw      []byte // the capabilityCache body rewritten
	template []byte
	err      error
}

// placeholderOrigin stands for the gateway's origin (scheme://host, as
// each client addresses it) in the rewritten CapabilityStatement that
// capabilityHandler keeps. The .invalid domain names nothing (RFC 6761).
const placeholderOrigin = "http://gateway.invalid"

func (h *capabilityHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := h.capability.get(r.Context())
	if err == nil {
		body, err = h.rewritten(body)
	}
	if err == nil {
		gw, _ := json.Marshal(origin(gatewayBaseURL(r, h.base)))
		body = bytes.ReplaceAll(body, []byte(placeholderOrigin), gw[1:len(gw)-1])
	}
	if err != nil {
		h.logger.LogAttrs(r.Context(), slog.LevelWarn, "gateway: the upstream's CapabilityStatement cannot be served", slog.String("error", err.Error()))
		out := fhirauth.OperationOutcome(h.version, "exception", "the upstream FHIR server's CapabilityStatement cannot be read")
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(out)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// gatewayBaseURL is the gateway's absolute base URL as the client
// addressed it.
func gatewayBaseURL(r *http.Request, base string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + base
}

// rewritten returns raw rewritten for the gateway's base URL under
// placeholderOrigin, rewriting it only when capabilityCache has read a
// new body (the cache hands out the same slice until then).
func (h *capabilityHandler) rewritten(raw []byte) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(raw) == 0 || len(h.raw) != len(raw) || &h.raw[0] != &raw[0] {
		h.raw = raw
		h.template, h.err = h.rewrite(raw, placeholderOrigin+h.base)
	}
	return h.template, h.err
}

// rewrite returns the CapabilityStatement body for gw, the gateway's
// absolute base URL.
func (h *capabilityHandler) rewrite(body []byte, gw string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers pass as written
	var cs map[string]any
	if err := dec.Decode(&cs); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the CapabilityStatement")
	}
	if cs["resourceType"] != "CapabilityStatement" {
		return nil, errors.New("not a CapabilityStatement")
	}
	out := h.rewriteURLs(cs, gw).(map[string]any)
	impl, _ := out["implementation"].(map[string]any)
	if impl == nil {
		impl = map[string]any{"description": "fhirwarden gateway"}
	}
	impl["url"] = gw
	out["implementation"] = impl
	rest, _ := out["rest"].([]any)
	for _, e := range rest {
		if m, ok := e.(map[string]any); ok {
			m["security"] = h.security()
		}
	}
	return json.Marshal(out)
}

// rewriteURLs replaces, in every string of v, the upstream's base URL
// with gw and then the upstream's origin (scheme://host:port) with gw's:
// the upstream's internal address appears nowhere, in a URL member or in
// text. An occurrence followed by a byte that continues a path segment
// (http://up/fhirx) is another URL and stays.
func (h *capabilityHandler) rewriteURLs(v any, gw string) any {
	switch x := v.(type) {
	case string:
		up := h.capability.upstream
		x = replaceURL(x, up, gw)
		return replaceURL(x, origin(up), origin(gw))
	case map[string]any:
		for k, e := range x {
			x[k] = h.rewriteURLs(e, gw)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = h.rewriteURLs(e, gw)
		}
		return x
	}
	return v
}

// replaceURL replaces each occurrence of from in s that ends where a URL
// path segment could not go on.
func replaceURL(s, from, to string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, from)
		if i < 0 {
			if b.Len() == 0 {
				return s
			}
			b.WriteString(s)
			return b.String()
		}
		end := i + len(from)
		b.WriteString(s[:i])
		if end < len(s) && segmentContinues(s[end]) {
			b.WriteString(from)
		} else {
			b.WriteString(to)
		}
		s = s[end:]
	}
}

func segmentContinues(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '%'
}

// origin is the scheme://host[:port] of an absolute URL.
func origin(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// security is rest.security for the gateway: SMART on FHIR, with the
// oauth-uris extension naming the issuer's endpoints (token always;
// authorize, revoke and introspect when the issuer has them).
func (h *capabilityHandler) security() map[string]any {
	system := "http://terminology.hl7.org/CodeSystem/restful-security-service"
	if h.version == fhirspec.STU3 {
		system = "http://hl7.org/fhir/restful-security-service"
	}
	uris := []any{map[string]any{"url": "token", "valueUri": h.oauth.TokenEndpoint}}
	for _, u := range []struct{ name, uri string }{
		{"authorize", h.oauth.AuthorizationEndpoint},
		{"revoke", h.oauth.RevocationEndpoint},
		{"introspect", h.oauth.IntrospectionEndpoint},
	} {
		if u.uri != "" {
			uris = append(uris, map[string]any{"url": u.name, "valueUri": u.uri})
		}
	}
	return map[string]any{
		"extension": []any{map[string]any{
			"url":       "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": uris,
		}},
		"service": []any{map[string]any{
			"coding": []any{map[string]any{"system": system, "code": "SMART-on-FHIR"}},
			"text":   "OAuth2 bearer tokens with SMART on FHIR scopes",
		}},
		"description": "Every request but this CapabilityStatement and the SMART configuration needs a bearer token from " + h.oauth.Issuer,
	}
}
