package fhirspec

import (
	"bytes"
	"errors"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// jsonScanner walks a JSON document. Without validate it trusts that the
// document is valid (encoding/json.Valid accepts it) and skips values
// fast; with validate it checks the syntax of everything it reads or
// skips, so that a walk that reaches the end of the root value without
// marking the scan bad has validated it as jsonsyntax.Valid would. It never
// panics on any input: every read is bounds-checked and a structural
// surprise ends the walk with bad set.
type jsonScanner struct {
	data     []byte
	pos      int
	depth    int  // arrays and objects open around pos
	validate bool // check syntax while walking
	bad      bool // a structural surprise (syntax error)
	// ambiguous is the error for an object with two names a parser may
	// take for one (a syntax error too: bad is set).
	ambiguous error
	// escaped reports whether the last string str returned was decoded
	// into buf (and so is overwritten by the next escaped string).
	escaped bool
	buf     []byte // scratch for unescaped strings
}

func (s *jsonScanner) ws() { s.pos = jsonsyntax.SkipSpace(s.data, s.pos) }

// peek returns the next non-space byte, or 0 at the end.
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// expect consumes byte c after optional space.
func (s *jsonScanner) expect(c byte) bool {
	if s.peek() != c {
		s.bad = true
		return false
	}
	s.pos++
	return true
}

// str reads a string at the current position and returns its decoded
// content. The result aliases the input or the scanner's scratch buffer and
// is valid until the next call to str.
func (s *jsonScanner) str() (string, bool) {
	if !s.expect('"') {
		return "", false
	}
	s.pos-- // rawStr expects the opening quote
	raw, ok := s.rawStr()
	if !ok {
		return "", false
	}
	s.escaped = bytes.IndexByte(raw, '\\') >= 0
	if !s.escaped {
		return bytesString(raw), true
	}
	b, err := jsonsyntax.AppendUnquote(s.buf[:0], s.data[s.pos-len(raw)-2:s.pos])
	if err != nil {
		s.bad = true
		return "", false
	}
	s.buf = b
	return bytesString(b), true
}

// skip consumes one value of any kind. A validating scanner checks it
// (nesting counted from the levels already open); otherwise its end is
// found by jsonsyntax.Skip's fast scan, which stays in bounds on any
// input, and a position that holds no value marks the scan bad.
func (s *jsonScanner) skip() {
	switch s.peek() {
	case 0, ',', ':', '}', ']':
		s.bad = true
		return
	}
	if s.validate {
		end := jsonsyntax.ValidValue(s.data, s.pos, s.depth)
		if end < 0 {
			s.bad = true
			return
		}
		s.pos = end
		return
	}
	s.pos = jsonsyntax.Skip(s.data, s.pos)
}

// end reports whether only space follows the root value.
func (s *jsonScanner) end() bool {
	s.ws()
	return !s.bad && s.depth == 0 && s.pos == len(s.data)
}

// rawStr consumes a string without decoding it: validated, or its end
// found by jsonsyntax.SkipString's fast scan.
func (s *jsonScanner) rawStr() ([]byte, bool) {
	var end int
	if s.validate {
		end = jsonsyntax.ScanString(s.data, s.pos)
	} else {
		end = jsonsyntax.SkipString(s.data, s.pos)
	}
	if end < 0 {
		s.bad = true
		return nil, false
	}
	raw := s.data[s.pos+1 : end-1]
	s.pos = end
	return raw, true
}

// object iterates the members of the object at the current position
// with jsonsyntax's object reader, calling member with each key; member
// must consume the value. It stops early when member returns false. Two
// names a parser may take for one end the walk with ambiguous set.
func (s *jsonScanner) object(member func(key string) bool) {
	if s.peek() != '{' {
		s.bad = true
		return
	}
	obj := jsonsyntax.ReadValidObject(s.data, s.pos)
	if s.validate {
		obj = jsonsyntax.ReadObject(s.data, s.pos, s.depth)
	}
	s.depth++
	for obj.Next() {
		s.pos, _ = obj.ValueStart()
		s.escaped = obj.Escaped()
		if !member(bytesString(obj.Name())) || s.bad {
			return
		}
		obj.SkipTo(s.pos)
	}
	if err := obj.Err(); err != nil {
		s.bad = true
		if errors.Is(err, jsonsyntax.ErrDuplicateName) {
			s.ambiguous = err
		}
		return
	}
	s.depth--
	s.pos = obj.End()
}
