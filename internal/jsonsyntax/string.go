package jsonsyntax

import (
	"encoding/binary"
	"math/bits"
)

// ScanString validates the JSON string that starts at data[i] == '"'
// (control bytes and escapes as RFC 8259 says; UTF-8 is not checked) and
// returns the index just after its closing quote, or -1.
func ScanString(data []byte, i int) int {
	if i < 0 || i >= len(data) || data[i] != '"' {
		return -1
	}
	return scanString(data, i)
}

// ScanStringPlain is ScanString that also reports whether the string is
// plain: ASCII without escapes, so that the bytes between its quotes are
// its value as a JSON parser decodes it. plain is false when end is -1.
func ScanStringPlain(data []byte, i int) (end int, plain bool) {
	if i < 0 || i >= len(data) || data[i] != '"' {
		return -1, false
	}
	// Inline rather than a call of its own: most strings read here are
	// short member names.
	i++
	for i+8 <= len(data) {
		if m := plainStops(binary.LittleEndian.Uint64(data[i:])); m != 0 {
			i += bits.TrailingZeros64(m) / 8
			break // at a stop byte, where the loop below does not move
		}
		i += 8
	}
	for i < len(data) && !plainStop[data[i]] {
		i++
	}
	if i < len(data) && data[i] == '"' {
		return i + 1, true
	}
	// A backslash, a non-ASCII or control byte, or the end of data: the
	// string is not plain, and maybe not valid. The scan goes on from
	// data[i] (scanString does not read the byte before it).
	return scanString(data, i-1), false
}

// scanString consumes the string starting at data[i] == '"' and returns
// the position after its closing quote, or -1. It does not read data[i]
// itself, so that a scan may also resume at data[i+1], a byte inside a
// string that is not part of an escape.
func scanString(data []byte, i int) int {
	i++
	for {
		i = nextSpecial(data, i)
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
			if _, ok := hex4(data, i+1); !ok {
				return -1
			}
			i += 4
		default:
			return -1
		}
		i++
	}
}

// nextSpecial returns the index of the first byte at or after data[i]
// that ends the fast path inside a string (a control byte, '"' or '\\'),
// or len(data): eight bytes at a time, byte by byte near the end of data.
// It is small enough to be inlined into scanString.
func nextSpecial(data []byte, i int) int {
	for i+8 <= len(data) {
		if m := specialBits(binary.LittleEndian.Uint64(data[i:])) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(data) && !stringSpecial[data[i]] {
		i++
	}
	return i
}

// plainStops sets the high bit of each byte of x that ends a plain
// string: specialBits' bytes and the non-ASCII ones (and maybe of bytes
// above one, which is never read).
func plainStops(x uint64) uint64 { return (specialBits(x) | x) & highs }

const ones, highs = 0x0101010101010101, 0x8080808080808080

// specialBits sets the high bit of each byte of x that nextSpecial stops
// at (a control byte, '"' or '\\'), and maybe of bytes above one, which is
// never read. Each test is
// the "has a byte below n" idiom, (v - n*ones) &^ v: a borrow only ever
// starts at a byte that matches, so the lowest byte it flags is exact.
// Two tests cover the three kinds of byte: x^0x02 keeps every control
// byte below 0x20 and turns '"' (0x22) into 0x20, and no other byte into
// anything below 0x21, so one "below 0x21" test finds both; '\\' is the
// other ("below 1" after x^'\\', i.e. zero).
func specialBits(x uint64) uint64 {
	q := x ^ (ones * 0x02)
	b := x ^ (ones * '\\')
	return (q-ones*0x21)&^q | (b-ones)&^b
}

// stringSpecial marks the bytes that end the fast path inside a string.
var stringSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// plainStop marks the bytes that end a plain string, or make it not
// plain: stringSpecial's and the non-ASCII ones.
var plainStop = func() (t [256]bool) {
	t = stringSpecial
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// hex4 decodes the four hex digits at data[at:at+4]; ok is false when
// there are not four.
func hex4(data []byte, at int) (r rune, ok bool) {
	if at+4 > len(data) {
		return 0, false
	}
	for _, c := range data[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
