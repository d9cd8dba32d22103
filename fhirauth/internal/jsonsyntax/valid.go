package jsonsyntax

import "encoding/binary"

// maxJSONDepth matches encoding/json's nesting limit, so both accept the
// same documents.
const maxJSONDepth = 10000

// Valid reports whether data is exactly one JSON value (RFC 8259) with
// optional surrounding space, accepting the same documents as
// encoding/json.Valid (fhirspec's FuzzValidJSONSyntax compares them). It
// is a tight iterative loop with a fixed-size stack, several times faster
// than encoding/json's per-byte state machine, and never allocates. Like
// encoding/json.Valid it does not check UTF-8.
func Valid(data []byte) bool {
	end := ValidValue(data, 0, 0)
	return end >= 0 && skipSpace(data, end) == len(data)
}

// ValidValue validates the one JSON value that starts at data[i] (after
// optional space) and returns the index just after it, or -1 when no valid
// JSON value starts there. depth is how many arrays and objects are
// already open around the value, so that a reader walking a document
// itself, validating the values it does not descend into with ValidValue,
// limits nesting over the whole document exactly as Valid does. It never
// allocates.
func ValidValue(data []byte, i, depth int) int {
	if depth < 0 || i < 0 {
		return -1
	}
	// Most values nest shallowly: a small stack first, the full one only
	// for the rare deep value (validated again from its start).
	var small [4]uint64
	end := validValue(data, i, maxJSONDepth-depth, small[:])
	if end == tooDeepForStack {
		var full [maxJSONDepth/64 + 1]uint64
		end = validValue(data, i, maxJSONDepth-depth, full[:])
	}
	return end
}

// tooDeepForStack is validValue's answer when the value nests deeper than
// its stack holds (but maybe not deeper than allowed).
const tooDeepForStack = -2

// validValue is ValidValue with at most limit open levels inside the
// value, tracked in stack (bit set: the level is an object).
func validValue(data []byte, i, limit int, stack []uint64) int {
	depth := 0
	n := len(data)
	const (
		wantValue = iota
		afterValue
	)
	state := wantValue
	for {
		if state == afterValue {
			if depth == 0 {
				return i
			}
			i = skipSpace(data, i)
			if i >= n {
				return -1
			}
			inObject := stack[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			switch c := data[i]; {
			case c == ',':
				i = skipSpace(data, i+1)
				if inObject {
					if i = scanKey(data, i); i < 0 {
						return -1
					}
				}
				state = wantValue
			case c == '}' && inObject, c == ']' && !inObject:
				depth--
				i++
			default:
				return -1
			}
			continue
		}

		// wantValue
		i = skipSpace(data, i)
		if i >= n {
			return -1
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth >= limit {
				return -1
			}
			if depth >= len(stack)*64 {
				return tooDeepForStack
			}
			if c == '{' {
				stack[depth/64] |= 1 << (depth % 64)
			} else {
				stack[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			i = skipSpace(data, i+1)
			if i < n && data[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				depth--
				i++
				state = afterValue
				continue
			}
			if c == '{' {
				if i = scanKey(data, i); i < 0 {
					return -1
				}
			}
			// state stays wantValue
		case '"':
			if i = scanString(data, i); i < 0 {
				return -1
			}
			state = afterValue
		case 't':
			if i = scanLiteral(data, i, "true"); i < 0 {
				return -1
			}
			state = afterValue
		case 'f':
			if i = scanLiteral(data, i, "false"); i < 0 {
				return -1
			}
			state = afterValue
		case 'n':
			if i = scanLiteral(data, i, "null"); i < 0 {
				return -1
			}
			state = afterValue
		default:
			if i = scanNumber(data, i); i < 0 {
				return -1
			}
			state = afterValue
		}
	}
}

// ScanString validates the JSON string that starts at data[i] == '"'
// (control bytes and escapes as RFC 8259 says; UTF-8 is not checked) and
// returns the index just after its closing quote, or -1.
func ScanString(data []byte, i int) int {
	if i < 0 || i >= len(data) || data[i] != '"' {
		return -1
	}
	return scanString(data, i)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanKey consumes `"key" :` at i (no leading space) and returns the
// position after the colon, or -1.
func scanKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = scanString(data, i); i < 0 {
		return -1
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return i + 1
}

// scanString consumes the string starting at data[i] == '"' and returns
// the position after its closing quote, or -1.
func scanString(data []byte, i int) int {
	i++
	for {
		// Eight plain bytes at a time; then byte by byte up to the
		// special byte that stopped the fast loop.
		for i+8 <= len(data) && !hasSpecial(binary.LittleEndian.Uint64(data[i:])) {
			i += 8
		}
		for i < len(data) && !stringSpecial[data[i]] {
			i++
		}
		if i >= len(data) {
			return -1
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		}
		// A backslash.
		i++
		if i >= len(data) {
			return -1
		}
		switch data[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if !hex4(data, i+1) {
				return -1
			}
			i += 4
		default:
			return -1
		}
		i++
	}
}

// hasSpecial reports whether one of the eight bytes of x ends the fast path
// inside a string: a control byte (< 0x20), '"' or '\\'. Each test is the
// exact "has a zero byte" idiom (borrows only ever come from a byte that
// matches, so there are no false answers).
func hasSpecial(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	less := (x - ones*0x20) &^ x
	quote := x ^ (ones * '"')
	quote = (quote - ones) &^ quote
	bslash := x ^ (ones * '\\')
	bslash = (bslash - ones) &^ bslash
	return (less|quote|bslash)&highs != 0
}

// stringSpecial marks the bytes that end the fast path inside a string.
var stringSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func scanLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i int) int {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	switch {
	case i < n && data[i] == '0':
		i++
	case i < n && '1' <= data[i] && data[i] <= '9':
		i = digits(data, i)
	default:
		return -1
	}
	if i < n && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

// hex4 reports whether data[at:at+4] are four hex digits.
func hex4(data []byte, at int) bool {
	if at+4 > len(data) {
		return false
	}
	for _, c := range data[at : at+4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
