package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// serveChecked runs next with a buffer and lets the response through only
// after the decision's response check: a single resource must pass
// CheckResource, a Bundle goes through FilterBundle. Everything that
// cannot be checked (too large, compressed, not JSON) is refused with 502:
// fail closed.
func (m *Middleware) serveChecked(st *requestState, next http.Handler, r *http.Request, d *fhirauth.Decision) {
	head := r.Method == http.MethodHead
	r = forCheck(r)
	b := newBuffer(m.cfg.maxResponse)
	next.ServeHTTP(b, r)
	body, ok := m.checkedBody(st, b)
	if !ok {
		return
	}
	status := b.finalStatus()
	if !d.ResponseIsBundle() && (status == http.StatusNotFound || status == http.StatusGone) && d.CheckStatus() == http.StatusNotFound {
		// Existence hiding: a missing resource and a withheld one must
		// look the same, down to the body.
		m.notFound(st)
		return
	}
	if len(body) == 0 || !success(status) {
		m.pass(st, b, body, head)
		return
	}
	if d.ResponseIsBundle() {
		out, removed, err := d.FilterBundle(body)
		if err != nil {
			m.refuseCheck(st, d, err)
			return
		}
		out, dropped, err := sanitizeBundle(out)
		if err != nil {
			m.refuse(st, http.StatusBadGateway, "exception", "the response Bundle cannot be read unambiguously and cannot be checked for authorization", "", "")
			return
		}
		removed += dropped
		scrubLocations(b.header, "", "")
		if removed > 0 {
			st.withheld = removed
			m.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "fhirwarden: entries removed from a response Bundle",
				slog.Int("removed", removed), slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()),
				slog.String("client_id", clientID(st)))
			st.reason = fmt.Sprintf("%s; %d entries outside the caller's access removed from the response", d.Reason, removed)
		}
		m.pass(st, b, out, head)
		return
	}
	if err := d.CheckResource(body); err != nil {
		st.withheld = 1
		m.refuseCheck(st, d, err)
		return
	}
	rt, id := resourceID(body)
	scrubLocations(b.header, rt, id)
	m.pass(st, b, body, head)
}

// forCheck prepares the request of a checked response: the response must
// come back whole, uncompressed, as FHIR JSON, so conditional and range
// headers (a 304 or 206 could not be checked, and a 304 alone would
// confirm that a resource exists), Accept-Encoding and non-JSON Accept
// values are removed, and HEAD becomes GET (the body is needed for the
// check; the client still gets headers only).
func forCheck(r *http.Request) *http.Request {
	h := r.Header.Clone()
	for _, k := range [...]string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range", "Accept-Encoding"} {
		h.Del(k)
	}
	if a := h.Get("Accept"); a != "" && !strings.Contains(a, "json") {
		h.Set("Accept", fhirJSON)
	}
	r.Header = h
	if r.Method == http.MethodHead {
		r.Method = http.MethodGet
	}
	return r
}

// checkedBody returns the buffered body if it can be checked at all; else
// it answers 502 and reports false. Error statuses (and empty bodies) are
// acceptable only as OperationOutcomes or without a body.
func (m *Middleware) checkedBody(st *requestState, b *buffer) ([]byte, bool) {
	if b.over {
		m.refuse(st, http.StatusBadGateway, "too-costly",
			fmt.Sprintf("the response is larger than the %d bytes that can be checked for authorization; ask for less (e.g. a smaller _count)", m.cfg.maxResponse), "", "")
		return nil, false
	}
	body := b.body.Bytes()
	if len(body) == 0 {
		return body, true
	}
	if ce := encoded(b.header); ce != "" {
		m.refuse(st, http.StatusBadGateway, "exception", "the response is compressed ("+clipText(ce)+") and cannot be checked for authorization", "", "")
		return nil, false
	}
	if cts := b.header.Values("Content-Type"); len(cts) > 1 || (len(cts) == 1 && !isJSONType(cts[0])) {
		m.refuse(st, http.StatusBadGateway, "exception", "the response is not FHIR JSON ("+clipText(strings.Join(cts, ", "))+") and cannot be checked for authorization", "", "")
		return nil, false
	}
	if !success(b.finalStatus()) && !isOperationOutcome(body) {
		m.refuse(st, http.StatusBadGateway, "exception", fmt.Sprintf("the server's %d response is not an OperationOutcome and cannot be checked for authorization", b.finalStatus()), "", "")
		return nil, false
	}
	return body, true
}

// refuseCheck answers a failed response check: 502 when the body was not
// FHIR JSON, else the decision's CheckStatus (404 when the policy hides
// existence, 403 otherwise). A 404 says no more than the server's own
// "not found" would.
func (m *Middleware) refuseCheck(st *requestState, d *fhirauth.Decision, err error) {
	if errors.Is(err, fhirauth.ErrNotJSON) {
		m.refuse(st, http.StatusBadGateway, "exception", "the response cannot be checked for authorization: "+err.Error(), "", "")
		return
	}
	status := d.CheckStatus()
	if status == http.StatusNotFound {
		m.notFound(st)
		st.denied = true
		st.reason = "response withheld: " + err.Error()
		return
	}
	m.refuse(st, status, "forbidden", "response withheld: "+err.Error(), errInsufficientScope, "")
}

// notFound answers 404 with the one body used both for resources that do
// not exist and for resources withheld by existence hiding.
func (m *Middleware) notFound(st *requestState) {
	m.writeOutcome(&st.rec, http.StatusNotFound, fhirauth.OperationOutcome(m.version, "not-found", "resource not found"), "", "", "")
	st.reason = "not found"
}

// pass sends a checked (possibly rewritten) response: the handler's
// headers with a fresh Content-Length, its status, the body unless the
// client asked with HEAD. Trailers are dropped: they would arrive after
// the check, unchecked.
func (m *Middleware) pass(st *requestState, b *buffer, body []byte, head bool) {
	h := st.rec.Header()
	for _, t := range b.header.Values("Trailer") {
		for name := range strings.SplitSeq(t, ",") {
			b.header.Del(strings.TrimSpace(name))
		}
	}
	for k, v := range b.header {
		if k == "Trailer" || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		h[k] = v
	}
	h.Del("Transfer-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	st.rec.WriteHeader(b.finalStatus())
	if !head && bodyAllowed(b.finalStatus()) {
		_, _ = st.rec.Write(body)
	}
}

func success(status int) bool { return status >= 200 && status < 300 }

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && status >= 200
}

// isJSONType accepts application/fhir+json, application/json and
// application/json-patch+json style media types (any "+json" suffix).
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// encoded returns the Content-Encoding of a response unless it is absent
// or identity (every value, every list element counts).
func encoded(h http.Header) string {
	for _, v := range h.Values("Content-Encoding") {
		for ce := range strings.SplitSeq(v, ",") {
			if ce = strings.TrimSpace(ce); ce != "" && !strings.EqualFold(ce, "identity") {
				return v
			}
		}
	}
	return ""
}

// resourceID reads the resourceType and id of a checked resource ("" when
// they cannot be read unambiguously).
func resourceID(body []byte) (rt, id string) {
	m, err := strictObject(body)
	if err != nil {
		return "", ""
	}
	rt, _ = stringMember(m, "resourceType")
	id, _ = stringMember(m, "id")
	return rt, id
}

func clientID(st *requestState) string {
	if st.principal == nil {
		return ""
	}
	return st.principal.ClientID
}

func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
