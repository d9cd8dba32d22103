package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// serverLineModel is serverLine written plainly: sanitize the whole text,
// join its words with one space, keep maxServerLine characters.
func serverLineModel(s string) string {
	s = strings.Join(strings.Fields(sanitize(s)), " ")
	if r := []rune(s); len(r) > maxServerLine {
		return string(r[:maxServerLine]) + "..."
	}
	return s
}

// serverLine, which stops reading where the line ends, gives what the
// model gives on texts of words, every kind of white space, controls,
// bidi and separator characters and broken UTF-8, around the length bound.
func TestServerLineMatchesModel(t *testing.T) {
	pieces := []string{"a", "word", "é", "日本", " ", "  ", "\t", "\n", "\r", "\v", "\u00a0", "\u2003", "\u3000",
		"\u0085", "\u2028", "\u202e", "\x1b[31m", "\u009b", "\xff", "\xe2\x80", "?"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var b strings.Builder
		for b.Len() < rng.IntN(2*maxServerLine*(1+i%3)) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		got := serverLine(s)
		if !assert.Equal(t, serverLineModel(s), got, "%q", s) {
			return
		}
		assert.True(t, utf8.ValidString(got))
	}
}
