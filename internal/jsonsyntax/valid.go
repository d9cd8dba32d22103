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

// validValue is ValidValue with at most limit open levels inside the
// value, tracked in stack (bit set: the level is an object). It is one
// loop over two states, each byte loaded once: "value" expects a value at
// i, "after" the separator or close that follows one. JSON space is
// rare between tokens of a server's output, so it is tested for with one
// comparison before the loop that skips it (written out at each of the
// three labels: the same lines as a helper, even inlined, cost 3% more
// instructions on a typical resource).
func validValue(data []byte, i, limit int, stack []uint64) int {
	n := len(data)
	depth := 0
	inObject := false // the innermost open level is an object
	var c byte
value:
	if i >= n {
		return -1
	}
	if c = data[i]; c <= ' ' {
		if i = SkipSpace(data, i); i >= n {
			return -1
		}
		c = data[i]
	}
	switch c {
	case '"':
		if i = scanString(data, i); i < 0 {
			return -1
		}
	case '{', '[':
		if depth >= limit {
			return -1
		}
		if depth >= len(stack)*64 {
			return tooDeepForStack
		}
		d := uint(depth) // unsigned: shifts and masks, not signed division
		inObject = c == '{'
		if inObject {
			stack[d/64] |= 1 << (d % 64)
		} else {
			stack[d/64] &^= 1 << (d % 64)
		}
		depth++
		if i = SkipSpace(data, i+1); i >= n {
			return -1
		}
		if data[i] == c+2 { // '}' is '{'+2, ']' is '['+2: empty
			i++
			depth--
			inObject = isObject(stack, depth)
			goto after
		}
		if inObject {
			goto key
		}
		goto value
	case 't':
		if i = scanLiteral(data, i, "true"); i < 0 {
			return -1
		}
	case 'f':
		if i = scanLiteral(data, i, "false"); i < 0 {
			return -1
		}
	case 'n':
		if i = scanLiteral(data, i, "null"); i < 0 {
			return -1
		}
	default:
		if i = ScanNumber(data, i); i < 0 {
			return -1
		}
	}
after:
	if depth == 0 {
		return i
	}
	if i >= n {
		return -1
	}
	if c = data[i]; c <= ' ' {
		if i = SkipSpace(data, i); i >= n {
			return -1
		}
		c = data[i]
	}
	switch {
	case c == ',':
		i++
		if inObject {
			goto key
		}
		goto value
	case c == '}' && inObject, c == ']' && !inObject:
		i++
		depth--
		inObject = isObject(stack, depth)
		goto after
	}
	return -1
key:
	// A member name and its colon, space allowed before each.
	if i >= n {
		return -1
	}
	if c = data[i]; c <= ' ' {
		if i = SkipSpace(data, i); i >= n {
			return -1
		}
		c = data[i]
	}
	if c != '"' {
		return -1
	}
	if i = scanString(data, i); i < 0 {
		return -1
	}
	if i >= n {
		return -1
	}
	if c = data[i]; c != ':' {
		if i = SkipSpace(data, i); i >= n || data[i] != ':' {
			return -1
		}
	}
	i++
	goto value
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
