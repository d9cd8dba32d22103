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
		var full [MaxDepth/64 + 1]uint64
		end = validValue(data, i, MaxDepth-depth, full[:])
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
			i = SkipSpace(data, i)
			if i >= n {
				return -1
			}
			top := uint(depth - 1) // unsigned: shifts and masks, not signed division
			inObject := stack[top/64]&(1<<(top%64)) != 0
			switch c := data[i]; {
			case c == ',':
				i = SkipSpace(data, i+1)
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
		i = SkipSpace(data, i)
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
			if d := uint(depth); c == '{' {
				stack[d/64] |= 1 << (d % 64)
			} else {
				stack[d/64] &^= 1 << (d % 64)
			}
			depth++
			i = SkipSpace(data, i+1)
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
			if i = ScanNumber(data, i); i < 0 {
				return -1
			}
			state = afterValue
		}
	}
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
	i = SkipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return i + 1
}

func scanLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}
