package jsonsyntax

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote returns the value of the JSON string quoted (quotes included,
// nothing after them) as a new string. It is strict where encoding/json
// v1 is lax and v2 is not: invalid UTF-8 and an escaped surrogate that is
// not half of a pair are ErrInvalidString, not U+FFFD, so that two
// different strings never read as one.
func Unquote(quoted []byte) (string, error) {
	if end, plain := ScanStringPlain(quoted, 0); plain && end == len(quoted) {
		return string(quoted[1 : end-1]), nil
	}
	b, err := AppendUnquote(nil, quoted)
	return string(b), err
}

// UnquoteString is Unquote for a string: a string without escapes is
// returned as a slice of quoted, sharing its memory.
func UnquoteString(quoted string) (string, error) {
	if len(quoted) >= 2 && quoted[0] == '"' {
		inner := quoted[1 : len(quoted)-1]
		plain := true
		for i := 0; i < len(inner) && plain; i++ {
			plain = inner[i] >= ' ' && inner[i] < utf8.RuneSelf && inner[i] != '"' && inner[i] != '\\'
		}
		if plain && quoted[len(quoted)-1] == '"' {
			return inner, nil
		}
	}
	b, err := AppendUnquote(nil, []byte(quoted))
	return string(b), err
}

// StringValue returns the value of the JSON string v (a whole value, as
// ObjectReader.Value returns it) with Unquote's rules, without copying
// when it can: a plain string (ASCII without escapes) views v, another
// is appended to scratch. plain reports which, for a caller that keeps
// the result past its next use of scratch. It is for readers on a path
// that must not allocate; Unquote returns a string of its own.
func StringValue(v, scratch []byte) (s []byte, plain bool, err error) {
	s, plain, end, err := ReadName(v, 0, scratch)
	if err == nil && end != len(v) {
		return nil, false, ErrSyntax
	}
	return s, plain, err
}

// AppendUnquote appends the value of the JSON string quoted (quotes
// included, nothing after them) to dst, with Unquote's rules. On error
// dst is returned as it was.
func AppendUnquote(dst, quoted []byte) ([]byte, error) {
	if len(quoted) < 2 || quoted[0] != '"' || ScanString(quoted, 0) != len(quoted) {
		return dst, ErrSyntax
	}
	out, ok := appendUnescaped(dst, quoted[1:len(quoted)-1])
	if !ok {
		return dst, ErrInvalidString
	}
	return out, nil
}

// appendUnescaped appends the decoded raw (the bytes between the quotes
// of a string ScanString accepted) to b, and reports false for invalid
// UTF-8 or a lone surrogate.
func appendUnescaped(b, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				return b, false
			}
			b = append(b, raw[i:i+n]...)
			i += n
		case c != '\\':
			b = append(b, c)
			i++
		case raw[i+1] == 'u':
			r, _ := hex4(raw, i+2)
			i += 6
			if utf16.IsSurrogate(r) {
				// Only a high half followed by an escaped low half is a rune.
				if r >= 0xDC00 || i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
					return b, false
				}
				low, _ := hex4(raw, i+2)
				if r = utf16.DecodeRune(r, low); r == utf8.RuneError {
					return b, false
				}
				i += 6
			}
			b = utf8.AppendRune(b, r)
		default:
			b = append(b, unescapeByte[raw[i+1]])
			i += 2
		}
	}
	return b, true
}

// unescapeByte maps the byte after a backslash to what the escape
// stands for (all but \u, which ScanString has checked).
var unescapeByte = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
