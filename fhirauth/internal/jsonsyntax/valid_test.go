package jsonsyntax

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-1.0E-2`, `true`, `false`, `null`,
		`01`, `1.`, `.1`, `1e`, `+1`, `-`, `0x10`, `NaN`, `tru`, `truex`, `{"a":1,}`, `{"a"}`, `{a:1}`,
		`[1,]`, `[,1]`, `[1 2]`, `{"a":1}}`, `[{]}`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\x"`, `"\u12"`, `"\u12G4"`,
		`"\u12`, `"\u`, `"a` + "\x01" + `b"`, `"unterminated`, `"\`, `{} {}`, "\"\xff\"",
		strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000), strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001),
	} {
		assert.Equal(t, json.Valid([]byte(doc)), Valid([]byte(doc)), "%.60q", doc)
	}
}

func TestValidDoesNotAllocate(t *testing.T) {
	doc := []byte(`{"resourceType":"Observation","subject":{"reference":"Patient/1"},"valueQuantity":{"value":1.5e2}}`)
	assert.Zero(t, testing.AllocsPerRun(100, func() { Valid(doc) }))
}

// hasSpecial agrees with a byte-by-byte look at every word the test builds
// from special and plain bytes at each position.
func TestHasSpecial(t *testing.T) {
	vals := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', 0x23, '[', '\\', ']', 'a', 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xff}
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }
	for pos := 0; pos < 8; pos++ {
		for _, v := range vals {
			for _, fill := range []byte{'a', 0x20, 0x21, 0xff, 0x80, 0x5d} {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = v
				want := false
				for _, c := range w {
					want = want || special(c)
				}
				x := uint64(0)
				for i := 7; i >= 0; i-- {
					x = x<<8 | uint64(w[i])
				}
				assert.Equal(t, want, hasSpecial(x), "%x", w)
			}
		}
	}
}
