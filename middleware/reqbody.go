package middleware

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// heldBody stands in for a request's body while the middleware reads it
// (a form body for a token, a body the policy judges): what is read stays
// in memory until the request is over, so it is counted in the
// check-memory budget like the buffer of a checked response. Without it,
// a few hundred clients each sending a body at the policy's size limit
// would hold gigabytes. A body of declared length is counted whole at its
// first read, since the reader then makes room for all of it (fhirauth
// does): counted as it arrives, a body sent slowly would hold memory the
// budget does not see. A read that finds the budget spent fails, and the
// request is answered 503 with Retry-After.
//
// The read is bounded in time too (WithBodyReadTimeout): from the first
// read, the body must arrive whole within the timeout, or the read fails
// and the request is answered 408. Without it a client sending a byte a
// second would hold its share of the budget, and the memory of a body
// of declared length, for as long as the server lets it (net/http's
// ReadTimeout, none by default).
type heldBody struct {
	rc       io.ReadCloser
	budget   *checkBudget
	held     int64 // bytes taken from budget: read, declared ahead, copies
	ahead    int64 // of held, the declared bytes not read yet
	declared int64 // the body's Content-Length, when within the size limit (else 0)
	starved  bool  // a read found the budget spent

	w        http.ResponseWriter // where the read deadline is set (nil: none)
	ctx      context.Context     // the request's, for its *http.Server
	timeout  time.Duration
	started  bool // the first read took the declared length and set the deadline
	deadline bool // a read deadline is set on the connection
	slow     bool // a read failed at the deadline
}

// Read reads from the real body and takes what it read from the budget.
func (h *heldBody) Read(p []byte) (int, error) {
	if !h.started && !h.start() {
		h.starved = true
		return 0, errBudgetSpent
	}
	n, err := h.rc.Read(p)
	if n > 0 && !h.count(int64(n)) {
		h.starved = true
		return 0, errBudgetSpent
	}
	switch {
	case err == io.EOF:
		h.endDeadline()
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		h.slow = true
	}
	return n, err
}

// start begins the reading of the body: it takes the declared length from
// the budget (false when there is no room for it) and sets the deadline.
func (h *heldBody) start() bool {
	h.started = true
	if h.declared > 0 {
		if !h.budget.take(h.declared) {
			return false
		}
		h.held += h.declared
		h.ahead = h.declared
	}
	h.startDeadline()
	return true
}

// count counts n bytes just read: from the declared length taken ahead,
// and beyond it (a body longer than it said) from the budget.
func (h *heldBody) count(n int64) bool {
	used := min(n, h.ahead)
	h.ahead -= used
	if n -= used; n == 0 {
		return true
	}
	if !h.budget.take(n) {
		return false
	}
	h.held += n
	return true
}

// startDeadline sets the connection's read deadline to the body read
// timeout from now. When the server's own ReadTimeout is not longer, its
// deadline is left alone: it runs from the start of the request, so it
// already ends first, and a deadline set from now would extend it. A
// ResponseWriter that cannot set deadlines (http.ErrNotSupported) leaves
// the server's own.
func (h *heldBody) startDeadline() {
	if h.w == nil || h.timeout <= 0 {
		return
	}
	if srv, ok := h.ctx.Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 && srv.ReadTimeout <= h.timeout {
		return
	}
	h.deadline = http.NewResponseController(h.w).SetReadDeadline(time.Now().Add(h.timeout)) == nil
}

// endDeadline clears the read deadline once the body has been read
// whole: it bounds the body, not the wrapped handler's work after it
// (net/http's HTTP/1 server clears it too when it starts reading ahead
// for the next request; another server may not). The next request on
// the connection gets the server's deadlines anew.
func (h *heldBody) endDeadline() {
	if h.deadline {
		h.deadline = false
		_ = http.NewResponseController(h.w).SetReadDeadline(time.Time{})
	}
}

// Close closes the real body, unless a read found the budget spent: the
// request is then refused, and closing would first read (and wait for)
// up to 256 KiB more of a body no one wants; the connection is closed
// after the answer instead (see refuseSpent).
func (h *heldBody) Close() error {
	if h.starved {
		return nil
	}
	return h.rc.Close()
}

// holdBody puts a heldBody in front of r's body, if it has one (nil
// otherwise: a request without a body costs nothing), counted in c's
// budget, its reads timing out after c's body read timeout on w's
// connection.
func holdBody(r *http.Request, w http.ResponseWriter, c *config) *heldBody {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	h := &heldBody{rc: r.Body, budget: c.budget, w: w, ctx: r.Context(), timeout: c.bodyTimeout}
	if r.ContentLength > 0 && r.ContentLength <= c.maxBody {
		h.declared = r.ContentLength
	}
	r.Body = h
	return h
}

// holdMore counts n more bytes the middleware holds for the request until
// it is over (a copy of the body it makes), waiting briefly for room;
// false when the budget is spent. A request without a body holds nothing.
func (h *heldBody) holdMore(n int64) bool {
	if h == nil {
		return true
	}
	if !h.budget.take(n) {
		return false
	}
	h.held += n
	return true
}

// spent reports whether a read found the budget spent.
func (h *heldBody) spent() bool { return h != nil && h.starved }

// tooSlow reports whether a read failed at the read deadline: the body
// did not arrive in time.
func (h *heldBody) tooSlow() bool { return h != nil && h.slow }

// handOff ends the counting: a body the middleware did not read goes to
// the next handler as it came, to be read (streamed) there. What was read
// stays counted until release.
func (h *heldBody) handOff(r *http.Request) {
	if h != nil && r.Body == io.ReadCloser(h) {
		r.Body = h.rc
	}
}

// release gives back what was read, and r (the request as the server
// made it) its own body if the middleware did not read it: net/http
// looks at that body after a handler that refused a request from its
// headers alone, to answer "Expect: 100-continue" without waiting for
// the body; in front of it, it would first read the body.
func (h *heldBody) release(r *http.Request) {
	if h != nil {
		h.handOff(r)
		h.budget.give(h.held)
		h.held = 0
	}
}
