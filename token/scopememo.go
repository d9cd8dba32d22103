package token

import (
	"strings"
	"sync"

	"github.com/fhirwarden/fhirwarden/scope"
)

// scopeMemo remembers parsed scope claims. Access tokens of one client carry
// the same scope string over and over; parsing it (~4 us for eight scopes,
// ~230 us for four hundred) would otherwise be the largest cost of
// verification after the signature check. scope.Set is immutable, so one
// parsed Set is safely shared. Only successful parses are remembered.
//
// The memo is bounded by bytes, in two generations: claims are added to
// the young one; when it holds half the budget it becomes the old one and
// the previous old one is dropped. A claim found in the old generation
// moves back to the young one, so claims in use survive every turnover
// and only those unused for a whole generation are forgotten.
type scopeMemo struct {
	mu         sync.RWMutex
	young, old map[string]scope.Set
	youngBytes int64
	maxBytes   int64 // 0: scopeMemoBytes
}

// scopeMemoBytes is the memo's default budget: some thousands of distinct
// typical claims, or a hundred of the largest.
const scopeMemoBytes = 4 << 20

func (s *scopeMemo) get(claim string) (scope.Set, bool) {
	s.mu.RLock()
	set, ok := s.young[claim]
	if ok {
		s.mu.RUnlock()
		return set, true
	}
	set, ok = s.old[claim]
	s.mu.RUnlock()
	if ok {
		s.put(claim, set)
	}
	return set, ok
}

func (s *scopeMemo) put(claim string, set scope.Set) {
	size := memoEntrySize(claim)
	half := s.budget() / 2
	if size > half {
		return // a claim larger than a generation is not worth keeping
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.young[claim]; ok {
		return
	}
	if s.young == nil || s.youngBytes+size > half {
		s.old, s.young, s.youngBytes = s.young, make(map[string]scope.Set, 64), 0
	}
	s.young[claim] = set
	s.youngBytes += size
}

func (s *scopeMemo) budget() int64 {
	if s.maxBytes > 0 {
		return s.maxBytes
	}
	return scopeMemoBytes
}

// memoEntrySize estimates what a memoized claim holds: the claim, its map
// slot, and the parsed Set (about 160 bytes per scope).
func memoEntrySize(claim string) int64 {
	return int64(len(claim)) + 64 + 160*int64(strings.Count(claim, " ")+1)
}
