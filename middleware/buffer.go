package middleware

import (
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
// The body's memory comes from pools: release gives it back once the
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
	body   []byte  // from bodyPools
	pooled *[]byte // the pool handle body came in
	limit  int64
	over   bool // a write was refused: the response cannot be checked
	// starved: the write was refused because the budget was spent,
	// not because the response is too large.
	starved bool
	cut     bool         // the handler aborted: the body is incomplete
	budget  *checkBudget // holds cap(body) bytes of it
	// stream, when set, takes the body instead (a search-set Bundle
	// checked as it streams); it hands the body back to the buffer
	// when the response cannot stream.
	stream *bundleStream
}

// Bodies come from pools of power-of-two sizes, from bufferInitial up:
// a body grows by taking the next size that fits and giving the old one
// back, so a response of n bytes is held in less than 2n and, once the
// pools are warm, allocates nothing. When the handler declares its
// Content-Length, the body is sized for it at the first write.
const (
	bufferInitial = 4 << 10
	bufferClasses = 16 // up to 4 KiB << 15 = 128 MiB
)

var bodyPools [bufferClasses]sync.Pool

// sizeClass is the index of the smallest pool size of at least n bytes
// (bufferClasses when n is larger than every pool size).
func sizeClass(n int) int {
	if n <= bufferInitial {
		return 0
	}
	return bits.Len(uint((n - 1) >> 12)) // 4 KiB << class >= n
}

// getBytes returns an empty slice of capacity at least n, and the pool
// handle it came in (nil for a new slice).
func getBytes(n int) (*[]byte, []byte) {
	c := sizeClass(n)
	if c >= bufferClasses {
		return nil, make([]byte, 0, n)
	}
	if p, ok := bodyPools[c].Get().(*[]byte); ok {
		return p, (*p)[:0]
	}
	return nil, make([]byte, 0, bufferInitial<<c)
}

// putBytes gives b back to the pool of its size, in handle p if it came
// with one (so that giving back allocates nothing).
func putBytes(p *[]byte, b []byte) {
	c := sizeClass(cap(b))
	if c >= bufferClasses || cap(b) != bufferInitial<<c {
		return
	}
	if p == nil {
		p = new([]byte)
	}
	*p = b[:0]
	bodyPools[c].Put(p)
}

func newBuffer(limit int64, budget *checkBudget) *buffer {
	b := &buffer{}
	b.reset(limit, nil, budget)
	return b
}

// reset readies b for a response of at most limit bytes. When real (the
// header map of the response b stands in for) is empty, the handler
// writes its headers there (see shared); otherwise into a map of b's own.
// The body's memory is counted in budget (nil: not counted).
func (b *buffer) reset(limit int64, real http.Header, budget *checkBudget) {
	b.body, b.pooled = nil, nil
	if real != nil && len(real) == 0 {
		b.header, b.shared = real, true
	} else {
		b.header, b.shared = make(http.Header), false
	}
	b.status = 0
	b.limit = limit
	b.over, b.starved, b.cut = false, false, false
	b.budget = budget
	b.stream = nil
}

// release gives the body's memory back to the pool and to the budget; b
// and every slice of its body must not be used afterwards.
func (b *buffer) release() {
	if b.stream != nil {
		b.stream.giveBack()
		b.stream = nil // late writes fail: see over
	}
	if b.body != nil {
		putBytes(b.pooled, b.body)
	}
	b.budget.give(int64(cap(b.body)))
	b.body, b.pooled = nil, nil
	b.over = true // late writes fail
}

// grow makes room for n more bytes, reporting false (and marking b over
// or starved) when they would pass the limit or the budget.
func (b *buffer) grow(n int) bool {
	need := int64(len(b.body)) + int64(n)
	if need > b.limit {
		b.over = true
		return false
	}
	if need <= int64(cap(b.body)) {
		return true
	}
	size := need
	if len(b.body) == 0 {
		size = max(size, declaredLength(b.header, b.limit)) // whole at once
	}
	c := sizeClass(int(size))
	if c < bufferClasses {
		size = max(size, bufferInitial<<c)
	}
	if !b.budget.take(size - int64(cap(b.body))) {
		b.over, b.starved = true, true
		return false
	}
	p, nb := getBytes(int(size))
	nb = append(nb, b.body...)
	if b.body != nil {
		putBytes(b.pooled, b.body)
	}
	b.pooled = p
	b.budget.give(int64(cap(nb)) - size) // a pool may hand out more than asked
	b.body = nb
	return true
}

// declaredLength is the Content-Length the handler set, if it is within
// limit (0 otherwise).
func declaredLength(h http.Header, limit int64) int64 {
	v := h["Content-Length"]
	if len(v) != 1 {
		return 0
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n <= 0 || n > limit {
		return 0
	}
	return n
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
	if b.stream != nil {
		if b.status == 0 {
			b.status = http.StatusOK
		}
		return b.stream.write(p)
	}
	if !b.room(len(p)) {
		return 0, errResponseTooLarge
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// WriteString spares handlers using io.WriteString a conversion.
func (b *buffer) WriteString(s string) (int, error) {
	if b.stream != nil {
		return b.Write([]byte(s))
	}
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
	return !b.over && b.grow(n)
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
	link            bool     // Link is set
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
// A name of a header scan looks for, written by the handler in another
// letter case ("location"), is first merged into the canonical one (see
// headerNames), so that every check applies to it (and two Content-Types
// written in two cases count as two).
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
		case "Link":
			f.link = true
		case "Trailer":
			f.trailer = true
		case "Content-Length":
			f.contentLength = true
		case "Transfer-Encoding":
			f.transferEnc = true
		default:
			if strings.HasPrefix(k, http.TrailerPrefix) { // as net/http reads it
				f.trailerKeys = true
			} else if scannedNames.match(k) != "" {
				variant = true
			}
		}
	}
	if !variant {
		return f
	}
	scannedNames.canonicalize(b.header)
	return b.scan()
}

// scannedNames are the headers scan looks for.
var scannedNames = newHeaderNames("Content-Type", "Content-Encoding", "Location", "Content-Location", "Link", "Trailer", "Content-Length", "Transfer-Encoding")

// serveBuffered runs next with b. A handler that aborts with
// http.ErrAbortHandler (as httputil.ReverseProxy does when its copy fails:
// b refused a write, or the upstream's body broke off) is taken as having
// finished with an incomplete response: b is marked cut, and the caller
// answers in its place. Other panics go on up.
func serveBuffered(next http.Handler, b *buffer, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			b.cut = true
		}
	}()
	next.ServeHTTP(b, r)
}

// DefaultCheckMemoryBudget bounds the bytes a Middleware holds at once in
// the buffers of responses being checked and in the request bodies it
// reads (see WithCheckMemoryBudget).
const DefaultCheckMemoryBudget = 256 << 20

// WithCheckMemoryBudget bounds the memory held by checks, all requests
// together (default DefaultCheckMemoryBudget): responses buffered for
// checking (a streamed search set counts what its check holds: the
// current entry and the output not yet sent) and the request bodies the
// middleware reads (a write's body the policy judges, a form body looked
// at for a token), which are held until the request is over; a body of
// declared length counts whole from its first read, as room is made for
// all of it then, however slowly it arrives. N
// concurrent large requests or responses cannot exhaust memory. When it
// is spent, a request waits briefly for room and is then answered 503
// with Retry-After (an OperationOutcome), and its audit record says why.
func WithCheckMemoryBudget(n int64) Option {
	return func(c *config) error {
		if n < bufferInitial {
			return fmt.Errorf("middleware: check memory budget %d is below %d bytes", n, bufferInitial)
		}
		c.budget = &checkBudget{max: n}
		return nil
	}
}

// checkBudget counts the bytes held by checks against a maximum.
type checkBudget struct {
	max  int64
	used atomic.Int64
}

// budgetWait is how long a check waits for room in the budget.
const budgetWait = 100 * time.Millisecond

// take reserves n bytes, waiting up to budgetWait for them; false if
// there was no room. A nil budget has room for everything.
func (c *checkBudget) take(n int64) bool {
	if c == nil || n <= 0 || c.tryTake(n) {
		return true
	}
	for deadline := time.Now().Add(budgetWait); time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
		if c.tryTake(n) {
			return true
		}
	}
	return false
}

// tryTake reserves n bytes if there is room now.
func (c *checkBudget) tryTake(n int64) bool {
	for {
		used := c.used.Load()
		if used+n > c.max {
			return false
		}
		if c.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// give returns n bytes.
func (c *checkBudget) give(n int64) {
	if c != nil && n != 0 {
		c.used.Add(-n)
	}
}
