package middleware

import (
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// The response checks read JSON with reader, a strict pull parser: one
// pass over the bytes validates the syntax (the documents encoding/json
// accepts, nested at most jsonsyntax.MaxDepth deep) while the caller walks the
// members it cares about, and ordinary documents are read without
// allocating. Member names are read with jsonsyntax.ReadName and kept in
// a jsonsyntax.NameSet, so that keys a JSON parser could take for one
// (equal once unquoted, or equal under the Unicode case folding Go's
// encoding/json matches them by) are noticed by jsonsyntax's one rule.
// The syntax checks themselves (strings, numbers, skipped values) are
// jsonsyntax's too; reader only walks, and keeps reading past an
// ambiguous key so that its caller decides what to withhold.

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
	name, plain, end, err := jsonsyntax.ReadName(r.b, r.i, nil)
	if err != nil {
		return jsonKey{}, r.fail()
	}
	r.i = jsonsyntax.SkipSpace(r.b, end)
	if r.i >= len(r.b) || r.b[r.i] != ':' {
		return jsonKey{}, r.fail()
	}
	r.i++
	return jsonKey{name: name, dup: !keys.Add(name, plain)}, true
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

// foldSet holds the names of one object's members, to find those a
// parser could take for one.
type foldSet = jsonsyntax.NameSet

// jsonKey is an object key as read.
type jsonKey struct {
	name []byte // unquoted: views the document when written plain
	dup  bool   // an earlier key of the object folds to the same
}

// is reports whether the key is exactly name.
func (k jsonKey) is(name string) bool { return string(k.name) == name }

// index returns the position of the key in names, or -1.
func (k jsonKey) index(names []string) int {
	for i, n := range names {
		if k.is(n) {
			return i
		}
	}
	return -1
}

// folds reports whether the key equals name under jsonsyntax's fold.
func (k jsonKey) folds(name string) bool { return jsonsyntax.FoldEqual(k.name, name) }

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
			d, err := jsonsyntax.Unquote(v)
			return err == nil && d == s
		}
	}
	return false
}

// stringValue returns the string v (a valid JSON value) holds, and false
// when it is not a string, or not one that unquotes to valid UTF-8.
func stringValue(v []byte) (string, bool) {
	s, err := jsonsyntax.Unquote(v)
	return s, err == nil
}

func isNullValue(v []byte) bool { return string(v) == "null" }

// resourceID reads the resourceType and id of a checked resource ("" when
// they cannot be read unambiguously).
func resourceID(body []byte) (rt, id string) {
	r := reader{b: body}
	if !r.open('{') {
		return "", ""
	}
	var keys foldSet
	for n := 0; ; n++ {
		k, more := r.member(n, &keys)
		if !more {
			break
		}
		if k.dup {
			return "", ""
		}
		v := r.value()
		switch {
		case k.is("resourceType"):
			rt, _ = stringValue(v)
		case k.is("id"):
			id, _ = stringValue(v)
		}
	}
	if !r.atEnd() {
		return "", ""
	}
	return rt, id
}
