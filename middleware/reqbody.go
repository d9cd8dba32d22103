package middleware

import (
	"io"
	"net/http"
)

// heldBody stands in for a request's body while the middleware reads it
// (a form body for a token, a body the policy judges): what is read stays
// in memory until the request is over, so it is counted in the
// check-memory budget like the buffer of a checked response. Without it,
// a few hundred clients each sending a body at the policy's size limit
// would hold gigabytes. A read that finds the budget spent fails, and the
// request is answered 503 with Retry-After.
type heldBody struct {
	rc      io.ReadCloser
	budget  *checkBudget
	held    int64 // bytes read, and taken from budget
	starved bool  // a read found the budget spent
}

// Read reads from the real body and takes what it read from the budget.
func (h *heldBody) Read(p []byte) (int, error) {
	n, err := h.rc.Read(p)
	if n > 0 {
		if !h.budget.take(int64(n)) {
			h.starved = true
			return 0, errBudgetSpent
		}
		h.held += int64(n)
	}
	return n, err
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
// otherwise: a request without a body costs nothing).
func holdBody(r *http.Request, budget *checkBudget) *heldBody {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	h := &heldBody{rc: r.Body, budget: budget}
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
