package middleware

import (
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// asyncRefusal is the diagnostics of a request refused by refuseAsync.
const asyncRefusal = "Prefer: respond-async is not supported for this request: its response must be checked for authorization, " +
	"so it cannot be answered asynchronously (the result would be served from a polling URL, unchecked); send it without respond-async"

// refuseAsync refuses, with 400 not-supported and before anything reaches
// the server, a request that asks for an asynchronous answer (Prefer:
// respond-async, RFC 7240 and FHIR's asynchronous pattern) when its
// response must be checked, and reports whether it did. The server would
// answer 202 Accepted and serve the result from a polling URL the check
// never sees, so the answer would be refused all the same, after the
// server had done the work. Requests whose response needs no check (a
// Bulk Data kick-off, a search only narrowed, a write) keep the header.
func (m *Middleware) refuseAsync(st *requestState, r *http.Request, req *fhirauth.Request, d *fhirauth.Decision) bool {
	if !checksResponse(req, d) || !prefersAsync(r.Header) {
		return false
	}
	m.refuseChallenge(st, http.StatusBadRequest, "not-supported", asyncRefusal, errInvalidRequest)
	return true
}

// checksResponse reports whether the response to an allowed request
// (req, decided as d) will be checked: its own, or, for a batch or
// transaction, that of an allowed entry.
func checksResponse(req *fhirauth.Request, d *fhirauth.Decision) bool {
	if !isBundle(req) {
		return d.NeedsResponseCheck()
	}
	for _, e := range d.Entries {
		if e.Allowed && e.NeedsResponseCheck() {
			return true
		}
	}
	return false
}

// prefersAsync reports whether h asks for respond-async: whether any
// Prefer field (under any case of its name, for a map not built by
// net/http's parser) names it.
func prefersAsync(h http.Header) bool {
	for k, vs := range h {
		if len(k) != len("Prefer") || !strings.EqualFold(k, "Prefer") {
			continue
		}
		for _, v := range vs {
			if namesAsync(v) {
				return true
			}
		}
	}
	return false
}

// namesAsync reports whether one Prefer field value names respond-async.
//
// RFC 7240 reads a value as a comma-separated list of preferences, each
// a token (its name, case-insensitive), an optional "=" and value, and
// parameters after ";", with optional whitespace beside each part and
// values that may be quoted strings; "x-respond-async-not" is another
// preference. Servers read less strictly: HAPI FHIR splits the value at
// every "," and ";" alike, without regard to quotes, so it takes
// "return=minimal; respond-async" (a parameter to RFC 7240) for
// respond-async. What counts is what the server does, so namesAsync reads
// the wider way: every part between commas and semicolons, its name up
// to "=", trimmed of whitespace and quotes, compared without case. That
// finds every preference RFC 7240 reads (each begins a part, its name
// ending at "=", ";", "," or the end) and every one HAPI FHIR's reading
// finds; a name that merely contains respond-async is none.
func namesAsync(v string) bool {
	for v != "" {
		i := strings.IndexAny(v, ",;")
		part := v
		if i < 0 {
			v = ""
		} else {
			part, v = v[:i], v[i+1:]
		}
		name, _, _ := strings.Cut(part, "=")
		if strings.EqualFold(strings.Trim(name, " \t\""), "respond-async") {
			return true
		}
	}
	return false
}
