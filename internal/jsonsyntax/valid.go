package jsonsyntax

// MaxDepth is how deeply arrays and objects may nest: encoding/json's
// limit, so that Valid accepts the same documents. Readers that walk a
// document themselves refuse to open a level beyond it.
const MaxDepth = 10000

// Valid reports whether data is exactly one JSON value (RFC 8259) with
// optional surrounding space, accepting the same documents as
// encoding/json.Valid (fhirspec's FuzzValidJSONSyntax compares them). It
// is a tight iterative loop with a fixed-size stack, several times faster
// than encoding/json's per-byte state machine, and never allocates. Like
// encoding/json.Valid it does not check UTF-8.
func Valid(data []byte) bool {
	end := ValidValue(data, 0, 0)
	return end >= 0 && SkipSpace(data, end) == len(data)
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
	end := validValue(data, i, MaxDepth-depth, small[:])
	if end == tooDeepForStack {
		end = validValueDeep(data, i, depth)
	}
	return end
}

// validValueDeep is ValidValue with the full stack of levels, 1.25 kB: a
// frame of its own, so that the usual call does not make every goroutine
// that checks a response reserve (and grow its stack for) that much.
//
//go:noinline
func validValueDeep(data []byte, i, depth int) int {
	var full [MaxDepth/64 + 1]uint64
	return validValue(data, i, MaxDepth-depth, full[:])
}

// tooDeepForStack is validValue's answer when the value nests deeper than
// its stack holds (but maybe not deeper than allowed).
const tooDeepForStack = -2

// What validValue expects next.
const (
	wantValue = iota // a value
	wantAfter        // a comma or the close of the innermost level
	wantName         // a member name and its colon
)

// validValue is ValidValue with at most limit open levels inside the
// value, tracked in stack (bit set: the level is an object). It reads the
// value token by token, each byte once, in one loop over what it expects
// next: a loop that keeps its state in registers (a function per token
// costs half again Valid's time).
func validValue(data []byte, i, limit int, stack []uint64) int {
	n := len(data)
	depth := 0
	inObject := false // the innermost open level is an object
	want := wantValue
	for {
		// The next token's first byte. Space is rare between the tokens
		// of a server's output: one comparison rules it out before
		// SkipSpace's loop.
		if i >= n {
			return -1
		}
		c := data[i]
		if c <= ' ' {
			if i = SkipSpace(data, i); i >= n {
				return -1
			}
			c = data[i]
		}
		switch {
		case want == wantValue && (c == '{' || c == '['):
			if depth >= limit {
				return -1
			}
			if depth >= len(stack)*64 {
				return tooDeepForStack
			}
			inObject = c == '{'
			setLevel(stack, depth, inObject)
			depth++
			want = wantValue
			if inObject {
				want = wantName
			}
			if i = SkipSpace(data, i+1); i < n && data[i] == c+2 { // '}' is '{'+2, ']' is '['+2: empty
				depth--
				inObject = isObject(stack, depth)
				want = wantAfter
				i++
			}
		case want == wantValue:
			if i = scanScalar(data, i, c); i < 0 {
				return -1
			}
			want = wantAfter
		case want == wantName:
			if c != '"' {
				return -1
			}
			if i = scanString(data, i); i < 0 {
				return -1
			}
			if i = SkipSpace(data, i); i >= n || data[i] != ':' {
				return -1
			}
			want = wantValue
			i++
		case c == ',':
			want = wantValue
			if inObject {
				want = wantName
			}
			i++
		case c == '}' && inObject, c == ']' && !inObject:
			depth--
			inObject = isObject(stack, depth)
			i++
		default:
			return -1
		}
		if want == wantAfter && depth == 0 {
			return i
		}
	}
}

// scanScalar reads the string, literal or number whose first byte c is
// at data[i] and returns the index after it, or -1.
func scanScalar(data []byte, i int, c byte) int {
	switch c {
	case '"':
		return scanString(data, i)
	case 't':
		return scanLiteral(data, i, "true")
	case 'f':
		return scanLiteral(data, i, "false")
	case 'n':
		return scanLiteral(data, i, "null")
	}
	return ScanNumber(data, i)
}

// setLevel records whether level d of stack is an object.
func setLevel(stack []uint64, d int, object bool) {
	u := uint(d) // unsigned: shifts and masks, not signed division
	if object {
		stack[u/64] |= 1 << (u % 64)
	} else {
		stack[u/64] &^= 1 << (u % 64)
	}
}

// isObject reports whether the innermost of the depth levels open in
// stack is an object (false when none is open).
func isObject(stack []uint64, depth int) bool {
	if depth <= 0 {
		return false
	}
	d := uint(depth - 1) // unsigned: shifts and masks, not signed division
	return stack[d/64]&(1<<(d%64)) != 0
}

func scanLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}
