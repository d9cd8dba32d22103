package jsonsyntax

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Skip finds the end of every JSON string and value, whatever escapes
// they hold and wherever.
func TestSkip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "\\", "\"", "\\\\", "\\\"", "é", "\n", "\u2028", "/", "}", "]"}
	for n := 0; n < 3000; n++ {
		var b strings.Builder
		for l := rng.IntN(80); l > 0; l-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		raw, err := json.Marshal(b.String())
		require.NoError(t, err)
		doc := append(append([]byte{}, raw...), `,"x"]`...)
		require.Equal(t, len(raw), skipString(doc, 0), "%s", raw)
		require.Equal(t, len(raw), Skip(doc, 0), "%s", raw)
		arr := []byte(`[` + string(raw) + `,{"k":` + string(raw) + `}]`)
		require.Equal(t, len(arr), Skip(append(arr, `  ,1`...), 0), "%s", arr)
	}
	// Hand-made escapes at every position near a quote.
	for pad := 25; pad < 40; pad++ {
		for _, tail := range []string{`\\`, `\"`, `\\\"`, `\\\\`, `\u0022`} {
			raw := `"` + strings.Repeat("x", pad) + tail + `y"`
			require.True(t, json.Valid([]byte(raw)), raw)
			require.Equal(t, len(raw), skipString([]byte(raw+`,"z"`), 0), raw)
		}
	}
}

// SkipString ends a string where Skip does, and tells an unterminated one
// (whose end Skip puts at len(d)) from one closed by the last byte.
func TestSkipString(t *testing.T) {
	for _, tc := range []struct {
		in   string
		at   int
		want int
	}{
		{`"ab"`, 0, 4},
		{`"ab",1`, 0, 4},
		{`""`, 0, 2},
		{`"a\"b"`, 0, 6},
		{`"a\\"`, 0, 5},
		{`"a\\\"`, 0, -1}, // the last quote is escaped
		{`"a\"`, 0, -1},
		{`"ab`, 0, -1},
		{`"`, 0, -1},
		{`x"a"`, 1, 4},
		{`x"a"`, 0, -1},
		{`"a"`, 3, -1},
		{`"a"`, -1, -1},
		{`["a\\\"b\\","c"]`, 1, 11},
	} {
		require.Equal(t, tc.want, SkipString([]byte(tc.in), tc.at), "%q at %d", tc.in, tc.at)
		if tc.want >= 0 {
			require.Equal(t, tc.want, Skip([]byte(tc.in), tc.at), "%q at %d", tc.in, tc.at)
		}
	}
}

// StringEnd, fed a string's bytes in pieces cut anywhere, finds the end
// SkipString finds in the whole.
func TestStringEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{`a`, `\\`, `\"`, `\u00e9`, `é`, `\/`, `}]`, `\n`}
	for range 2000 {
		var b strings.Builder
		b.WriteByte('"')
		for n := rng.IntN(12); n > 0; n-- {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		if rng.IntN(4) > 0 {
			b.WriteString(`",1`)
		}
		d := []byte(b.String())
		want := SkipString(d, 0)
		got, esc := -1, false
		for i := 1; i < len(d) && got < 0; {
			n := 1 + rng.IntN(len(d)-i)
			if e := StringEnd(d[i:i+n], &esc); e >= 0 {
				got = i + e
			}
			i += n
		}
		require.Equal(t, want, got, "%s", d)
	}
}
