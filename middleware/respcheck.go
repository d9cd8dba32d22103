package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// serveChecked runs next with a buffer and lets the response through only
// after the decision's response check (Decision.CheckResponse: a single
// resource passes or is withheld, a Bundle is filtered). Everything that
// cannot be checked (too large, compressed, not JSON) is refused with 502:
// fail closed.
func (m *Middleware) serveChecked(st *requestState, next http.Handler, r *http.Request, d *fhirauth.Decision) {
	head := r.Method == http.MethodHead
	forCheck(r)
	b := new(buffer)
	st.buf = b
	b.reset(m.cfg.maxResponse, st.rec.Header(), m.cfg.budget)
	defer b.release()
	var bs *bundleStream
	if m.cfg.streamChecks && !head && d.StreamsResponse() {
		bs = &bundleStream{m: m, st: st, d: d, b: b}
		b.stream = bs
	}
	returned := false
	defer func() {
		if !returned {
			st.abandonChecked(bs)
		}
	}()
	serveBuffered(next, b, r)
	returned = true
	if bs != nil && bs.s != nil && m.finishStream(st, bs, r) {
		return
	}
	b.stream = nil
	f := b.scan()
	body, ok := m.checkedBody(st, b, &f)
	if !ok {
		return
	}
	status := b.finalStatus()
	out, removed, err := d.CheckResponse(status, body)
	switch {
	case errors.Is(err, fhirauth.ErrHidden):
		// Existence hiding: a missing resource and a withheld one must
		// look the same, down to the body and the metric.
		m.notFound(st)
		st.withheld = int32(removed)
		if status != http.StatusNotFound && status != http.StatusGone {
			m.noteHidden(st, status, removed)
		}
		return
	case err != nil:
		if !d.ResponseIsBundle() || removed > 0 {
			st.withheld = int32(max(removed, 1))
		}
		m.refuseCheck(st, d, err)
		return
	case len(body) == 0 || !success(status):
		// An error answer or an empty one holds no resource a location
		// could be checked against.
		m.dropLocations(b, &f)
		m.pass(st, b, &f, body, head)
		return
	}
	if d.ResponseIsBundle() {
		// The Bundle was rebuilt from an allow-list (strictly read,
		// unknown members dropped): nothing is left to sanitize here.
		m.dropLocations(b, &f)
		m.noteRemoved(st, r, d, removed)
		m.pass(st, b, &f, out, head)
		return
	}
	// The resource passed as the server wrote it; only a Content-Location
	// naming it may go with it.
	if f.contentLocation {
		rt, id := resourceID(body)
		scrubLocations(b.header, rt, id) // Location too
	} else if f.location {
		delete(b.header, "Location")
	}
	m.pass(st, b, &f, body, head)
}

// abandonChecked cleans the response's header map when the handler of a
// checked response panicked (other than with http.ErrAbortHandler,
// which serveBuffered answers) and the panic goes on up. A recovering
// handler outside (a router's recoverer) would answer with the map as
// it stands, and net/http would send its trailers: the handler's headers
// (a withheld resource's ETag, a Location) and trailers, never checked,
// are removed from it, or only the trailers when a streamed Bundle has
// already sent its headers. bs is the stream, if any.
func (st *requestState) abandonChecked(bs *bundleStream) {
	switch {
	case !st.buf.shared: // the handler's headers never reached the map
	case st.rec.status == 0:
		st.dropHandlerHeaders()
	case bs != nil:
		dropTrailers(st.rec.Header(), bs.announced)
	}
}

// checkedHeaders are the request headers a checked request goes without:
// conditional and range headers (a 304 or 206 could not be checked, and a
// 304 alone would confirm that a resource exists) and Accept-Encoding.
// A checked Bundle entry goes without their counterparts in its request
// (entryConditional).
var checkedHeaders = [...]string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range", "Accept-Encoding"}

// forCheck prepares r (the middleware's own copy of the request) for a
// checked response: the response must come back whole, uncompressed, as
// FHIR JSON, so the headers of checkedHeaders are removed and a non-JSON
// Accept becomes FHIR JSON; HEAD becomes GET (the body is needed for the
// check; the client still gets headers only). The header map is shared
// with the caller's request, so it is copied, but only when something in
// it must change.
func forCheck(r *http.Request) {
	if r.Method == http.MethodHead {
		r.Method = http.MethodGet
	}
	accept, drop := readForCheck(r.Header)
	fixAccept := accept != "" && !strings.Contains(accept, "json")
	if !fixAccept && !drop {
		return
	}
	h := r.Header.Clone()
	for _, k := range checkedHeaders {
		delete(h, k)
	}
	if fixAccept {
		h["Accept"] = []string{fhirJSON}
	}
	r.Header = h
}

// readForCheck returns the first Accept value of h (as Header.Get would,
// for a name that is already canonical) and whether h has one of
// checkedHeaders, in one walk over a small map or a lookup each in a
// larger one.
func readForCheck(h http.Header) (accept string, drop bool) {
	if len(h) > len(checkedHeaders)+1 {
		if vs := h["Accept"]; len(vs) > 0 {
			accept = vs[0]
		}
		for _, k := range checkedHeaders {
			if _, ok := h[k]; ok {
				return accept, true
			}
		}
		return accept, false
	}
	for k, vs := range h {
		switch k {
		case "Accept":
			if len(vs) > 0 {
				accept = vs[0]
			}
		// checkedHeaders, as a switch: no string comparisons for the
		// usual header (TestReadForCheck holds the two to agree).
		case "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range", "Accept-Encoding":
			drop = true
		}
	}
	return accept, drop
}

// checkedBody returns the buffered body if it can be checked at all (f:
// the buffer's headers, scanned); else it answers 502 and reports false.
// Error statuses (and empty bodies) are acceptable only as
// OperationOutcomes or without a body.
func (m *Middleware) checkedBody(st *requestState, b *buffer, f *headerFacts) ([]byte, bool) {
	if b.starved {
		m.refuseBusy(st)
		return nil, false
	}
	if b.over {
		m.refuse(st, http.StatusBadGateway, "too-costly",
			fmt.Sprintf("the response is larger than the %d bytes that can be checked for authorization; ask for less (e.g. a smaller _count)", m.cfg.maxResponse))
		return nil, false
	}
	if b.cut {
		m.refuse(st, http.StatusBadGateway, "exception", "the server's response broke off and cannot be checked for authorization")
		return nil, false
	}
	body := b.bytes()
	if len(body) == 0 {
		return body, true
	}
	if ce := fhirauth.ContentCoding(f.contentEncoding); ce != "" {
		m.refuse(st, http.StatusBadGateway, "exception", "the response is compressed ("+clipText(ce)+") and cannot be checked for authorization")
		return nil, false
	}
	if problem := typeProblem("the response", f.contentType); problem != "" {
		m.refuse(st, http.StatusBadGateway, "exception", problem)
		return nil, false
	}
	if !success(b.finalStatus()) && !isOperationOutcome(body) {
		m.refuse(st, http.StatusBadGateway, "exception", fmt.Sprintf("the server's %d response is not an OperationOutcome and cannot be checked for authorization", b.finalStatus()))
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
		m.refuse(st, http.StatusBadGateway, "exception", "the response cannot be checked for authorization: "+err.Error())
		return
	}
	status := d.CheckStatus()
	if status == http.StatusNotFound {
		m.notFound(st)
		st.denied = true
		st.reason = "response withheld: " + err.Error()
		return
	}
	m.refuseChallenge(st, status, "forbidden", "response withheld: "+err.Error(), errInsufficientScope)
}

// notFound answers 404 with the one body used both for resources that do
// not exist and for resources withheld by existence hiding. The caller
// marks a withheld one denied, for the audit record; the metric is the
// same either way (requestState.hidden).
func (m *Middleware) notFound(st *requestState) {
	st.dropHandlerHeaders()
	m.writeOutcome(&st.rec, http.StatusNotFound, fhirauth.OperationOutcome(m.version, "not-found", "resource not found"), authChallenge{})
	st.hidden = true
	st.reason = "not found"
}

// noteHidden records, for the audit record, that a hidden answer withheld
// what the server did answer (rather than pass on its "not found"): an
// instance history with versions outside the caller's access, or a
// redirect or informational answer (a 304), which would tell that the
// resource exists.
func (m *Middleware) noteHidden(st *requestState, status, removed int) {
	st.denied = true
	if removed > 0 {
		st.reason = fmt.Sprintf("response withheld: %d versions of the resource are outside the caller's access", removed)
		return
	}
	st.reason = fmt.Sprintf("response withheld: the server answered %d, which cannot be checked and would tell that the resource exists", status)
}

// pass sends a checked (possibly rewritten) response: the handler's
// headers with a fresh Content-Length, its status, the body unless the
// client asked with HEAD. Trailers are dropped: they would arrive after
// the check, unchecked.
//
// The handler's own Content-Length is never passed on (the body may have
// been rewritten). A body of at most smallBody bytes goes without one:
// net/http buffers that much and, as the handler returns, sends the
// length it counted, with no header to parse or sort. Larger bodies, and
// HEAD answers (which have no body to count), get the length set here.
func (m *Middleware) pass(st *requestState, b *buffer, f *headerFacts, body []byte, head bool) {
	m.passHeaders(st, b, f, len(body), head || len(body) > smallBody)
	st.rec.WriteHeader(b.finalStatus())
	if !head && bodyAllowed(b.finalStatus()) {
		_, _ = st.rec.Write(body)
	}
}

// passHeaders puts the headers of a checked response in the real header
// map, without trailers, Transfer-Encoding, the handler's Content-Length
// or its Link: a Link (RFC 8288; a handler may have set it for a 103
// Early Hints, which stays in the map for the final answer) names
// resources the check never saw, as a Location would. length is the
// body's length, sent as Content-Length when setLength is set or an
// outer handler had set one (which must be corrected); -1 for a body
// streamed as it is checked, which goes without one.
//
// Whatever must be removed from b's headers (dropLocations,
// scrubLocations) must be removed before: when b has a map of its own,
// passHeaders copies it into the real map, and later changes to b's map
// no longer reach the client.
func (m *Middleware) passHeaders(st *requestState, b *buffer, f *headerFacts, length int, setLength bool) {
	h := st.rec.Header()
	if f.trailer {
		dropAnnounced(b.header, b.header["Trailer"])
		delete(b.header, "Trailer")
	}
	if b.shared {
		// The handler wrote into h itself: only what must not pass goes.
		if f.trailerKeys || f.contentLength {
			for k := range h {
				if k == "Content-Length" || strings.HasPrefix(k, http.TrailerPrefix) {
					delete(h, k)
				}
			}
		}
		if f.transferEnc {
			delete(h, "Transfer-Encoding") // the framing is the server's
		}
		if f.link {
			delete(h, "Link")
		}
	} else {
		for k, v := range b.header {
			if k == "Content-Length" || k == "Link" || strings.HasPrefix(k, http.TrailerPrefix) {
				continue
			}
			h[k] = v
		}
		// An outer handler's Content-Length must be corrected, not kept.
		_, set := h["Content-Length"]
		setLength = setLength || set
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
	}
	if setLength && length >= 0 {
		h["Content-Length"] = []string{strconv.Itoa(length)}
	}
}

// dropAnnounced removes from h the headers named in trailer, the values
// of Trailer headers (comma-separated lists of names).
func dropAnnounced(h http.Header, trailer []string) {
	for _, t := range trailer {
		for name := range strings.SplitSeq(t, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
}

// dropTrailers removes from h, the response's own header map, everything
// net/http would send as a trailer once the handler returns: keys under
// http.TrailerPrefix, Trailer with the names it announces, and the names
// announced earlier (a handler such as httputil.ReverseProxy announces
// its trailers before the body and sets their values after it).
func dropTrailers(h http.Header, announced []string) {
	dropAnnounced(h, announced)
	dropAnnounced(h, h["Trailer"])
	delete(h, "Trailer")
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			delete(h, k)
		}
	}
}

// dropLocations removes Location and Content-Location from the headers
// of a checked response that is not a single resource: a Bundle, whose
// locations would name what it holds (or held) unchecked, or an answer
// without a resource, whose locations could name anything (another
// patient's resource, a redirect's target).
func (m *Middleware) dropLocations(b *buffer, f *headerFacts) {
	if f.location || f.contentLocation {
		delete(b.header, "Location")
		delete(b.header, "Content-Location")
	}
}

// smallBody is the largest checked body pass sends without setting its
// Content-Length: net/http's response buffer (bufferBeforeChunkingSize),
// so such a body is still buffered when the handler returns and the
// server sets the length itself.
const smallBody = 2048

func success(status int) bool { return status >= 200 && status < 300 }

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && status >= 200
}

// isJSONType accepts application/fhir+json, application/json and
// application/json-patch+json style media types (any "+json" suffix), in
// UTF-8 (fhirauth.MediaType, the parser of request bodies, refuses other
// charsets).
func isJSONType(ct string) bool {
	switch ct {
	case fhirJSON, fhirJSON + "; charset=utf-8", fhirJSON + ";charset=utf-8", fhirJSON + "; charset=UTF-8",
		"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8", "application/json; charset=UTF-8":
		return true
	}
	mt, err := fhirauth.MediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// typeProblem says why a body (what: "the response", "the stored
// version") whose Content-Type values are cts cannot be checked, or ""
// when it can: it has at most one Content-Type, of a JSON media type
// (isJSONType), without a charset other than UTF-8.
func typeProblem(what string, cts []string) string {
	switch {
	case len(cts) == 0 || (len(cts) == 1 && isJSONType(cts[0])):
		return ""
	case len(cts) == 1:
		if _, err := fhirauth.MediaType(cts[0]); err != nil {
			return what + " cannot be checked for authorization: " + err.Error()
		}
	}
	return what + " is not FHIR JSON (" + clipText(strings.Join(cts, ", ")) + ") and cannot be checked for authorization"
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

// refuseSpent answers 503 a request whose body found the check-memory
// budget spent while being read, and closes the connection after it: the
// rest of the body is not read (see heldBody.Close).
func (m *Middleware) refuseSpent(st *requestState) {
	st.rec.Header().Set("Connection", "close")
	m.refuseBusy(st)
}

// refusedBody answers a request whose body the middleware could not
// read whole, and reports whether it did: 503 when the check-memory
// budget was spent (refuseSpent), 408 when the body did not arrive
// within the body read timeout. Either way the connection is closed
// after the answer: the rest of the body is not waited for.
func (m *Middleware) refusedBody(st *requestState) bool {
	switch {
	case st.body.spent():
		m.refuseSpent(st)
	case st.body.tooSlow():
		st.rec.Header().Set("Connection", "close")
		m.refuse(st, http.StatusRequestTimeout, "timeout",
			"the request body did not arrive within the time allowed for it; send it faster, or smaller")
	default:
		return false
	}
	return true
}

// refuseBusy answers 503 (with Retry-After) a request that found the
// check-memory budget spent.
func (m *Middleware) refuseBusy(st *requestState) {
	m.refuse(st, http.StatusServiceUnavailable, "transient", "the server is checking too many large requests and responses at once; retry later")
}
