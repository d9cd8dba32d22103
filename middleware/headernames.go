package middleware

import (
	"net/http"
	"strings"
)

// A handler that writes a header map directly may use a name in another
// letter case (h["cache-control"]), which net/http sends as it is and
// clients and caches read as the header it names. Where the middleware
// looks for a header to change or drop, such a name is first merged into
// the canonical one.

// headerNames is a set of canonical header names that are looked for in
// any letter case.
type headerNames struct {
	names   []string
	lengths uint64 // bit n set when a name is n bytes long: other keys need no case-insensitive comparison
}

// newHeaderNames returns the set of the canonical names given.
func newHeaderNames(names ...string) headerNames {
	s := headerNames{names: names}
	for _, n := range names {
		s.lengths |= 1 << len(n)
	}
	return s
}

// match returns the name of s that k equals in any letter case, or "".
func (s headerNames) match(k string) string {
	if len(k) >= 64 || s.lengths&(1<<len(k)) == 0 {
		return ""
	}
	for _, n := range s.names {
		if len(n) == len(k) && strings.EqualFold(n, k) {
			return n
		}
	}
	return ""
}

// canonicalize moves the values of every key of h that is a name of s in
// another letter case to the canonical key (after its own values).
func (s headerNames) canonicalize(h http.Header) {
	for k, v := range h {
		if name := s.match(k); name != "" && name != k {
			delete(h, k)
			h[name] = append(h[name][:len(h[name]):len(h[name])], v...)
		}
	}
}
