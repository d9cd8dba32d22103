package authserver

import (
	"crypto/ecdsa"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reencodings returns tokens that differ from tok only in how its
// signature segment is written: the unused low bits of the last
// character, padding, the standard base64 alphabet, a line break. A
// lenient base64 decoder reads each as the same signature.
func reencodings(t *testing.T, tok string) map[string]string {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	head, sig := tok[:i+1], tok[i+1:]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	require.GreaterOrEqual(t, last, 0)
	out := map[string]string{
		"low bits":     head + sig[:len(sig)-1] + string(alphabet[last^1]),
		"padding":      head + sig + "==",
		"std alphabet": head + strings.NewReplacer("-", "+", "_", "/").Replace(sig),
		"line break":   head + sig[:10] + "\n" + sig[10:],
	}
	if out["std alphabet"] == tok {
		delete(out, "std alphabet") // no - or _ in this signature
	}
	return out
}

func TestRevokedTokenStaysRevokedWhenReencoded(t *testing.T) {
	s, _ := newTestServer(t)
	res := tokenRequest(t, s, "reader", "r3ader", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	tok := res.body["access_token"].(string)
	variants := reencodings(t, tok)

	rv := do(t, s, request{path: RevocationPath, form: url.Values{"token": {tok}}, header: map[string]string{"Authorization": basic("reader", "r3ader")}})
	require.Equal(t, http.StatusOK, rv.status, rv.raw)
	require.Equal(t, false, introspect(t, s, tok).body["active"])

	for name, v := range variants {
		assert.Equal(t, false, introspect(t, s, v).body["active"], "revoked token written with %s is active again", name)
		assert.True(t, s.Revoked(v), "Revoked misses the token written with %s", name)
	}
}

func TestNonCanonicalTokenIsNotActive(t *testing.T) {
	s, _ := newTestServer(t)
	res := tokenRequest(t, s, "reader", "r3ader", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	tok := res.body["access_token"].(string)
	require.Equal(t, true, introspect(t, s, tok).body["active"])
	for name, v := range reencodings(t, tok) {
		assert.Equal(t, false, introspect(t, s, v).body["active"], "token written with %s", name)
	}
}

func TestRevokedECDSATokenStaysRevokedWithOtherSignature(t *testing.T) {
	s, _ := newTestServer(t)
	tok, err := s.MintWith("ES256", map[string]any{"client_id": "reader"})
	require.NoError(t, err)
	s.Revoke(tok)
	require.Equal(t, false, introspect(t, s, tok).body["active"])

	// (r, n-s) is a second valid ECDSA signature of the same token.
	signer, _, err := s.SigningKey("ES256")
	require.NoError(t, err)
	n := signer.(*ecdsa.PrivateKey).Curve.Params().N
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	require.NoError(t, err)
	sNeg := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:]))
	other := append([]byte(nil), sig...)
	sNeg.FillBytes(other[32:])
	twin := tok[:i+1] + base64.RawURLEncoding.EncodeToString(other)
	require.NotEqual(t, tok, twin)

	assert.Equal(t, false, introspect(t, s, twin).body["active"], "revoked token with the other ECDSA signature is active again")
	assert.True(t, s.Revoked(twin))
}
