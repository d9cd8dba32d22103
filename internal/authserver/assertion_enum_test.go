package authserver

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An assertion that is not verified by a key of the client it names is
// answered the same whether that client is unknown, has no keys, or has
// other keys: the answer does not tell which client ids exist.
func TestAssertionRefusalDoesNotTellWhichClientsExist(t *testing.T) {
	s, clock := newTestServer(t)
	k := clientKeys(t)
	cases := map[string]string{
		"unknown client":     assertion(t, clock.Now(), k.rogue, "RS384", nil, map[string]any{"iss": "nobody", "sub": "nobody"}),
		"secret-only client": assertion(t, clock.Now(), k.rogue, "RS384", nil, map[string]any{"iss": "reader", "sub": "reader"}),
		"wrong key":          assertion(t, clock.Now(), k.rogue, "RS384", nil, nil),
	}
	var first *response
	for name, a := range cases {
		res := do(t, s, request{path: TokenPath, form: assertionForm(a)})
		require.Equal(t, http.StatusUnauthorized, res.status, "%s: %s", name, res.raw)
		assert.Equal(t, "invalid_client", res.body["error"], name)
		if first == nil {
			first = &res
			continue
		}
		assert.Equal(t, first.body["error_description"], res.body["error_description"], name)
	}
}
