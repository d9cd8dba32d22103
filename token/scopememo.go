package token

import (
	"sync"

	"github.com/fhirwarden/fhirwarden/scope"
)

// scopeMemo remembers parsed scope claims. Access tokens of one client carry
// the same scope string over and over; parsing it (~4 us for eight scopes)
// would otherwise be the largest cost of verification after the signature
// check. scope.Set is immutable, so one parsed Set is safely shared. The
// memo is bounded: when full it starts over. Only successful parses are
// remembered.
type scopeMemo struct {
	mu sync.RWMutex
	m  map[string]scope.Set
}

const scopeMemoSize = 512

func (s *scopeMemo) get(claim string) (scope.Set, bool) {
	s.mu.RLock()
	set, ok := s.m[claim]
	s.mu.RUnlock()
	return set, ok
}

func (s *scopeMemo) put(claim string, set scope.Set) {
	if len(claim) > 4096 {
		return // unusually long claims are not worth keeping
	}
	s.mu.Lock()
	if s.m == nil || len(s.m) >= scopeMemoSize {
		s.m = make(map[string]scope.Set, 64)
	}
	s.m[claim] = set
	s.mu.Unlock()
}
