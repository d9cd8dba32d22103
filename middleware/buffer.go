package middleware

import (
	"bytes"
	"errors"
	"net/http"
)

// errResponseTooLarge is what a buffered handler's Write returns once its
// response exceeds the limit, so that it can stop early.
var errResponseTooLarge = errors.New("middleware: response too large to check")

// buffer is the ResponseWriter given to handlers whose response must be
// checked before the client sees it: headers, status and body are held,
// up to a limit. It deliberately has no Unwrap (http.ResponseController
// must not reach the real connection: no hijacking or flushing past the
// check); Flush is accepted and does nothing.
type buffer struct {
	header http.Header
	status int
	body   bytes.Buffer
	limit  int64
	over   bool
}

func newBuffer(limit int64) *buffer {
	return &buffer{header: make(http.Header), limit: limit}
}

func (b *buffer) Header() http.Header { return b.header }

func (b *buffer) WriteHeader(code int) {
	if b.status != 0 || code < 200 {
		return // superfluous, or 1xx informational: dropped
	}
	b.status = code
}

func (b *buffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.over || int64(b.body.Len())+int64(len(p)) > b.limit {
		b.over = true
		return 0, errResponseTooLarge
	}
	return b.body.Write(p)
}

// Flush does nothing: a checked response is sent only when complete.
func (b *buffer) Flush() {}

// finalStatus is the status the handler chose (200 when it wrote nothing).
func (b *buffer) finalStatus() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}
