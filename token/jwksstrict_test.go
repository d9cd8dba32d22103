package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// TestJWKSReadStrictly: a key set is held to the rules tokens are held
// to. A member named twice (jwx, like encoding/json, keeps the last one:
// "use":"enc" then "use":"sig" is a signing key to it, an encryption key
// to a reader that keeps the first) or under two case variants makes the
// document ambiguous, and the fetch fails instead of guessing.
func TestJWKSReadStrictly(t *testing.T) {
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key := string(mustJSON(t, jwkJSON(t, &ek.PublicKey, map[string]any{"kid": "a"})))
	open := strings.TrimSuffix(key, "}")
	docs := map[string]string{
		"use named twice":     `{"keys":[` + open + `,"use":"enc","use":"sig"}]}`,
		"kid and KID":         `{"keys":[` + open + `,"KID":"b"}]}`,
		"keys named twice":    `{"keys":[],"keys":[` + key + `]}`,
		"use in another case": `{"keys":[` + open + `,"use":"sig","USE":"enc"}]}`,
	}
	raw := signAs(t, "ES256", "a", ek, nil)
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			// jwx takes each document for a set with a usable signing key.
			set, err := jwk.Parse([]byte(doc))
			require.NoError(t, err)
			k, ok := set.LookupKeyID("a")
			require.True(t, ok)
			if use, ok := k.KeyUsage(); ok {
				require.Equal(t, "sig", use)
			}

			srv := newJWKSServer(t)
			srv.doc = []byte(doc)
			v := remoteVerifier(t, srv.URL, nil)
			_, err = v.Authenticate(context.Background(), raw)
			requireRejected(t, err, token.ErrIssuerUnavailable, raw)
			require.Contains(t, v.Stats().JWKSLastError, "JWKS")
		})
	}

	// The same key in an unambiguous document is used.
	srv := newJWKSServer(t)
	srv.doc = []byte(`{"keys":[` + open + `,"use":"sig"}]}`)
	_, err = remoteVerifier(t, srv.URL, nil).Authenticate(context.Background(), raw)
	require.NoError(t, err)
}
