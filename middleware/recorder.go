package middleware

import (
	"net/http"
)

// recorder passes a response straight through (no buffering) while noting
// its status for the audit record. Flush and Unwrap keep streaming
// handlers and http.ResponseController working.
type recorder struct {
	w       http.ResponseWriter
	status  int
	written int64
	private bool // the answer to an authenticated request: see keepPrivate
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return // superfluous: net/http would ignore it too
	}
	if code >= 200 {
		r.begin(code)
	}
	r.w.WriteHeader(code) // 1xx informational answers pass through
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.begin(http.StatusOK)
	}
	n, err := r.w.Write(p)
	r.written += int64(n)
	return n, err
}

// Flush sends buffered data to the client, when the underlying writer can.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.begin(http.StatusOK)
	}
	_ = http.NewResponseController(r.w).Flush()
}

// begin notes the status of the response whose headers now go out.
func (r *recorder) begin(code int) {
	r.status = code
	if r.private {
		keepPrivate(r.w.Header())
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

// finalStatus is the status the client got (200 when the handler wrote
// nothing at all, as net/http does).
func (r *recorder) finalStatus() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
