package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestTokenEndpointAgainstXOAuth2: the client credentials a real peer
// (golang.org/x/oauth2, which form-encodes the id and secret of HTTP Basic
// as RFC 6749 section 2.3.1 says) sends, in the header or in the body,
// authenticate exactly the client they name, whatever characters the id
// and secret hold; a secret one character off does not.
func TestTokenEndpointAgainstXOAuth2(t *testing.T) {
	type cred struct{ id, secret string }
	creds := []cred{
		{"plain", "s3cret"},
		{"with:colon", "a:b:c"},
		{"with space", "sp ace+plus"},
		{"pct%41", "%3A%zz%"},
		{"amp&eq=", "&=?#/"},
		{"tilde~star*", "~*()!'\\\""},
		{"+", "+ +"},
	}
	var clients []map[string]string
	for _, c := range creds {
		clients = append(clients, map[string]string{"client_id": c.id, "client_secret": c.secret, "scope": "user/Patient.rs"})
	}
	file, err := json.Marshal(clients)
	require.NoError(t, err)
	a := startAttack(t, string(file))

	for _, c := range creds {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cfg := clientcredentials.Config{ClientID: c.id, ClientSecret: c.secret, TokenURL: a.s.TokenURL(), AuthStyle: style}
			tok, err := cfg.Token(context.Background())
			require.NoError(t, err, "%q style %d", c.id, style)
			assert.Equal(t, c.id, claims(t, tok.AccessToken)["client_id"], "style %d", style)

			for _, wrong := range []string{c.secret + "x", strings.TrimSuffix(c.secret, c.secret[len(c.secret)-1:]), strings.ReplaceAll(c.secret, " ", "+")} {
				if wrong == c.secret {
					continue
				}
				cfg.ClientSecret = wrong
				_, err := cfg.Token(context.Background())
				var re *oauth2.RetrieveError
				require.ErrorAs(t, err, &re, "%q with secret %q style %d", c.id, wrong, style)
				assert.Equal(t, "invalid_client", re.ErrorCode)
			}
		}
	}
}
