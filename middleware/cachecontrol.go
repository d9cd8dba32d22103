package middleware

import (
	"net/http"
	"strings"
)

// keepPrivate keeps a shared cache (a CDN or caching proxy in front of
// the server) from storing the answer to an authenticated request. Such
// an answer was decided, narrowed and checked for one token, and its URL
// does not say whose it is: GET Observation narrowed to patient A's
// compartment is the same URL as patient B's. RFC 9111 section 3.5 lets
// a shared cache store it only when the server's Cache-Control says
// public, s-maxage or must-revalidate; then "public" and "s-maxage" are
// dropped and "private" added (section 5.2.2.7), and the other
// directives stay for the client's own cache. The fields that address
// shared caches alone (CDN-Cache-Control of RFC 9213, Surrogate-Control)
// are dropped.
func keepPrivate(h http.Header) {
	cacheFields.canonicalize(h)
	delete(h, "Cdn-Cache-Control")
	delete(h, "Surrogate-Control")
	cc, ok := h["Cache-Control"]
	if !ok || !sharedMayStore(cc) {
		return
	}
	kept := make([]string, 0, 4)
	for _, line := range cc {
		for d := range strings.SplitSeq(line, ",") {
			d = strings.TrimSpace(d)
			if name := directiveName(d); d != "" && name != "public" && name != "s-maxage" {
				kept = append(kept, d)
			}
		}
	}
	h["Cache-Control"] = []string{strings.Join(append(kept, "private"), ", ")}
}

// cacheFields are the fields keepPrivate reads, in any letter case (see
// headerNames). Merging them costs a walk over the header map on every
// answer: 200-450 instructions, 2-3.5% of a cached search through the
// middleware, under 2% of a checked read (callgrind, BenchmarkMiddleware).
var cacheFields = newHeaderNames("Cache-Control", "Cdn-Cache-Control", "Surrogate-Control")

// sharedMayStore reports whether Cache-Control field lines let a shared
// cache store the answer to a request with credentials (RFC 9111
// section 3.5): one of public, s-maxage or must-revalidate, and neither
// private nor no-store.
func sharedMayStore(cc []string) bool {
	allows := false
	for _, line := range cc {
		for d := range strings.SplitSeq(line, ",") {
			d = strings.TrimSpace(d)
			switch directiveName(d) {
			case "no-store":
				return false
			case "private":
				// private="Set-Cookie" keeps only the fields it names
				// out of a shared cache (section 5.2.2.7).
				if !strings.Contains(d, "=") {
					return false
				}
			case "public", "s-maxage", "must-revalidate":
				allows = true
			}
		}
	}
	return allows
}

// directiveName is a Cache-Control directive's name in lower case
// (directive names are case-insensitive, RFC 9111 section 5.2).
func directiveName(d string) string {
	name, _, _ := strings.Cut(d, "=")
	return strings.ToLower(strings.TrimSpace(name))
}
