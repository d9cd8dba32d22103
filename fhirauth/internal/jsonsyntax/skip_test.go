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
