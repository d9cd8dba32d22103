package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// bundleStream sends a checked search-set Bundle to the client as it
// arrives, entry by entry (fhirauth.BundleStream), instead of buffering
// it whole. It sits behind the buffer given to the handler: the handler's
// first write decides whether the response can stream (a 2xx of one
// JSON content type, uncompressed); if not, or if the Bundle turns out
// not to be a search set with resourceType and type before its entries,
// everything goes to the buffer and the response is checked whole, as
// before. Nothing reaches the client before the entries start and the
// first 32 KiB of checked output are ready. The headers go with that
// first output, checked again as they then stand (clientWriter) and
// filtered as for a buffered Bundle; the server's trailers never go (see
// finishStream).
//
// Once output has been sent, a failed check (invalid JSON, a second entry
// member, a late type of history, bytes after the Bundle, the limit, the
// upstream breaking off) can no longer become a 502: the response is
// aborted (the connection closed before the end of the chunked body, so
// no client takes the part for a whole Bundle), after the audit record
// says why. What was sent had passed the check.
type bundleStream struct {
	m       *Middleware
	st      *requestState
	d       *fhirauth.Decision
	b       *buffer
	s       *fhirauth.BundleStream // nil until the first write chose to stream
	decided bool
	err     error // the first final error once the stream began its output
	held    int64 // bytes of the budget the stream holds
	seen    int64 // bytes the handler wrote
	// announced is the handler's Trailer header, as it stood when the
	// headers were sent (passHeaders then removed it from the map).
	announced []string
}

// errBudgetSpent is a stream's write refused because the check memory
// budget is spent.
var errBudgetSpent = errors.New("middleware: check memory budget spent")

// errHeadersChanged is a stream's first output refused because the
// handler's Content-Type or Content-Encoding, which it may change until
// the headers go out, no longer says uncompressed JSON in UTF-8.
var errHeadersChanged = errors.New("middleware: the response's Content-Type or Content-Encoding changed to one that cannot be checked")

// write is the buffer's Write while a stream may run.
func (bs *bundleStream) write(p []byte) (int, error) {
	b := bs.b
	if !bs.decided {
		bs.decided = true
		if !bs.streamable() {
			return bs.fallBack(nil, p)
		}
		bs.s = bs.d.StreamBundle(clientWriter{bs}, b.limit)
	}
	if bs.err != nil {
		return 0, bs.err
	}
	bs.seen += int64(len(p))
	_, err := bs.s.Write(p)
	if err == nil {
		err = bs.account()
	}
	if err == nil {
		return len(p), nil
	}
	if !bs.s.Streaming() {
		// Nothing sent: the buffer takes the body so far, p included.
		if _, err := bs.fallBack(bs.s.Pending(), nil); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	bs.err = err
	return 0, err
}

// streamable reports whether the response the handler has begun can
// stream: a 2xx with a body, one JSON content type, no content coding.
func (bs *bundleStream) streamable() bool {
	b := bs.b
	status := b.finalStatus()
	if !success(status) || !bodyAllowed(status) {
		return false
	}
	f := b.scan()
	return plainJSON(&f)
}

// plainJSON reports whether headers f say one JSON content type, in
// UTF-8, without content coding: the body is read by the client as the
// text that was checked.
func plainJSON(f *headerFacts) bool {
	return fhirauth.ContentCoding(f.contentEncoding) == "" && len(f.contentType) == 1 && isJSONType(f.contentType[0])
}

// fallBack hands the response to the buffer: pending (the body the
// stream held), then p; it returns what the buffer's Write of p does.
func (bs *bundleStream) fallBack(pending, p []byte) (int, error) {
	b := bs.b
	b.stream = nil
	bs.s = nil
	bs.giveBack()
	if _, err := b.Write(pending); err != nil {
		return 0, err
	}
	return b.Write(p)
}

// account keeps the budget's count of the stream's memory up to date.
func (bs *bundleStream) account() error {
	held := int64(bs.s.Held())
	switch {
	case held > bs.held:
		if !bs.b.budget.take(held - bs.held) {
			return errBudgetSpent
		}
	case held < bs.held:
		bs.b.budget.give(bs.held - held)
	}
	bs.held = held
	return nil
}

// giveBack returns the stream's memory to the budget.
func (bs *bundleStream) giveBack() {
	bs.b.budget.give(bs.held)
	bs.held = 0
}

// clientWriter is where a BundleStream writes its checked output: the
// client, with the handler's headers (checked as for a buffered Bundle)
// sent before the first byte. The handler may have changed them since
// its first write chose to stream (until they go out, the map is its
// to change): they are checked again as they stand, and a Content-Type
// or Content-Encoding under which the client would read other text than
// was checked fails the stream before anything is sent.
type clientWriter struct{ bs *bundleStream }

func (w clientWriter) Write(p []byte) (int, error) {
	bs := w.bs
	st, b := bs.st, bs.b
	if st.rec.status == 0 {
		f := b.scan()
		if !plainJSON(&f) {
			return 0, errHeadersChanged
		}
		// As on the buffered path, the locations go first: when b has a
		// map of its own, passHeaders copies it into the real one.
		bs.m.dropLocations(b, &f)
		bs.announced = b.header["Trailer"]
		bs.m.passHeaders(st, b, &f, -1, false)
		st.rec.WriteHeader(b.finalStatus())
	}
	return st.rec.Write(p)
}

// finishStream ends a response that chose to stream, once the handler
// has returned. It reports false when the response did not stream after
// all (the buffer then holds the body, to be checked whole).
func (m *Middleware) finishStream(st *requestState, bs *bundleStream, r *http.Request) bool {
	defer bs.giveBack()
	if !bs.s.Streaming() {
		_, _ = bs.fallBack(bs.s.Pending(), nil)
		return false
	}
	err := bs.err
	if err == nil && bs.b.cut {
		err = errors.New("the server's response broke off")
	}
	removed := bs.s.Removed()
	if err == nil {
		removed, err = bs.s.Close()
	} else {
		_, _ = bs.s.Close()
	}
	if bs.b.shared {
		// The headers went out at the first write of checked output,
		// perhaps while the handler still ran and wrote into this very
		// map: httputil.ReverseProxy copies the server's trailers there
		// after the body, and net/http sends what the map then holds
		// under http.TrailerPrefix as trailers, unchecked. A handler
		// holding the map itself could not be stopped by giving it
		// another one, so the map is cleaned now that it has returned.
		dropTrailers(st.rec.Header(), bs.announced)
	}
	switch {
	case err == nil:
		m.noteRemoved(st, r, bs.d, removed)
	case !bs.sent() && errors.Is(err, errBudgetSpent):
		m.refuse(st, http.StatusServiceUnavailable, "transient", "the server is checking too many large responses at once; retry later")
	case !bs.sent() && bs.seen > bs.b.limit:
		m.refuse(st, http.StatusBadGateway, "too-costly",
			fmt.Sprintf("the response is larger than the %d bytes that can be checked for authorization; ask for less (e.g. a smaller _count)", m.cfg.maxResponse))
	case !bs.sent():
		st.withheld = int32(removed)
		m.refuse(st, http.StatusBadGateway, "exception", "the response cannot be checked for authorization: "+err.Error())
	default:
		m.abortStream(st, r, removed, err)
	}
	return true
}

// sent reports whether any of the response reached the client: from
// then on a failed check can only abort it. (The stream's own Sent also
// counts output the client writer refused before sending anything.)
func (bs *bundleStream) sent() bool { return bs.st.rec.status != 0 }

// abortStream marks a response whose check failed after output was sent
// for abortion (handler.ServeHTTP panics with http.ErrAbortHandler once
// the audit record is out) and says why.
func (m *Middleware) abortStream(st *requestState, r *http.Request, removed int, err error) {
	st.aborted, st.denied = true, true
	st.withheld = int32(removed)
	st.reason = "the checked response was aborted after it had begun: " + err.Error()
	m.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "fhirwarden: a checked response was aborted",
		slog.String("error", err.Error()), slog.String("method", r.Method), slog.String("path", escapedPath(r.URL)),
		slog.String("client_id", clientID(st)))
}

// noteRemoved records, for the audit record and the log, the entries a
// Bundle check removed.
func (m *Middleware) noteRemoved(st *requestState, r *http.Request, d *fhirauth.Decision, removed int) {
	if removed == 0 {
		return
	}
	st.withheld = int32(removed)
	m.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "fhirwarden: entries removed from a response Bundle",
		slog.Int("removed", removed), slog.String("method", r.Method), slog.String("path", escapedPath(r.URL)),
		slog.String("client_id", clientID(st)))
	st.reason = fmt.Sprintf("%s; %d entries outside the caller's access removed from the response", d.Reason, removed)
}
