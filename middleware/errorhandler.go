package middleware

import (
	"errors"
	"net/http"
)

// Refusal is a request the middleware answers itself (401, 403, 404 of a
// withheld resource, 400, 502, 503, ...), handed to an ErrorHandler to
// render.
type Refusal struct {
	// Status is the HTTP status to answer with.
	Status int
	// Outcome is the FHIR OperationOutcome the middleware would send
	// (FHIR JSON, in the policy's FHIR version).
	Outcome []byte
	// AuthError is the RFC 6750 error code ("invalid_token",
	// "insufficient_scope", "invalid_request") or "".
	AuthError string
}

// ErrorHandler renders a refusal: it writes the status and a body to w.
// The middleware has already set the headers the protocol requires
// (WWW-Authenticate, Retry-After, Cache-Control: no-store); r is the
// client's request (read its headers, e.g. Accept; never its body).
type ErrorHandler func(w http.ResponseWriter, r *http.Request, ref Refusal)

// WithErrorHandler lets a server render refusals its own way (an HTML
// page, another error format). The default writes ref.Outcome as
// application/fhir+json. The handler must not tell a withheld resource
// from a missing one: both come as the same 404 Refusal.
func WithErrorHandler(h ErrorHandler) Option {
	return func(c *config) error {
		if h == nil {
			return errors.New("middleware: nil error handler")
		}
		c.onError = h
		return nil
	}
}

// requestWriter carries the client's request to writeOutcome when an
// ErrorHandler is set (the request state has no room for it, and the
// handler is rare).
type requestWriter struct {
	http.ResponseWriter
	r *http.Request
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *requestWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// renderRefusal hands a refusal to the ErrorHandler and reports whether
// there was one. w is the request's recorder.
func (m *Middleware) renderRefusal(w http.ResponseWriter, ref Refusal) bool {
	if m.cfg.onError == nil {
		return false
	}
	var r *http.Request
	if rec, ok := w.(*recorder); ok {
		if rw, ok := rec.w.(*requestWriter); ok {
			r = rw.r
		}
	}
	m.cfg.onError(w, r, ref)
	return true
}
