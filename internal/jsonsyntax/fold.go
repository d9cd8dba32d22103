package jsonsyntax

import (
	"encoding/binary"
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

// foldHash hashes the UTF-8 bytes of name's folded runes (foldRune), so
// that names that are FoldEqual hash alike, eight bytes to a step. A
// plain name (ASCII) is its own folded bytes once upper-cased, which
// upperASCII8 does eight at a time: the reader hashes every member name
// it reads, and most are plain.
func foldHash(name []byte, plain bool) uint64 {
	if !plain {
		return foldHashRunes(name)
	}
	h := uint64(hashSeed)
	i := 0
	for ; i+8 <= len(name); i += 8 {
		h = hashStep(h, upperASCII8(binary.LittleEndian.Uint64(name[i:])))
	}
	if i < len(name) {
		h = hashStep(h, upperASCII8(loadShort(name[i:])))
	}
	return hashStep(h, uint64(len(name)))
}

// loadShort returns the bytes of b (fewer than eight) as a little-endian
// word, zero above them: three loads at most, not a loop over the bytes
// (which cost foldHash half its instructions on FHIR element names).
func loadShort(b []byte) uint64 {
	var w uint64
	shift := 0
	if len(b)&4 != 0 {
		w, b, shift = uint64(binary.LittleEndian.Uint32(b)), b[4:], 32
	}
	if len(b)&2 != 0 {
		w |= uint64(binary.LittleEndian.Uint16(b)) << shift
		b, shift = b[2:], shift+16
	}
	if len(b)&1 != 0 {
		w |= uint64(b[0]) << shift
	}
	return w
}

// foldHashRunes is foldHash for a name that is not plain: its runes are
// folded one by one and their bytes gathered into words as a plain
// name's are.
func foldHashRunes(name []byte) uint64 {
	h := uint64(hashSeed)
	var w uint64
	n := 0 // folded bytes hashed
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(name); {
		r, size := decodeRune(name, i)
		i += size
		for _, c := range utf8.AppendRune(buf[:0], foldRune(r)) {
			w |= uint64(c) << (8 * (n % 8))
			if n++; n%8 == 0 {
				h, w = hashStep(h, w), 0
			}
		}
	}
	if n%8 != 0 {
		h = hashStep(h, w)
	}
	return hashStep(h, uint64(n))
}

// hashStep mixes the word w into the hash h: a multiplication carries
// each bit of w upwards, the shift brings the high bits down again.
// For a given w it is a bijection of h, so two names that differ in one
// word only never hash alike.
func hashStep(h, w uint64) uint64 {
	h = (h ^ w) * hashMul
	return h ^ h>>32
}

const (
	hashSeed = 14695981039346656037 // FNV-1a's offset basis
	hashMul  = 0x9e3779b97f4a7c15   // 2^64 / the golden ratio, odd
)

// upperASCII8 upper-cases the eight ASCII bytes of w (each below 0x80):
// a byte from 'a' to 'z' loses 0x20. Adding 0x80-'a' to a byte sets its
// high bit when it is 'a' or above, adding 0x80-'z'-1 when it is above
// 'z'; neither carries into the next byte.
func upperASCII8(w uint64) uint64 {
	lower := (w + ones*(0x80-'a')) &^ (w + ones*(0x80-'z'-1)) & highs
	return w - lower>>2
}

// NameSet holds the names of one object's members, folded, to find
// those a parser could take for one: equal after unquoting ("\u0061" is
// "a") or FoldEqual. It keeps 64-bit hashes of the folded names, so two
// different names of the same hash are taken for duplicates: a
// collision refuses a document, which fails closed. The zero value is
// empty; up to 32 names it does not allocate, and finds a name among
// those it holds by comparing hashes in a row: a FHIR resource's root
// object, the largest most documents hold, has 10 to 25 members, for
// which a map costs more than the comparisons (the compartment walk of a
// 17-member Observation: 4.6k more instructions, of 42k, with a map from
// the 17th name on).
type NameSet struct {
	n     int
	small [32]uint64
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
