package jsonsyntax

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// upperASCII8 upper-cases each of eight bytes as upperASCII does, every
// ASCII byte at every position, next to neighbours of every kind.
func TestUpperASCII8(t *testing.T) {
	fill := []byte("azAZ@[`{\x00\x7f")
	for c := range 0x80 {
		for k := range 8 {
			var in, want [8]byte
			for j := range 8 {
				in[j] = fill[(c+j)%len(fill)]
			}
			in[k] = byte(c)
			for j := range 8 {
				want[j] = upperASCII(in[j])
			}
			got := upperASCII8(binary.LittleEndian.Uint64(in[:]))
			if got != binary.LittleEndian.Uint64(want[:]) {
				t.Fatalf("upperASCII8(%q) = %#x, want %q", in, got, want)
			}
		}
	}
}

// A plain name hashes as its runes folded one by one do, whatever its
// length; names that fold alike hash alike, and these different ones
// differently.
func TestFoldHash(t *testing.T) {
	var names []string
	for n := range 25 {
		names = append(names, strings.Repeat("aB", n)[:n], strings.Repeat("Zy_", n)[:n], strings.Repeat("x", n)+"1")
	}
	seen := map[uint64]string{}
	for _, name := range names {
		h := foldHash([]byte(name), true)
		assert.Equal(t, foldHashRunes([]byte(name)), h, "%q", name)
		assert.Equal(t, h, foldHash([]byte(strings.ToUpper(name)), true), "%q", name)
		if other, dup := seen[h]; dup && other != name {
			t.Fatalf("%q and %q hash alike", name, other)
		}
		seen[h] = name
	}
	for _, p := range [][2]string{{"subject", "ſubject"}, {"kind", "\u212aind"}, {"LONGERTHANEIGHTS", "longerthaneightſ"}} {
		assert.Equal(t, foldHash([]byte(p[0]), true), foldHash([]byte(p[1]), false), "%q %q", p[0], p[1])
	}
	assert.NotEqual(t, foldHash([]byte("a"), true), foldHash([]byte("a\x00"), false), "a NUL is a byte of its own")
}

func TestLoadShort(t *testing.T) {
	b := []byte("abcdefgh")
	for n := range 8 {
		var want [8]byte
		copy(want[:], b[:n])
		assert.Equal(t, binary.LittleEndian.Uint64(want[:]), loadShort(b[:n]), "%d bytes", n)
	}
}
