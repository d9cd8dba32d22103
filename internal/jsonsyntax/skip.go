package jsonsyntax

import "bytes"

// Skip returns the index just after the JSON value that starts at
// d[i] (i at its first byte, not at space). d must be valid JSON
// (Valid): Skip does not check syntax, it only finds the end, fast. On
// other input it still never reads out of bounds, and returns at most
// len(d).
func Skip(d []byte, i int) int {
	if i >= len(d) {
		return i
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			c := d[i]
			if !containerStop[c] {
				i++
				continue
			}
			switch c {
			case '"':
				i = skipString(d, i)
				continue
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(d) && !scalarEnd[d[i]] {
			i++
		}
		return i
	}
}

// scalarEnd marks the bytes that end a number or literal.
var scalarEnd = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, ',': true, '}': true, ']': true}

// containerStop marks the bytes Skip looks at inside an object or
// array; it steps over all others one table lookup at a time.
var containerStop = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// SkipString returns the index just after the string that starts at
// d[i] == '"', found fast without validating it (d valid JSON, as for
// Skip), or -1 when no string starts there or no closing quote follows.
func SkipString(d []byte, i int) int {
	if i < 0 || i >= len(d) || d[i] != '"' {
		return -1
	}
	end := skipString(d, i)
	if end < len(d) || closedAtEnd(d, i) {
		return end
	}
	return -1
}

// closedAtEnd reports whether the last byte of d is a quote that closes
// the string starting at d[i]: a quote other than d[i], not escaped.
func closedAtEnd(d []byte, i int) bool {
	last := len(d) - 1
	if last <= i || d[last] != '"' {
		return false
	}
	n := 0
	for k := last - 1; k > i && d[k] == '\\'; k-- {
		n++
	}
	return n%2 == 0
}

// skipString returns the index after the string starting at d[i] == '"',
// or len(d) when no unescaped quote ends it.
func skipString(d []byte, i int) int {
	i++
	for i < len(d) {
		j := bytes.IndexByte(d[i:], '"')
		if j < 0 {
			return len(d)
		}
		end := i + j
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for k := end - 1; k >= i && d[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return end + 1
		}
		i = end + 1
	}
	return len(d)
}

// StringEnd finds the end of a string that arrives in pieces: p holds
// the next bytes of its content (after the opening quote, or after the
// pieces before), and esc says whether the byte before p[0] was an
// escaping backslash. It returns the index in p just after the closing
// quote, or -1, with esc updated for the next piece, when p ends first.
// Like SkipString it does not validate; each byte is searched once for a
// quote and once for a backslash, so a string of many escapes, however
// it is cut, is scanned in linear time.
func StringEnd(p []byte, esc *bool) int {
	i, q := 0, -2 // q: the next quote at or after i; -1: none in p; -2: not searched
	for {
		if *esc {
			if i == len(p) {
				return -1
			}
			*esc = false
			i++ // the escaped byte
		}
		if q == -2 || (q >= 0 && q < i) {
			if q = bytes.IndexByte(p[i:], '"'); q >= 0 {
				q += i
			}
		}
		end := len(p)
		if q >= 0 {
			end = q
		}
		b := bytes.IndexByte(p[i:end], '\\')
		if b < 0 {
			if q < 0 {
				return -1
			}
			return q + 1
		}
		i += b + 1
		*esc = true
	}
}
