package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// attackerServer counts every request it gets; keys must never be fetched
// from URLs named in a token.
func attackerServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func selfSignedCert(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return der
}

// TestHostileTokens: every token here must be refused with the specific
// sentinel error (RFC 8725 attacks and RFC 9068/7519 claim rules).
func TestHostileTokens(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	ctx := context.Background()
	now := clk.Now()

	_, kid := iss.SigningKey("RS256")
	rsaPub := iss.PublicKey("RS256").(*rsa.PublicKey)
	pkix, err := x509.MarshalPKIXPublicKey(rsaPub)
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pkcs1 := x509.MarshalPKCS1PublicKey(rsaPub)
	pemPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})

	attackerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	attackerJWK, err := jwk.Import(&attackerKey.PublicKey)
	require.NoError(t, err)
	attackerJWKJSON, err := json.Marshal(attackerJWK)
	require.NoError(t, err)
	attacker, attackerHits := attackerServer(t)
	cert := base64.StdEncoding.EncodeToString(selfSignedCert(t, attackerKey))

	claims := func(edit map[string]any) map[string]any {
		c := map[string]any{
			"sub": "alice", "scope": "user/Patient.read", "client_id": "app",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		for k, val := range edit {
			c[k] = val
		}
		return c
	}
	payload := func(edit map[string]any) []byte {
		c := claims(edit)
		c["iss"], c["aud"] = iss.URL, iss.Audience()
		for k, val := range c {
			if val == nil {
				delete(c, k)
			}
		}
		return mustJSON(t, c)
	}
	hdr := func(alg string, extra map[string]any) []byte {
		h := map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"}
		for k, val := range extra {
			if val == nil {
				delete(h, k)
			} else {
				h[k] = val
			}
		}
		return mustJSON(t, h)
	}
	valid := iss.Mint(claims(nil))
	vh, vp, vs := parts(t, valid)
	other := iss.Mint(claims(map[string]any{"sub": "mallory", "scope": "user/*.*"}))
	_, op, _ := parts(t, other)

	// Flip one character in the middle of the signature (not the last one,
	// whose low bits are padding).
	flipped := []byte(vs)
	if flipped[10] == 'A' {
		flipped[10] = 'B'
	} else {
		flipped[10] = 'A'
	}

	esKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name string
		raw  string
		want error
	}{
		// Algorithm attacks.
		{"alg none", iss.SignRaw(hdr("none", nil), payload(nil), "none", nil), token.ErrAlgorithm},
		{"alg None", iss.SignRaw(hdr("None", nil), payload(nil), "None", nil), token.ErrAlgorithm},
		{"alg NONE", iss.SignRaw(hdr("NONE", nil), payload(nil), "NONE", nil), token.ErrAlgorithm},
		{"alg nOnE", iss.SignRaw(hdr("nOnE", nil), payload(nil), "nOnE", nil), token.ErrAlgorithm},
		{"alg none with the valid signature kept", segment(t, hdr("none", nil)) + "." + vp + "." + vs, token.ErrAlgorithm},
		{"alg missing", segment(t, hdr("", map[string]any{"alg": nil})) + "." + vp + "." + vs, token.ErrMalformed},
		{"alg lower-case rs256", iss.SignRaw(hdr("rs256", nil), payload(nil), "RS256", nil), token.ErrAlgorithm},
		{"HS256 keyed with the RSA public key (PEM)", iss.SignRaw(hdr("HS256", nil), payload(nil), "HS256", pemKey), token.ErrAlgorithm},
		{"HS256 keyed with the RSA public key (PKCS1 PEM)", iss.SignRaw(hdr("HS256", nil), payload(nil), "HS256", pemPKCS1), token.ErrAlgorithm},
		{"HS256 keyed with the RSA public key (DER)", iss.SignRaw(hdr("HS256", nil), payload(nil), "HS256", pkix), token.ErrAlgorithm},
		{"HS256 keyed with the RSA modulus", iss.SignRaw(hdr("HS256", nil), payload(nil), "HS256", rsaPub.N.Bytes()), token.ErrAlgorithm},
		{"RS512 not on the default allow-list", iss.MintWith("RS512", nil, claims(nil)), token.ErrAlgorithm},
		{"ES256 header on the RSA key's kid", iss.SignRaw(hdr("ES256", nil), payload(nil), "ES256", esKey), token.ErrAlgorithm},

		// Signature attacks.
		{"bad signature", vh + "." + vp + "." + string(flipped), token.ErrSignature},
		{"payload swapped under a valid signature", vh + "." + op + "." + vs, token.ErrSignature},
		{"signature stripped", vh + "." + vp + ".", token.ErrSignature},
		{"signature truncated", vh + "." + vp + "." + vs[:40], token.ErrSignature},
		{"attacker key, legit kid", iss.SignRaw(hdr("RS256", nil), payload(nil), "RS256", attackerKey), token.ErrSignature},

		// Keys named by the token are never used or fetched.
		{"embedded jwk, attacker kid", iss.SignRaw(hdr("RS256", map[string]any{"kid": "attacker", "jwk": json.RawMessage(attackerJWKJSON)}), payload(nil), "RS256", attackerKey), token.ErrUnknownKey},
		{"embedded jwk, legit kid", iss.SignRaw(hdr("RS256", map[string]any{"jwk": json.RawMessage(attackerJWKJSON)}), payload(nil), "RS256", attackerKey), token.ErrSignature},
		{"embedded jwk, no kid", iss.SignRaw(hdr("RS256", map[string]any{"kid": nil, "jwk": json.RawMessage(attackerJWKJSON)}), payload(nil), "RS256", attackerKey), token.ErrSignature},
		{"jku to attacker, attacker kid", iss.SignRaw(hdr("RS256", map[string]any{"kid": "attacker", "jku": attacker.URL + "/jwks"}), payload(nil), "RS256", attackerKey), token.ErrUnknownKey},
		{"jku to attacker, legit kid", iss.SignRaw(hdr("RS256", map[string]any{"jku": attacker.URL + "/jwks"}), payload(nil), "RS256", attackerKey), token.ErrSignature},
		{"x5u to attacker, attacker kid", iss.SignRaw(hdr("RS256", map[string]any{"kid": "attacker-x5u", "x5u": attacker.URL + "/cert.pem"}), payload(nil), "RS256", attackerKey), token.ErrUnknownKey},
		{"x5u to attacker, legit kid", iss.SignRaw(hdr("RS256", map[string]any{"x5u": attacker.URL + "/cert.pem"}), payload(nil), "RS256", attackerKey), token.ErrSignature},
		{"x5c attacker certificate", iss.SignRaw(hdr("RS256", map[string]any{"x5c": []string{cert}}), payload(nil), "RS256", attackerKey), token.ErrSignature},
		{"kid path traversal", iss.SignRaw(hdr("RS256", map[string]any{"kid": "../../etc/passwd"}), payload(nil), "RS256", attackerKey), token.ErrUnknownKey},
		{"kid path traversal, URL-encoded", iss.SignRaw(hdr("RS256", map[string]any{"kid": "..%2F..%2Fetc%2Fpasswd"}), payload(nil), "RS256", nil), token.ErrUnknownKey},
		{"kid not a string", iss.SignRaw(hdr("RS256", map[string]any{"kid": 7}), payload(nil), "RS256", nil), token.ErrMalformed},
		{"unknown crit", iss.MintWith("RS256", map[string]any{"crit": []string{"https://example.com/ext"}, "https://example.com/ext": true}, claims(nil)), token.ErrMalformed},
		{"crit naming exp", iss.MintWith("RS256", map[string]any{"crit": []string{"exp"}, "exp": 1}, claims(nil)), token.ErrMalformed},
		{"crit b64 false", iss.MintWith("RS256", map[string]any{"crit": []string{"b64"}, "b64": false}, claims(nil)), token.ErrMalformed},
		{"duplicate alg in header", iss.SignRaw([]byte(`{"alg":"RS256","kid":"`+kid+`","alg":"none"}`), payload(nil), "RS256", nil), token.ErrMalformed},

		// Claims.
		{"expired", iss.Mint(claims(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})), token.ErrExpired},
		{"expired long ago", iss.Mint(claims(map[string]any{"iat": now.Add(-48 * time.Hour).Unix(), "exp": now.Add(-24 * time.Hour).Unix()})), token.ErrExpired},
		{"not yet valid (nbf)", iss.Mint(claims(map[string]any{"nbf": now.Add(2 * time.Minute).Unix()})), token.ErrNotYetValid},
		{"issued in the future (iat)", iss.Mint(claims(map[string]any{"iat": now.Add(10 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})), token.ErrNotYetValid},
		{"missing exp", iss.Mint(claims(map[string]any{"exp": nil})), token.ErrMalformed},
		{"exp not a number", iss.Mint(claims(map[string]any{"exp": "tomorrow"})), token.ErrMalformed},
		{"exp negative", iss.Mint(claims(map[string]any{"exp": -1})), token.ErrMalformed},
		{"exp absurdly large", iss.Mint(claims(map[string]any{"exp": 1e300})), token.ErrMalformed},
		{"wrong iss", iss.Mint(claims(map[string]any{"iss": "https://evil.example"})), token.ErrIssuer},
		{"iss with trailing slash", iss.Mint(claims(map[string]any{"iss": iss.URL + "/"})), token.ErrIssuer},
		{"iss differing in case", iss.Mint(claims(map[string]any{"iss": strings.ToUpper(iss.URL)})), token.ErrIssuer},
		{"missing iss", iss.Mint(claims(map[string]any{"iss": nil})), token.ErrIssuer},
		{"iss array", iss.Mint(claims(map[string]any{"iss": []string{iss.URL}})), token.ErrIssuer},
		{"wrong aud", iss.Mint(claims(map[string]any{"aud": "https://other.example/fhir"})), token.ErrAudience},
		{"wrong aud array", iss.Mint(claims(map[string]any{"aud": []string{"a", "b"}})), token.ErrAudience},
		{"aud prefix of ours", iss.Mint(claims(map[string]any{"aud": iss.Audience() + "/Patient"})), token.ErrAudience},
		{"missing aud", iss.Mint(claims(map[string]any{"aud": nil})), token.ErrAudience},
		{"aud of wrong type", iss.Mint(claims(map[string]any{"aud": 42})), token.ErrAudience},
		{"malformed scope (strict)", iss.Mint(claims(map[string]any{"scope": "user/Patient.read patient/Observation.rx"})), token.ErrScope},
		{"scope neither a string nor an array", iss.Mint(claims(map[string]any{"scope": 42})), token.ErrScope},
		{"scope array with a non-string", iss.Mint(claims(map[string]any{"scope": []any{"user/Patient.read", 1}})), token.ErrScope},
		{"scp element with a space", iss.Mint(claims(map[string]any{"scope": nil, "scp": []string{"user/Patient.read user/*.*"}})), token.ErrScope},
		{"sender-constrained (cnf)", iss.Mint(claims(map[string]any{"cnf": map[string]any{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}})), token.ErrMalformed},
		{"patient not a string", iss.Mint(claims(map[string]any{"patient": 123})), token.ErrMalformed},
		{"duplicate iss claim", iss.SignRaw(hdr("RS256", nil), []byte(`{"iss":"https://evil.example","iss":"`+iss.URL+`","aud":"`+iss.Audience()+`","exp":`+jsonNum(now.Add(time.Hour))+`}`), "RS256", nil), token.ErrMalformed},
		{"claims not JSON", iss.SignRaw(hdr("RS256", nil), []byte("not json"), "RS256", nil), token.ErrMalformed},
		{"claims a JSON array", iss.SignRaw(hdr("RS256", nil), []byte(`[1,2]`), "RS256", nil), token.ErrMalformed},

		// Size and garbage.
		{"oversized", iss.Mint(claims(map[string]any{"pad": strings.Repeat("x", 17<<10)})), token.ErrMalformed},
		{"empty", "", token.ErrNotJWT},
		{"garbage", "garbage", token.ErrNotJWT},
		{"two parts", vh + "." + vp, token.ErrNotJWT},
		{"four parts", valid + ".x", token.ErrNotJWT},
		{"JWE (five parts)", "a.b.c.d.e", token.ErrNotJWT},
		{"dots only", "..", token.ErrNotJWT},
		{"whitespace inside", vh + "." + vp[:5] + "\n" + vp[5:] + "." + vs, token.ErrNotJWT},
		{"standard base64 padding", vh + "==." + vp + "." + vs, token.ErrNotJWT},
		{"header not JSON", segment(t, "hello") + "." + vp + "." + vs, token.ErrNotJWT},
		{"header JSON array", segment(t, "[]") + "." + vp + "." + vs, token.ErrNotJWT},
		{"bearer prefix left on", "Bearer " + valid, token.ErrNotJWT},
		{"payload not base64", vh + ".!!!!." + vs, token.ErrMalformed},
		{"payload bad base64 length", vh + "." + badLen(vp) + "." + vs, token.ErrMalformed},
		{"opaque token", "2YotnFZFEjr1zCsicMWpAA", token.ErrNotJWT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Authenticate(ctx, tc.raw)
			require.Nil(t, p)
			requireRejected(t, err, tc.want, tc.raw)
		})
	}

	// The valid token passes, so the refusals above are about what changed.
	p, err := v.Authenticate(ctx, valid)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Subject)
	require.Zero(t, attackerHits.Load(), "the verifier contacted a URL named in a token")

	st := v.Stats()
	require.Equal(t, uint64(1), st.JWKSFetches, "hostile kids must not cause more than one refetch per window (initial fetch only, refetch rate-limited)")
}

// badLen pads s to a length no base64 encoding has (1 mod 4).
func badLen(s string) string {
	for len(s)%4 != 1 {
		s += "A"
	}
	return s
}

func jsonNum(t time.Time) string { return strings.TrimSpace(string(must(json.Marshal(t.Unix())))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestHMACConfusionWithSecretConfigured: even where HS256 is allowed (with
// its own shared secret), a token keyed with the RSA public key fails.
func TestHMACConfusionWithSecretConfigured(t *testing.T) {
	iss, clk := newIssuer(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	v := newVerifier(t, iss, clk, token.WithAlgorithms("RS256", "HS256"), token.WithSharedSecret(secret))
	_, kid := iss.SigningKey("RS256")
	pkix, err := x509.MarshalPKIXPublicKey(iss.PublicKey("RS256"))
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	now := clk.Now()
	payload := mustJSON(t, map[string]any{"iss": iss.URL, "aud": iss.Audience(), "sub": "x", "exp": now.Add(time.Hour).Unix()})
	header := mustJSON(t, map[string]any{"alg": "HS256", "kid": kid})

	for name, key := range map[string][]byte{"PEM": pemKey, "DER": pkix} {
		raw := iss.SignRaw(header, payload, "HS256", key)
		_, err := v.Authenticate(context.Background(), raw)
		requireRejected(t, err, token.ErrSignature, raw)
		_ = name
	}
	// The real secret works, and RS256 still works.
	raw := iss.SignRaw(header, payload, "HS256", secret)
	p, err := v.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, "x", p.Subject)
	_, err = v.Authenticate(context.Background(), iss.Mint(map[string]any{"sub": "y"}))
	require.NoError(t, err)
}
