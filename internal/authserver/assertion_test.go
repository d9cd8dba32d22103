package authserver

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrivateKeyJWTAccepted(t *testing.T) {
	s, clock := newTestServer(t)
	k := clientKeys(t)
	now := clock.Now()
	tests := []struct {
		name   string
		key    crypto.Signer
		alg    string
		header map[string]any
		claims map[string]any
	}{
		{"RS384", k.rsa, "RS384", nil, nil},
		{"ES384", k.ec, "ES384", nil, nil},
		{"no kid: every registered key is tried", k.ec, "ES384", map[string]any{"kid": nil}, nil},
		{"no typ", k.rsa, "RS384", map[string]any{"typ": nil}, nil},
		{"aud as array", k.rsa, "RS384", nil, map[string]any{"aud": []string{"other", testTokenURL}}},
		{"no iat", k.rsa, "RS384", nil, map[string]any{"iat": nil}},
		{"exactly 5 minutes", k.rsa, "RS384", nil, map[string]any{"exp": now.Add(5 * time.Minute).Unix()}},
		{"fractional exp", k.rsa, "RS384", nil, map[string]any{"exp": float64(now.Add(time.Minute).Unix()) + 0.5}},
		{"small clock skew on iat", k.rsa, "RS384", nil, map[string]any{"iat": now.Add(10 * time.Second).Unix(), "exp": now.Add(5*time.Minute + 10*time.Second).Unix()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := assertion(t, now, tc.key, tc.alg, tc.header, tc.claims)
			form := assertionForm(a)
			form.Set("scope", "system/Observation.rs")
			res := do(t, s, request{path: TokenPath, form: form})
			require.Equal(t, http.StatusOK, res.status, res.raw)
			assert.Equal(t, "system/Observation.rs", res.body["scope"])
			_, claims := verifyIssued(t, s, res.body["access_token"].(string))
			assert.Equal(t, "backend", claims["client_id"])
			assert.Equal(t, "backend", claims["sub"])
		})
	}
}

func TestPrivateKeyJWTRefused(t *testing.T) {
	s, clock := newTestServer(t)
	k := clientKeys(t)
	now := clock.Now()
	rsaPub, err := x509.MarshalPKIXPublicKey(k.rsa.Public())
	require.NoError(t, err)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPub})
	hmacWith := func(secret []byte) string {
		hb := []byte(`{"alg":"HS256","kid":"rsa-1","typ":"JWT"}`)
		cb := []byte(`{"iss":"backend","sub":"backend","aud":"` + testTokenURL + `","exp":` + itoa(now.Add(time.Minute).Unix()) + `,"jti":"` + randomID() + `"}`)
		tok, err := SignCompact(hb, cb, "HS256", secret)
		require.NoError(t, err)
		return tok
	}
	replayed := assertion(t, now, k.rsa, "RS384", nil, nil)
	res := do(t, s, request{path: TokenPath, form: assertionForm(replayed)})
	require.Equal(t, http.StatusOK, res.status, res.raw)

	tests := []struct {
		name      string
		assertion string
		form      url.Values // overrides
		code      string
		why       string // expected in error_description
	}{
		{name: "replayed jti", assertion: replayed, code: "invalid_client", why: "jti already used"},
		{name: "same jti, new signature", assertion: assertion(t, now, k.ec, "ES384", nil, map[string]any{"jti": jtiOf(t, replayed)}), code: "invalid_client", why: "jti already used"},
		{name: "expired", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"iat": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(-time.Minute).Unix()}), code: "invalid_client", why: "expired"},
		{name: "exp equals now", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"exp": now.Unix()}), code: "invalid_client", why: "expired"},
		{name: "exp 10 minutes ahead", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"iat": nil, "exp": now.Add(10 * time.Minute).Unix()}), code: "invalid_client", why: "more than 5 minutes in the future"},
		{name: "lifetime over 5 minutes (iat in the past)", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"iat": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(4 * time.Minute).Unix()}), code: "invalid_client", why: "exp - iat"},
		{name: "iat in the future", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"iat": now.Add(2 * time.Minute).Unix()}), code: "invalid_client", why: "iat is in the future"},
		{name: "nbf in the future", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()}), code: "invalid_client", why: "nbf"},
		{name: "missing exp", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"exp": nil}), code: "invalid_client", why: "exp is required"},
		{name: "exp as string", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"exp": itoa(now.Add(time.Minute).Unix())}), code: "invalid_client", why: "exp is required"},
		{name: "missing jti", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"jti": nil}), code: "invalid_client", why: "jti is required"},
		{name: "aud is the issuer", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"aud": testIssuer}), code: "invalid_client", why: "aud must be the token endpoint"},
		{name: "aud is another server", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"aud": "https://evil.example/oauth2/token"}), code: "invalid_client", why: "aud must be the token endpoint"},
		{name: "missing aud", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"aud": nil}), code: "invalid_client", why: "aud must be the token endpoint"},
		{name: "iss differs from sub", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"sub": "patient-access"}), code: "invalid_client", why: "iss and sub"},
		{name: "unknown client", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"iss": "ghost", "sub": "ghost"}), code: "invalid_client", why: "client authentication failed"},
		{name: "secret-only client", assertion: assertion(t, now, k.rsa, "RS384", nil, map[string]any{"iss": "reader", "sub": "reader"}), code: "invalid_client", why: "client authentication failed"},
		{name: "unregistered RSA key, registered kid", assertion: assertion(t, now, k.rogue, "RS384", nil, nil), code: "invalid_client", why: "signature"},
		{name: "unregistered RSA key, no kid", assertion: assertion(t, now, k.rogue, "RS384", map[string]any{"kid": nil}, nil), code: "invalid_client", why: "signature"},
		{name: "unregistered EC key", assertion: assertion(t, now, k.rogueE, "ES384", nil, nil), code: "invalid_client", why: "signature"},
		{name: "unknown kid", assertion: assertion(t, now, k.rsa, "RS384", map[string]any{"kid": "nope"}, nil), code: "invalid_client", why: "signature"},
		{name: "kid of another key type", assertion: assertion(t, now, k.rsa, "RS384", map[string]any{"kid": "ec-1"}, nil), code: "invalid_client", why: "signature"},
		{name: "RS256 not allowed", assertion: assertion(t, now, k.rsa, "RS256", nil, nil), code: "invalid_client", why: "alg \"RS256\" not allowed"},
		{name: "ES256 not allowed", assertion: assertion(t, now, k.ec256, "ES256", map[string]any{"kid": "ec256"}, nil), code: "invalid_client", why: "alg \"ES256\" not allowed"},
		{name: "PS384 not allowed", assertion: assertion(t, now, k.rsa, "PS384", nil, nil), code: "invalid_client", why: "not allowed"},
		{name: "alg none", assertion: assertion(t, now, nil, "none", nil, nil), code: "invalid_client", why: "alg \"none\" not allowed"},
		{name: "alg NONE", assertion: assertion(t, now, nil, "NONE", nil, nil), code: "invalid_client", why: "alg \"NONE\" not allowed"},
		{name: "HS256 with RSA public key PEM as secret", assertion: hmacWith(rsaPEM), code: "invalid_client", why: "alg \"HS256\" not allowed"},
		{name: "HS256 with RSA public key DER as secret", assertion: hmacWith(rsaPub), code: "invalid_client", why: "alg \"HS256\" not allowed"},
		{name: "embedded jwk header", assertion: assertion(t, now, k.rsa, "RS384", map[string]any{"jwk": map[string]any{"kty": "RSA"}}, nil), code: "invalid_client", why: "header \"jwk\""},
		{name: "jku header", assertion: assertion(t, now, k.rsa, "RS384", map[string]any{"jku": "https://evil.example/jwks"}, nil), code: "invalid_client", why: "header \"jku\""},
		{name: "x5u header", assertion: assertion(t, now, k.rsa, "RS384", map[string]any{"x5u": "https://evil.example/cert"}, nil), code: "invalid_client", why: "header \"x5u\""},
		{name: "crit header", assertion: assertion(t, now, k.rsa, "RS384", map[string]any{"crit": []string{"exp"}, "exp": 1}, nil), code: "invalid_client", why: "header \"crit\""},
		{name: "access token typ", assertion: assertion(t, now, k.rsa, "RS384", map[string]any{"typ": "at+jwt"}, nil), code: "invalid_client", why: "typ"},
		{name: "signature of another assertion", assertion: swapSignature(assertion(t, now, k.rsa, "RS384", nil, nil), assertion(t, now, k.rsa, "RS384", nil, nil)), code: "invalid_client", why: "signature"},
		{name: "garbage", assertion: "not-a-jwt", code: "invalid_client", why: "not a compact JWS"},
		{name: "four segments", assertion: "a.b.c.d", code: "invalid_client", why: "not a compact JWS"},
		{name: "empty", assertion: "", code: "invalid_client", why: "client_assertion is required"},
		{name: "wrong assertion type", assertion: assertion(t, now, k.rsa, "RS384", nil, nil), form: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}}, code: "invalid_client", why: "client_assertion_type"},
		{name: "assertion type without assertion", form: url.Values{"client_assertion": nil}, code: "invalid_client", why: "client_assertion is required"},
		{name: "client_id differs from iss", assertion: assertion(t, now, k.rsa, "RS384", nil, nil), form: url.Values{"client_id": {"reader"}}, code: "invalid_request", why: "client_id differs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := assertionForm(tc.assertion)
			for k, v := range tc.form {
				if v == nil {
					delete(form, k)
				} else {
					form[k] = v
				}
			}
			res := do(t, s, request{path: TokenPath, form: form})
			want := http.StatusUnauthorized
			if tc.code == "invalid_request" {
				want = http.StatusBadRequest
			}
			assert.Equal(t, want, res.status, res.raw)
			assert.Equal(t, tc.code, res.body["error"], res.raw)
			assert.Contains(t, res.body["error_description"], tc.why)
			assert.NotContains(t, res.body, "access_token")
		})
	}
}

func TestPrivateKeyJWTReplayAfterClockMoves(t *testing.T) {
	s, clock := newTestServer(t)
	a := assertion(t, clock.Now(), clientKeys(t).rsa, "RS384", nil, nil)
	require.Equal(t, http.StatusOK, do(t, s, request{path: TokenPath, form: assertionForm(a)}).status)
	clock.Advance(time.Minute) // still within the assertion's lifetime
	assert.Equal(t, http.StatusUnauthorized, do(t, s, request{path: TokenPath, form: assertionForm(a)}).status)
	clock.Advance(10 * time.Minute) // assertion expired: refused as expired, jti may be forgotten
	assert.Equal(t, http.StatusUnauthorized, do(t, s, request{path: TokenPath, form: assertionForm(a)}).status)
}

func TestPrivateKeyJWTConcurrentReplay(t *testing.T) {
	s, clock := newTestServer(t)
	a := assertion(t, clock.Now(), clientKeys(t).ec, "ES384", nil, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 20 {
		wg.Go(func() {
			res := do(t, s, request{path: TokenPath, form: assertionForm(a)})
			if res.status == http.StatusOK {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, ok, "one assertion, at most one token")
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(2)
	now := time.Unix(1000, 0)
	assert.Equal(t, replayFresh, c.use("a", now.Add(time.Minute), now))
	assert.Equal(t, replaySeen, c.use("a", now.Add(time.Minute), now))
	assert.Equal(t, replayFresh, c.use("b", now.Add(2*time.Minute), now))
	assert.Equal(t, replayFull, c.use("c", now.Add(time.Minute), now), "full of live entries: refuse, never forget")
	later := now.Add(90 * time.Second) // "a" expired
	assert.Equal(t, replayFresh, c.use("c", later.Add(time.Minute), later))
	assert.Equal(t, replaySeen, c.use("b", later.Add(time.Minute), later))
}
