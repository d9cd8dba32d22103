package jsonsyntax

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// nextSpecial's and ScanStringPlain's eight-byte tests find the first
// matching byte of every word the test builds from a plain fill, a byte at
// one position and maybe a second byte after it (whose borrows must not
// move the answer), as a byte-by-byte look does.
func TestFirstSpecial(t *testing.T) {
	vals := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', 0x23, '[', '\\', ']', 'a', 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xff}
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }
	first := func(w [8]byte, match func(byte) bool) int {
		for i, c := range w {
			if match(c) {
				return i
			}
		}
		return 8
	}
	for pos := 0; pos < 8; pos++ {
		for pos2 := pos; pos2 < 8; pos2++ {
			for _, v := range vals {
				for _, v2 := range vals {
					for _, fill := range []byte{'a', 0x20, 0x21, 0x7f, 0xff, 0x80, 0x5d} {
						var w [8]byte
						for i := range w {
							w[i] = fill
						}
						w[pos2] = v2
						w[pos] = v
						if got, want := nextSpecial(w[:], 0), first(w, special); got != want {
							t.Fatalf("nextSpecial(% x) = %d, want %d", w, got, want)
						}
						nonASCII := func(c byte) bool { return special(c) || c >= 0x80 }
						x := binary.LittleEndian.Uint64(w[:])
						if got, want := bits.TrailingZeros64(plainStops(x))/8, first(w, nonASCII); got != want {
							t.Fatalf("plainStops(% x) first at %d, want %d", w, got, want)
						}
					}
				}
			}
		}
	}
}

func TestScanString(t *testing.T) {
	assert.Equal(t, 4, ScanString([]byte(`"ab",`), 0))
	assert.Equal(t, 6, ScanString([]byte(`"a\"b",`), 0))
	for _, bad := range []string{`ab`, `"ab`, "\"a\x1fb\"", `"\q"`, `"\u12"`, ``} {
		assert.Equal(t, -1, ScanString([]byte(bad), 0), "%q", bad)
	}
	assert.Equal(t, -1, ScanString([]byte(`"a"`), 3))
	assert.Equal(t, -1, ScanString([]byte(`"a"`), -1))
}

// plainOracle is what ScanStringPlain must answer for the string at
// data[0], worked out the slow way.
func plainOracle(data []byte) (int, bool) {
	end := ScanString(data, 0)
	if end < 0 {
		return -1, false
	}
	inner := data[1 : end-1]
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			return end, false
		}
	}
	return end, true
}

// ScanStringPlain ends a string where ScanString does and calls plain
// exactly the strings of ASCII bytes without escapes, wherever the byte
// that makes a string not plain (or invalid) sits relative to the
// eight-byte fast path.
func TestScanStringPlain(t *testing.T) {
	for _, tc := range []struct {
		in    string
		end   int
		plain bool
	}{
		{`"resourceType":`, 14, true},
		{`""`, 2, true},
		{"\"a\x7fb\"", 5, true}, // DEL is ASCII, and valid in a JSON string
		{`"\u0061"`, 8, false},  // decodes to "a", but is not written plainly
		{`"a\/b"`, 6, false},
		{`"café"`, 7, false},
		{"\"\xff\"", 3, false}, // not UTF-8: encoding/json decodes U+FFFD
		{`"ab`, -1, false},
		{"\"a\x1fb\"", -1, false},
		{`"\q"`, -1, false},
		{`"é\q"`, -1, false},
		{`"é`, -1, false},
		{`x"a"`, -1, false},
	} {
		end, plain := ScanStringPlain([]byte(tc.in), 0)
		assert.Equal(t, tc.end, end, "%q", tc.in)
		assert.Equal(t, tc.plain, plain, "%q", tc.in)
	}
	assert.Equal(t, -1, first(ScanStringPlain([]byte(`"a"`), 3)))
	assert.Equal(t, -1, first(ScanStringPlain([]byte(`"a"`), -1)))

	for _, special := range []string{"", `\n`, `\u00e9`, "é", "\x7f", "\x01", `\x`, `"`, `\`, "\xff"} {
		for pad := 0; pad < 20; pad++ {
			for _, tail := range []string{`"`, `abc"`, `abcdefghijk",1`, ``} {
				data := []byte(`"` + strings.Repeat("p", pad) + special + tail)
				end, plain := ScanStringPlain(data, 0)
				wantEnd, wantPlain := plainOracle(data)
				assert.Equal(t, wantEnd, end, "%q", data)
				assert.Equal(t, wantPlain, plain, "%q", data)
			}
		}
	}
}

func first(end int, _ bool) int { return end }

// FuzzScanString holds ScanString to encoding/json and ScanStringPlain to
// ScanString: a string they accept is a valid JSON string, and a plain
// one decodes to the bytes between its quotes.
func FuzzScanString(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9\n"`, `"é"`, "\"\x7f\x80\"", `"abcdefghijklmnop\"q",1`, `"\ud800"`, `"unterminated`, "\"\x00\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := ScanString(data, 0)
		pend, plain := ScanStringPlain(data, 0)
		if pend != end {
			t.Fatalf("ScanStringPlain ends at %d, ScanString at %d: %q", pend, end, data)
		}
		wantEnd, wantPlain := plainOracle(data)
		if pend != wantEnd || plain != wantPlain {
			t.Fatalf("ScanStringPlain (%d, %v), want (%d, %v): %q", pend, plain, wantEnd, wantPlain, data)
		}
		if len(data) > 0 && data[0] == '"' && json.Valid(data) {
			// data is one string, maybe followed by space.
			if want := len(bytes.TrimRight(data, " \t\r\n")); end != want {
				t.Fatalf("ScanString ends a valid string at %d, not %d: %q", end, want, data)
			}
		}
		if end < 0 {
			return
		}
		var s string
		if err := json.Unmarshal(data[:end], &s); err != nil {
			t.Fatalf("ScanString accepted %q: %v", data[:end], err)
		}
		if plain && s != string(data[1:end-1]) {
			t.Fatalf("plain %q decodes to %q", data[:end], s)
		}
	})
}
