package token

import (
	"errors"
	"strconv"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// This file decodes JWT headers and claim sets: member names and syntax
// through jsonsyntax's one object reader, values into the Go values
// encoding/json produces (map[string]any, []any, string, float64, bool,
// nil) in one pass, slicing strings without escapes out of the input
// instead of copying them.
//
// Why not encoding/json: decoding a typical access token's claims into a
// map[string]any with it costs ~7.5 us and 60+ allocations, a quarter of
// an RS256 signature check, which alone would break the "uncached
// verification within 1.3x of raw crypto" target.
//
// It is stricter than encoding/json where laxness is a risk in a security
// token (jsonsyntax's rules): duplicate member names are refused, also
// when one is escaped or a case variant of the other (no "last one wins",
// no "exp" that a case-insensitive reader takes for "EXP"), as are invalid
// UTF-8, lone surrogate escapes, and nesting deeper than maxJSONDepth.

const maxJSONDepth = 32

var (
	errJSONDepth     = errors.New("JSON nested too deeply")
	errJSONNotObject = errors.New("JSON value is not an object")
	errJSONNumber    = errors.New("JSON number out of range")
)

// decodeJSONObject decodes s, which must be exactly one JSON object
// (surrounding whitespace allowed). Strings in the result may share memory
// with s.
func decodeJSONObject(s string) (map[string]any, error) {
	d := jsonDecoder{b: []byte(s), s: s}
	i := jsonsyntax.SkipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, errJSONNotObject
	}
	m, end, err := d.object(i, 0)
	if err != nil {
		return nil, err
	}
	if jsonsyntax.SkipSpace(s, end) != len(s) {
		return nil, jsonsyntax.ErrSyntax
	}
	return m, nil
}

// jsonDecoder holds one document twice, as bytes for jsonsyntax's
// readers and as a string to slice string values out of.
type jsonDecoder struct {
	b []byte
	s string
}

// value decodes the value at b[i] (after space), inside depth open
// levels, and returns it with the index just after it.
func (d *jsonDecoder) value(i, depth int) (any, int, error) {
	if i < 0 || i >= len(d.b) {
		return nil, -1, jsonsyntax.ErrSyntax
	}
	switch c := d.b[i]; c {
	case '{':
		return d.object(i, depth)
	case '[':
		return d.array(i, depth)
	case '"':
		return d.str(i)
	case 't', 'f', 'n':
		for _, lit := range [...]struct {
			text string
			v    any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if len(d.s)-i >= len(lit.text) && d.s[i:i+len(lit.text)] == lit.text {
				return lit.v, i + len(lit.text), nil
			}
		}
		return nil, -1, jsonsyntax.ErrSyntax
	}
	return d.number(i)
}

// object decodes the object at b[i] into a map.
func (d *jsonDecoder) object(i, depth int) (map[string]any, int, error) {
	if depth >= maxJSONDepth {
		return nil, -1, errJSONDepth
	}
	hint := 0
	if depth == 0 {
		// Upper bound of the top-level member count (a claim set): sizing
		// the map once is cheaper than growing it.
		hint = min(countByte(d.s, ':'), 64)
	}
	m := make(map[string]any, hint)
	obj := jsonsyntax.ReadObject(d.b, i, depth)
	for obj.Next() {
		v, end, err := d.value(obj.ValueStart())
		if err != nil {
			return nil, -1, err
		}
		obj.SkipTo(end)
		m[string(obj.Name())] = v
	}
	if err := obj.Err(); err != nil {
		return nil, -1, err
	}
	return m, obj.End(), nil
}

// array decodes the array at b[i].
func (d *jsonDecoder) array(i, depth int) ([]any, int, error) {
	if depth >= maxJSONDepth {
		return nil, -1, errJSONDepth
	}
	a := make([]any, 0, 4)
	arr := jsonsyntax.ReadArray(d.b, i, depth)
	for arr.Next() {
		v, end, err := d.value(arr.ValueStart())
		if err != nil {
			return nil, -1, err
		}
		arr.SkipTo(end)
		a = append(a, v)
	}
	if err := arr.Err(); err != nil {
		return nil, -1, err
	}
	return a, arr.End(), nil
}

// str decodes the string at b[i]: a slice of s when it is plain ASCII,
// unquoted (strictly) otherwise.
func (d *jsonDecoder) str(i int) (string, int, error) {
	end, plain := jsonsyntax.ScanStringPlain(d.b, i)
	if end < 0 {
		return "", -1, jsonsyntax.ErrSyntax
	}
	if plain {
		return d.s[i+1 : end-1], end, nil
	}
	s, err := jsonsyntax.Unquote(d.b[i:end])
	return s, end, err
}

// stringMember reads the current member of obj as a string without
// boxing it; ok is false (and the value read) when it is another JSON
// value.
func (d *jsonDecoder) stringMember(obj *jsonsyntax.ObjectReader) (s string, ok bool, err error) {
	at, _ := obj.ValueStart()
	if at < 0 || at >= len(d.b) || d.b[at] != '"' {
		obj.Value()
		return "", false, obj.Err()
	}
	s, end, err := d.str(at)
	obj.SkipTo(end)
	return s, err == nil, err
}

// number decodes the number at b[i] into a float64.
func (d *jsonDecoder) number(i int) (float64, int, error) {
	end := jsonsyntax.ScanNumber(d.b, i)
	if end < 0 {
		return 0, -1, jsonsyntax.ErrSyntax
	}
	lit := d.s[i:end]
	// Fast path for the common case of integer timestamps.
	if len(lit) <= 15 && isInteger(lit) {
		n, neg := int64(0), lit[0] == '-'
		for _, c := range []byte(lit) {
			if c != '-' {
				n = n*10 + int64(c-'0')
			}
		}
		if neg {
			return -float64(n), end, nil
		}
		return float64(n), end, nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return 0, -1, errJSONNumber
	}
	return f, end, nil
}

// isInteger reports whether the number lit has no fraction or exponent.
func isInteger(lit string) bool {
	for i := 0; i < len(lit); i++ {
		if c := lit[i]; c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

func countByte(s string, c byte) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
		}
	}
	return n
}
