package middleware

import (
	"encoding/json"
	"unicode/utf8"
)

// The response checks read JSON with reader, a strict pull parser: one
// pass over the bytes validates the syntax (the documents encoding/json
// accepts, nested at most maxJSONDepth deep) while the caller walks the
// members it cares about, and ordinary documents are read without
// allocating. Objects are read with a foldSet, so that keys a JSON parser
// could take for one (equal, or equal under Unicode case folding, as Go's
// encoding/json matches them) are noticed.

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

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

func (r *reader) skipSpace() { r.i = skipSpace(r.b, r.i) }

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
	if r.depth >= maxJSONDepth {
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
		r.i = skipSpace(r.b, r.i+1)
	default:
		if n > 0 {
			return jsonKey{}, r.fail()
		}
	}
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return jsonKey{}, r.fail()
	}
	end, plain := scanString(r.b, r.i)
	if end < 0 {
		return jsonKey{}, r.fail()
	}
	k := jsonKey{quoted: r.b[r.i:end], plain: plain}
	if !plain {
		k.decoded = decodeString(k.quoted)
	}
	r.i = skipSpace(r.b, end)
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
	end := scanValue(r.b, r.i, r.depth)
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
	return !r.bad && r.depth == 0 && skipSpace(r.b, r.i) == len(r.b)
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

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue validates the JSON value starting at b[i] (space before it
// skipped), inside depth open containers, and returns the index after it,
// or -1.
func scanValue(b []byte, i, depth int) int {
	i = skipSpace(b, i)
	if i < len(b) && (b[i] == '{' || b[i] == '[') {
		return scanContainer(b, i, depth)
	}
	return scanScalar(b, i)
}

// scanScalar validates the string, number or literal at b[i] and returns
// the index after it, or -1.
func scanScalar(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := scanString(b, i)
		return end
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return scanNumber(b, i)
	}
	return -1
}

// scanContainer validates the object or array at b[i] iteratively (no
// recursion, however deep), with a bit stack of which open levels are
// objects (on the stack up to 256 levels).
func scanContainer(b []byte, i, depth int) int {
	var small [4]uint64
	stack := small[:]
	level := 0
	afterValue := false
	for {
		if afterValue {
			if level == 0 {
				return i
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return -1
			}
			inObj := stack[(level-1)/64]&(1<<((level-1)%64)) != 0
			switch c := b[i]; {
			case c == ',':
				i = skipSpace(b, i+1)
				if inObj {
					if i = scanKey(b, i); i < 0 {
						return -1
					}
				}
				afterValue = false
			case (c == '}' && inObj) || (c == ']' && !inObj):
				level--
				i++
			default:
				return -1
			}
			continue
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return -1
		}
		c := b[i]
		if c != '{' && c != '[' {
			if i = scanScalar(b, i); i < 0 {
				return -1
			}
			afterValue = true
			continue
		}
		if depth+level >= maxJSONDepth {
			return -1
		}
		if level/64 == len(stack) {
			stack = append(stack, 0)
		}
		if c == '{' {
			stack[level/64] |= 1 << (level % 64)
		} else {
			stack[level/64] &^= 1 << (level % 64)
		}
		level++
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
			level--
			i++
			afterValue = true
			continue
		}
		if c == '{' {
			if i = scanKey(b, i); i < 0 {
				return -1
			}
		}
	}
}

// scanKey reads `"key" :` and the space after it, returning the index of
// the value, or -1.
func scanKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	end, _ := scanString(b, i)
	if end < 0 {
		return -1
	}
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	i = skipSpace(b, i+1)
	if i >= len(b) {
		return -1
	}
	return i
}

// strSpecial marks the bytes a string scan must look at: the quote, the
// backslash, control characters (invalid) and non-ASCII bytes (which make
// a key not plain).
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// scanString validates the string at b[i] (a quote) and returns the index
// after its closing quote (or -1), and whether it is plain: printable
// ASCII without escapes.
func scanString(b []byte, i int) (int, bool) {
	plain := true
	i++
	for {
		for i < len(b) && !strSpecial[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, plain
		case c < 0x20:
			return -1, false
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return -1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return -1, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return -1, false
					}
				}
				i += 6
			default:
				return -1, false
			}
		default: // non-ASCII
			plain = false
			i++
		}
	}
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; what
// follows it is the caller's to check.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
