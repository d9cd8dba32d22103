package middleware

import (
	"errors"
	"net/http"
	"strings"
	"sync"
)

// errResponseTooLarge is what a buffered handler's Write returns once its
// response exceeds the limit, so that it can stop early. It is also what
// a write gets after the buffer was released.
var errResponseTooLarge = errors.New("middleware: response too large to check")

// buffer is the ResponseWriter given to handlers whose response must be
// checked before the client sees it: headers, status and body are held,
// up to a limit. It deliberately has no Unwrap (http.ResponseController
// must not reach the real connection: no hijacking or flushing past the
// check); Flush is accepted and does nothing.
//
// The body's memory comes from a pool: release gives it back once the
// response has been sent, and the buffer refuses writes from then on (a
// handler must not write after ServeHTTP returned; one that does gets an
// error, never another request's memory).
type buffer struct {
	header http.Header
	// shared: header is the real response's header map, which was empty
	// when the handler started (so no map of its own is needed). The
	// handler's headers then sit in the real map until the check is
	// done: pass filters them in place, and a refusal must first drop
	// them all (requestState.dropHandlerHeaders), leaving the map as
	// empty as the handler found it.
	shared bool
	status int
	body   []byte
	pooled *[]byte // where body came from
	limit  int64
	over   bool
}

// Pooled bodies start at bufferInitial bytes (a resource or a small
// Bundle fits) and grow as needed; bodies that grew beyond bufferMaxPooled
// are left to the garbage collector rather than kept in the pool.
const (
	bufferInitial   = 4 << 10
	bufferMaxPooled = 256 << 10
)

var bodyPool = sync.Pool{New: func() any {
	b := make([]byte, 0, bufferInitial)
	return &b
}}

// getBytes returns an empty slice from the pool, and its pool handle.
func getBytes() (*[]byte, []byte) {
	p := bodyPool.Get().(*[]byte)
	return p, (*p)[:0]
}

// putBytes gives b (obtained through p) back to the pool.
func putBytes(p *[]byte, b []byte) {
	if p == nil || cap(b) > bufferMaxPooled {
		return
	}
	*p = b[:0]
	bodyPool.Put(p)
}

func newBuffer(limit int64) *buffer {
	b := &buffer{}
	b.reset(limit, nil)
	return b
}

// reset readies b for a response of at most limit bytes. When real (the
// header map of the response b stands in for) is empty, the handler
// writes its headers there (see shared); otherwise into a map of b's own.
func (b *buffer) reset(limit int64, real http.Header) {
	b.pooled, b.body = getBytes()
	if real != nil && len(real) == 0 {
		b.header, b.shared = real, true
	} else {
		b.header, b.shared = make(http.Header), false
	}
	b.status = 0
	b.limit = limit
	b.over = false
}

// release gives the body's memory back to the pool; b and every slice of
// its body must not be used afterwards.
func (b *buffer) release() {
	putBytes(b.pooled, b.body)
	b.pooled, b.body = nil, nil
	b.over = true // late writes fail
}

// bytes is the body written so far.
func (b *buffer) bytes() []byte { return b.body }

func (b *buffer) Header() http.Header { return b.header }

func (b *buffer) WriteHeader(code int) {
	if b.status != 0 || code < 200 {
		return // superfluous, or 1xx informational: dropped
	}
	b.status = code
}

func (b *buffer) Write(p []byte) (int, error) {
	if !b.room(len(p)) {
		return 0, errResponseTooLarge
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// WriteString spares handlers using io.WriteString a conversion.
func (b *buffer) WriteString(s string) (int, error) {
	if !b.room(len(s)) {
		return 0, errResponseTooLarge
	}
	b.body = append(b.body, s...)
	return len(s), nil
}

// room reports whether n more bytes fit, marking the buffer over the
// limit when they do not.
func (b *buffer) room(n int) bool {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.over || int64(len(b.body))+int64(n) > b.limit {
		b.over = true
		return false
	}
	return true
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

// headerFacts is what the middleware needs to know of the headers a
// buffered handler wrote: read in one pass over the map, which costs less
// than a lookup for each on every checked response.
type headerFacts struct {
	contentType     []string // Content-Type values
	contentEncoding []string // Content-Encoding values
	location        bool     // Location is set
	contentLocation bool     // Content-Location is set
	trailer         bool     // Trailer is set (declares trailers)
	trailerKeys     bool     // a key has http.TrailerPrefix
	contentLength   bool     // Content-Length is set
	transferEnc     bool     // Transfer-Encoding is set
}

// scan reads b.header; call it once the handler has returned, before
// the middleware changes the map itself. (The facts are kept by the
// caller, on its stack: a field of the buffer would make every checked
// request's state larger.)
//
// A handler that writes the map directly may use a name in another
// letter case ("location"), which net/http sends as it is and clients
// read as the header it names. Such a name of a header scan looks for is
// first merged into the canonical one, so that every check applies to
// it (and two Content-Types written in two cases count as two).
func (b *buffer) scan() headerFacts {
	var f headerFacts
	variant := false
	for k, v := range b.header {
		switch k {
		case "Content-Type":
			f.contentType = v
		case "Content-Encoding":
			f.contentEncoding = v
		case "Location":
			f.location = true
		case "Content-Location":
			f.contentLocation = true
		case "Trailer":
			f.trailer = true
		case "Content-Length":
			f.contentLength = true
		case "Transfer-Encoding":
			f.transferEnc = true
		default:
			if strings.HasPrefix(k, http.TrailerPrefix) { // as net/http reads it
				f.trailerKeys = true
			} else if len(k) < 64 && scannedLengths&(1<<len(k)) != 0 && scannedName(k) != "" {
				variant = true
			}
		}
	}
	if !variant {
		return f
	}
	for k, v := range b.header {
		if name := scannedName(k); name != "" && name != k {
			delete(b.header, k)
			b.header[name] = append(b.header[name][:len(b.header[name]):len(b.header[name])], v...)
		}
	}
	return b.scan()
}

// scannedNames are the headers scan looks for.
var scannedNames = [...]string{"Content-Type", "Content-Encoding", "Location", "Content-Location", "Trailer", "Content-Length", "Transfer-Encoding"}

// scannedLengths has bit n set when a name of scannedNames is n bytes
// long: other names need no case-insensitive comparison.
var scannedLengths = func() (m uint64) {
	for _, n := range scannedNames {
		m |= 1 << len(n)
	}
	return m
}()

// scannedName returns the name of scannedNames that k equals in any
// letter case, or "".
func scannedName(k string) string {
	for _, n := range scannedNames {
		if len(n) == len(k) && strings.EqualFold(n, k) {
			return n
		}
	}
	return ""
}
