package middleware

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// The response checks read JSON with reader, a strict pull parser: one
// pass over the bytes validates the syntax (the documents encoding/json
// accepts, nested at most jsonsyntax.MaxDepth deep) while the caller walks the
// members it cares about, and ordinary documents are read without
// allocating. Objects are read with a foldSet, so that keys a JSON parser
// could take for one (equal, or equal under Unicode case folding, as Go's
// encoding/json matches them) are noticed. The syntax checks themselves
// (strings, numbers, skipped values) are jsonsyntax's, as in fhirauth.

// reader reads one JSON document. A syntax error sets bad; after it every
// method fails.
type reader struct {
	b     []byte
	i     int
	depth int
	bad   bool
}

func (r *reader) fail() bool {
	r.bad = true
	return false
}

func (r *reader) skipSpace() { r.i = jsonsyntax.SkipSpace(r.b, r.i) }

// open consumes c ('{' or '[') when the next value starts with it. When it
// does not, nothing is consumed and open reports false without marking the
// document bad: the caller skips the value with value().
func (r *reader) open(c byte) bool {
	if r.bad {
		return false
	}
	r.skipSpace()
	if r.i >= len(r.b) || r.b[r.i] != c {
		return false
	}
	if r.depth >= jsonsyntax.MaxDepth {
		return r.fail()
	}
	r.i++
	r.depth++
	return true
}

// member moves to the next member of the object being read (n members
// read so far): it consumes the separator, the key and the colon, so that
// the value comes next (read it with value, open, ...). It reports false
// when the object ends (its closing brace consumed) or on a syntax error.
// The key's dup is set when keys already holds a key equal to it under
// case folding; the key is added either way.
func (r *reader) member(n int, keys *foldSet) (jsonKey, bool) {
	if r.bad {
		return jsonKey{}, false
	}
	r.skipSpace()
	if r.i >= len(r.b) {
		return jsonKey{}, r.fail()
	}
	switch r.b[r.i] {
	case '}':
		r.i++
		r.depth--
		return jsonKey{}, false
	case ',':
		if n == 0 {
			return jsonKey{}, r.fail()
		}
		r.i = jsonsyntax.SkipSpace(r.b, r.i+1)
	default:
		if n > 0 {
			return jsonKey{}, r.fail()
		}
	}
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return jsonKey{}, r.fail()
	}
	end, plain := jsonsyntax.ScanStringPlain(r.b, r.i)
	if end < 0 {
		return jsonKey{}, r.fail()
	}
	k := jsonKey{quoted: r.b[r.i:end], plain: plain}
	if !plain {
		k.decoded = decodeString(k.quoted)
	}
	r.i = jsonsyntax.SkipSpace(r.b, end)
	if r.i >= len(r.b) || r.b[r.i] != ':' {
		return jsonKey{}, r.fail()
	}
	r.i++
	k.dup = !keys.add(k.foldHash())
	return k, true
}

// element moves to the next element of the array being read (n elements
// read so far), consuming the separator. It reports false when the array
// ends (its closing bracket consumed) or on a syntax error.
func (r *reader) element(n int) bool {
	if r.bad {
		return false
	}
	r.skipSpace()
	if r.i >= len(r.b) {
		return r.fail()
	}
	switch r.b[r.i] {
	case ']':
		r.i++
		r.depth--
		return false
	case ',':
		if n == 0 {
			return r.fail()
		}
		r.i++
	default:
		if n > 0 {
			return r.fail()
		}
	}
	return true
}

// value reads (validates) the next value whole and returns its bytes, nil
// on a syntax error.
func (r *reader) value() []byte {
	if r.bad {
		return nil
	}
	r.skipSpace()
	start := r.i
	end := jsonsyntax.ValidValue(r.b, r.i, r.depth)
	if end < 0 {
		r.fail()
		return nil
	}
	r.i = end
	return r.b[start:end]
}

// atEnd reports whether the document was read without error and only
// space follows.
func (r *reader) atEnd() bool {
	return !r.bad && r.depth == 0 && jsonsyntax.SkipSpace(r.b, r.i) == len(r.b)
}

// jsonKey is an object key as read.
type jsonKey struct {
	quoted  []byte // the key as written, quotes included
	plain   bool   // printable ASCII without escapes: quoted holds the key verbatim
	decoded string // the key, when it is not plain
	dup     bool   // an earlier key of the object folds to the same
}

// is reports whether the key is exactly name.
func (k jsonKey) is(name string) bool {
	if k.plain {
		return string(k.quoted[1:len(k.quoted)-1]) == name
	}
	return k.decoded == name
}

// index returns the position of the key in names, or -1.
func (k jsonKey) index(names []string) int {
	for i, n := range names {
		if k.is(n) {
			return i
		}
	}
	return -1
}

// folds reports whether the key equals name under case folding (name is
// lower-case ASCII).
func (k jsonKey) folds(name string) bool {
	if k.plain {
		s := k.quoted[1 : len(k.quoted)-1]
		if len(s) != len(name) {
			return false
		}
		for i := range s {
			if lowerASCII(s[i]) != name[i] {
				return false
			}
		}
		return true
	}
	return foldKey(k.decoded) == name
}

// foldHash hashes the key's case-folding class (foldKey): keys that
// strings.EqualFold considers equal hash alike.
func (k jsonKey) foldHash() uint64 {
	if k.plain {
		h := uint64(fnvOffset)
		for _, c := range k.quoted[1 : len(k.quoted)-1] {
			h = (h ^ uint64(lowerASCII(c))) * fnvPrime
		}
		return h
	}
	h := uint64(fnvOffset)
	s := foldKey(k.decoded)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// foldSet holds the fold hashes of the keys of one object. Two keys of the
// same hash count as duplicates: a (64-bit) collision refuses a document,
// which fails closed. Up to len(small) keys it does not allocate.
type foldSet struct {
	n     int
	small [24]uint64
	big   map[uint64]struct{}
}

// add adds h and reports whether it was new.
func (s *foldSet) add(h uint64) bool {
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

// decodeString decodes a valid quoted JSON string as encoding/json does
// (invalid UTF-8 and lone surrogates become U+FFFD).
func decodeString(quoted []byte) string {
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return string(utf8.RuneError) // cannot happen for a scanned string
	}
	return s
}

// isString reports whether v (a valid JSON value) is the string s.
func isString(v []byte, s string) bool {
	if len(v) < 2 || v[0] != '"' {
		return false
	}
	if len(v) == len(s)+2 && string(v[1:len(v)-1]) == s {
		// Equal bytes: equal strings unless v holds escapes, which
		// change the length, or s itself holds a backslash or quote.
		return true
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c >= utf8.RuneSelf {
			return decodeString(v) == s
		}
	}
	return false
}

// stringValue returns the string v (a valid JSON value) holds, and false
// when it is not a string.
func stringValue(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	return decodeString(v), true
}

func isNullValue(v []byte) bool { return string(v) == "null" }
