package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// corsMaxAge is how long (seconds) a browser may reuse a preflight's
// answer.
const corsMaxAge = 600

// corsMethods are the methods the gateway serves.
const corsMethods = "GET, HEAD, POST, PUT, PATCH, DELETE"

// corsExposed are the response headers a browser app may read besides
// the safelisted ones: where a write went, versions, why a request was
// refused (WWW-Authenticate), when to retry, and the request's id. With
// DPoP, DPoP-Nonce too: an app must read it to send the nonce.
const corsExposed = "Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, Retry-After, X-Request-Id"

// cors lets browser apps on the allowed origins call the gateway
// (-cors-origin). A bearer token is no ambient credential (a browser
// does not attach it by itself, as it does cookies), so "*" is safe and
// Access-Control-Allow-Credentials is never sent.
type cors struct {
	any          bool            // "*": every origin
	origins      map[string]bool // exact serialized origins
	allowHeaders string          // the request headers the gateway accepts
	exposed      string          // corsExposed, and DPoP-Nonce with DPoP
	version      func() fhirspec.Version
}

// newCORS returns nil when no origin is allowed: then the gateway sends
// no CORS headers and handles preflights like any request. dpop: the
// gateway accepts DPoP proofs, so apps send the DPoP header and read
// DPoP-Nonce.
func newCORS(origins, forwarded []string, dpop bool, version func() fhirspec.Version) *cors {
	if len(origins) == 0 {
		return nil
	}
	c := &cors{origins: map[string]bool{}, version: version, exposed: corsExposed}
	for _, o := range origins {
		c.any = c.any || o == "*"
		c.origins[o] = true
	}
	names := []string{"Authorization"}
	if dpop {
		names = append(names, "DPoP")
		c.exposed += ", DPoP-Nonce"
	}
	for _, h := range append(append([]string{}, forwardedHeaders...), forwarded...) {
		if h != "Content-Length" {
			names = append(names, h)
		}
	}
	c.allowHeaders = strings.Join(names, ", ")
	return c
}

// allowed is the Access-Control-Allow-Origin for the request's Origin
// header, or "" when it gets none: a single Origin matching an allowed
// origin exactly (a browser serializes it in lower case, without a
// path), or any single Origin when "*" is allowed.
func (c *cors) allowed(h http.Header) string {
	vs := h["Origin"]
	switch {
	case len(vs) != 1:
		return ""
	case c.any:
		return "*"
	case c.origins[vs[0]]:
		return vs[0]
	}
	return ""
}

// handle sets the CORS headers of the response and answers a preflight
// itself; it reports whether it answered. A preflight carries no token,
// so one that reached the middleware would get 401, and it must not reach
// the upstream: the gateway answers every preflight, and one from an
// origin it does not allow gets 403 and no CORS headers.
func (c *cors) handle(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := c.allowed(r.Header)
	if r.Method == http.MethodOptions && r.Header["Access-Control-Request-Method"] != nil {
		if origin == "" {
			body := fhirauth.OperationOutcome(c.version(), "forbidden", "cross-origin requests from this origin are not allowed")
			h.Set("Content-Type", "application/fhir+json")
			h.Set("Content-Length", strconv.Itoa(len(body)))
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(body)
			return true
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", c.allowHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", c.exposed)
	}
	return false
}

// stripCORS removes the upstream's own CORS headers: the gateway decides
// which origins may read its answers, and an upstream echoing any Origin
// with Access-Control-Allow-Credentials would decide otherwise.
func stripCORS(h http.Header) {
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "Access-Control-") {
			delete(h, k)
		}
	}
}

// errNullOrigin: "null" is the origin of sandboxed frames and file:
// documents, which any page can produce.
var errNullOrigin = errors.New(`"null" is the origin any sandboxed page sends; it cannot be allowed`)

// checkOrigin validates an allowed origin: "*" or an origin as a browser
// serializes it (scheme://host[:port], lower case, no default port, no
// path), since Origin headers are matched exactly.
func checkOrigin(s string) error {
	if s == "*" {
		return nil
	}
	if s == "null" {
		return errNullOrigin
	}
	u, err := url.Parse(s)
	bad := err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		s != u.Scheme+"://"+u.Host || s != strings.ToLower(s) || strings.Contains(u.Host, "*") ||
		(u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443")
	if bad {
		return fmt.Errorf("%q is not an origin as a browser sends it: scheme://host[:port] in lower case, without path or default port (or *)", s)
	}
	return nil
}
