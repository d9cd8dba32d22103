package fhirauth

import "github.com/fhirwarden/fhirwarden/internal/jsonsyntax"

// valueScan finds where one JSON value ends in input that arrives in
// pieces, without holding it: it tracks strings, escapes and the depth of
// brackets, nothing else. It does not validate: the value it delimits is
// then read whole with jsonsyntax, which refuses anything that is not
// exactly one JSON value (so a bracket that closes the wrong kind, which
// valueScan counts as any other, cannot make a wrong boundary pass).
type valueScan struct {
	kind  byte // 0 before the first byte, else scanObject, scanString or scanScalar
	depth int  // brackets open (scanObject)
	inStr bool // inside a string
	esc   bool // the last byte seen was the backslash of an escape
}

const (
	scanObject = 1 + iota // an object or array
	scanString
	scanScalar // a number, true, false, null, or not JSON
)

// structural marks the bytes that matter to valueScan outside strings.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// feed scans p, the next bytes of the value (p[0] is its first byte on
// the first call), and returns the index in p just after the value's end,
// or -1 when the value goes on past p. A scalar ends before the first
// byte that cannot belong to it (space, ',', '}' or ']'), which is not
// part of it.
func (s *valueScan) feed(p []byte) int {
	i := 0
	if s.kind == 0 {
		switch p[0] {
		case '{', '[':
			s.kind, s.depth = scanObject, 1
		case '"':
			s.kind, s.inStr = scanString, true
		default:
			s.kind = scanScalar
		}
		if s.kind != scanScalar {
			i = 1
		}
	}
	switch s.kind {
	case scanScalar:
		for ; i < len(p); i++ {
			switch p[i] {
			case ' ', '\t', '\n', '\r', ',', '}', ']':
				return i
			}
		}
		return -1
	case scanString:
		return s.inString(p, i)
	}
	for i < len(p) {
		if s.inStr {
			if i = s.inString(p, i); i < 0 {
				return -1
			}
			continue
		}
		for i < len(p) && !structural[p[i]] {
			i++
		}
		if i == len(p) {
			return -1
		}
		switch p[i] {
		case '"':
			s.inStr = true
		case '{', '[':
			s.depth++
		default:
			if s.depth--; s.depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return -1
}

// inString scans a string's bytes from p[i] and returns the index just
// after its closing quote, or -1 when the string goes on past p.
func (s *valueScan) inString(p []byte, i int) int {
	end := jsonsyntax.StringEnd(p[i:], &s.esc)
	if end < 0 {
		return -1
	}
	s.inStr = false
	return i + end
}
