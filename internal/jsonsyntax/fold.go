package jsonsyntax

import (
	"unicode"
	"unicode/utf8"
)

// The one rule for member names that a JSON parser may take for one:
// encoding/json matches a member name to a struct field when the two are
// equal under Unicode simple case folding (its foldName: ASCII case, and
// "ſ" (U+017F) ~ "s", "K" (U+212A) ~ "k", ...). Two names that fold alike
// could fill the same field of some reader, so an object holding both is
// ambiguous; FoldEqual and the fold hash that NameSet keeps both fold
// each rune with foldRune, which is that rule.

// foldRune returns the smallest rune of r's simple case-folding orbit,
// the one representative encoding/json folds every rune of the orbit to.
// For ASCII that is the upper-case letter.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(upperASCII(byte(r)))
	}
	smallest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		smallest = min(smallest, f)
	}
	return smallest
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// FoldEqual reports whether the names a and b (unquoted, valid UTF-8)
// are equal under the fold rule: whether encoding/json would fill a
// struct field named a from a member named b. ASCII names are compared
// byte by byte; a non-ASCII byte in either sends both through foldRune
// (a two-byte "ſ" can fold to a one-byte "s", so lengths alone prove
// nothing then).
func FoldEqual[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) == len(b) {
		ascii := true
		for i := 0; i < len(a); i++ {
			if a[i]|b[i] >= utf8.RuneSelf {
				ascii = false
				break
			}
			if upperASCII(a[i]) != upperASCII(b[i]) {
				return false
			}
		}
		if ascii {
			return true
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ra, na := decodeRune(a, i)
		rb, nb := decodeRune(b, j)
		if foldRune(ra) != foldRune(rb) {
			return false
		}
		i, j = i+na, j+nb
	}
	return i == len(a) && j == len(b)
}

func decodeRune[T ~string | ~[]byte](s T, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
}

// foldHash is an FNV-1a hash of name's folded runes: names that are
// FoldEqual hash alike.
func foldHash(name []byte, plain bool) uint64 {
	h := uint64(fnvOffset)
	if plain {
		for _, c := range name {
			h = (h ^ uint64(upperASCII(c))) * fnvPrime
		}
		return h
	}
	for i := 0; i < len(name); {
		r, n := decodeRune(name, i)
		h = (h ^ uint64(foldRune(r))) * fnvPrime
		i += n
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// NameSet holds the names of one object's members, folded, to find
// those a parser could take for one: equal after unquoting ("\u0061" is
// "a") or FoldEqual. It keeps 64-bit hashes of the folded names, so two
// different names of the same hash are taken for duplicates: a
// collision refuses a document, which fails closed. The zero value is
// empty; up to 16 names it does not allocate.
type NameSet struct {
	n     int
	small [16]uint64
	big   map[uint64]struct{}
}

// Add records name (unquoted; plain when it is ASCII, for the fast
// fold) and reports whether no name folding alike was recorded before.
func (s *NameSet) Add(name []byte, plain bool) bool {
	return s.add(foldHash(name, plain))
}

func (s *NameSet) add(h uint64) bool {
	if s.big != nil {
		if _, dup := s.big[h]; dup {
			return false
		}
		s.big[h] = struct{}{}
		return true
	}
	for _, x := range s.small[:s.n] {
		if x == h {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = h
		s.n++
		return true
	}
	s.big = make(map[uint64]struct{}, 4*len(s.small))
	for _, x := range s.small {
		s.big[x] = struct{}{}
	}
	s.big[h] = struct{}{}
	return true
}
