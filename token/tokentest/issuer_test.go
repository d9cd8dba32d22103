package tokentest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, iss *tokentest.Issuer, u string) (*http.Response, []byte) {
	t.Helper()
	res, err := iss.HTTPClient().Get(u)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, b
}

func postForm(t *testing.T, iss *tokentest.Issuer, u string, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	res, err := iss.HTTPClient().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// verify checks tok against the JWKS served over HTTP and returns the header
// and claims.
func verify(t *testing.T, iss *tokentest.Issuer, tok string) (map[string]any, map[string]any) {
	t.Helper()
	_, doc := get(t, iss, iss.JWKSURL())
	set, err := jwk.Parse(doc)
	require.NoError(t, err)
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(set, jws.WithRequireKid(true)))
	require.NoError(t, err)
	h, _, _ := strings.Cut(tok, ".")
	hb, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	var header, claims map[string]any
	require.NoError(t, json.Unmarshal(hb, &header))
	require.NoError(t, json.Unmarshal(payload, &claims))
	return header, claims
}

func TestIssuerEndpointsAndDiscovery(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s3cret", "user/Patient.read"))
	defer iss.Close()
	assert.True(t, strings.HasPrefix(iss.URL, "http://127.0.0.1:"), iss.URL)
	assert.Equal(t, iss.URL, iss.Issuer())
	assert.Equal(t, iss.URL+"/oauth2/token", iss.TokenURL())
	assert.Equal(t, iss.URL+"/oauth2/jwks", iss.JWKSURL())
	assert.Equal(t, iss.URL+"/oauth2/introspect", iss.IntrospectionURL())
	assert.Equal(t, iss.URL+"/.well-known/openid-configuration", iss.DiscoveryURL())
	assert.Equal(t, tokentest.DefaultAudience, iss.Audience())

	for _, u := range []string{iss.DiscoveryURL(), iss.SMARTConfigurationURL()} {
		res, b := get(t, iss, u)
		require.Equal(t, http.StatusOK, res.StatusCode)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(b, &doc))
		assert.Equal(t, iss.URL, doc["issuer"])
		assert.Equal(t, iss.TokenURL(), doc["token_endpoint"])
		assert.Equal(t, iss.JWKSURL(), doc["jwks_uri"])
		assert.Equal(t, iss.IntrospectionURL(), doc["introspection_endpoint"])
		assert.Equal(t, []any{"client_credentials"}, doc["grant_types_supported"])
		assert.Equal(t, []any{"client_secret_basic", "client_secret_post", "private_key_jwt"}, doc["token_endpoint_auth_methods_supported"])
		assert.Equal(t, []any{"user/Patient.read"}, doc["scopes_supported"])
	}
}

func TestIssuerTokenEndpointRecordsBasicAuth(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s3cret", "user/Patient.read user/Observation.read"))
	defer iss.Close()

	status, body := postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "scope": {"user/Patient.read"}}, "app", "s3cret")
	require.Equal(t, http.StatusOK, status, body)
	assert.EqualValues(t, 5400, body["expires_in"])
	assert.Equal(t, "user/Patient.read", body["scope"])
	header, claims := verify(t, iss, body["access_token"].(string))
	assert.Equal(t, "at+jwt", header["typ"])
	assert.Equal(t, iss.URL, claims["iss"])
	assert.Equal(t, "app", claims["client_id"])

	status, body = postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"s3cret"}}, "", "")
	require.Equal(t, http.StatusOK, status, body)

	reqs := iss.TokenRequests()
	require.Len(t, reqs, 2)
	user, pass, ok := (&http.Request{Header: reqs[0].Header}).BasicAuth()
	require.True(t, ok)
	assert.Equal(t, "app", user)
	assert.Equal(t, "s3cret", pass)
	assert.NotContains(t, string(reqs[0].Body), "s3cret")
	assert.Empty(t, reqs[0].Form.Get("client_secret"))
	assert.Equal(t, "client_credentials", reqs[0].Form.Get("grant_type"))

	assert.Empty(t, reqs[1].Header.Get("Authorization"))
	assert.Equal(t, "s3cret", reqs[1].Form.Get("client_secret"))
	assert.Equal(t, http.MethodPost, reqs[1].Method)
	assert.Equal(t, "/oauth2/token", reqs[1].Path)

	status, body = postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "app", "wrong")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "invalid_client", body["error"])

	iss.ResetRecords()
	assert.Empty(t, iss.TokenRequests())
}

func TestIssuerMint(t *testing.T) {
	clock := time.Unix(1_900_000_000, 0)
	iss := tokentest.NewIssuer(tokentest.WithClock(func() time.Time { return clock }), tokentest.WithAudience("https://api.test/fhir"), tokentest.WithTokenLifetime(time.Hour))
	defer iss.Close()

	header, claims := verify(t, iss, iss.Mint(map[string]any{"sub": "u1", "scope": "user/*.rs"}))
	assert.Equal(t, "RS256", header["alg"])
	assert.Equal(t, iss.KeyIDs()[0], header["kid"])
	assert.Equal(t, iss.URL, claims["iss"])
	assert.Equal(t, "https://api.test/fhir", claims["aud"])
	assert.EqualValues(t, clock.Unix(), claims["iat"])
	assert.EqualValues(t, clock.Add(time.Hour).Unix(), claims["exp"])
	assert.NotEmpty(t, claims["jti"])
	assert.Equal(t, "u1", claims["sub"])

	_, claims = verify(t, iss, iss.Mint(map[string]any{"exp": nil, "aud": []string{"a", "b"}, "iss": "https://evil"}))
	assert.NotContains(t, claims, "exp")
	assert.Equal(t, []any{"a", "b"}, claims["aud"])
	assert.Equal(t, "https://evil", claims["iss"])

	header, _ = verify(t, iss, iss.MintES256(nil))
	assert.Equal(t, "ES256", header["alg"])
	for _, alg := range []string{"RS384", "ES384", "PS256", "EdDSA"} {
		header, _ = verify(t, iss, iss.MintWith(alg, nil, nil))
		assert.Equal(t, alg, header["alg"])
	}
}

func TestIssuerHostileTokens(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	tok := iss.MintWith("RS256", map[string]any{"jku": "http://127.0.0.1:1/jwks", "kid": "../../etc/passwd", "crit": []string{"x-unknown"}, "typ": nil}, map[string]any{"sub": "x"})
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var header map[string]any
	require.NoError(t, json.Unmarshal(hb, &header))
	assert.Equal(t, "http://127.0.0.1:1/jwks", header["jku"])
	assert.Equal(t, "../../etc/passwd", header["kid"])
	assert.Equal(t, []any{"x-unknown"}, header["crit"])
	assert.NotContains(t, header, "typ")

	none := iss.SignRaw([]byte(`{"alg":"nOnE"}`), []byte(`{"sub":"x"}`), "nOnE", nil)
	assert.True(t, strings.HasSuffix(none, "."), none)

	// HS256 "signed" with the issuer's RSA public key as the secret.
	_, kid := iss.SigningKey("RS256")
	hs := iss.SignRaw([]byte(`{"alg":"HS256","kid":"`+kid+`"}`), []byte(`{"sub":"x"}`), "HS256", []byte("pem bytes"))
	assert.Len(t, strings.Split(hs, "."), 3)
	assert.NotNil(t, iss.PublicKey("RS256"))

	// SignRaw with nil key uses the issuer's key: the result verifies.
	raw := iss.SignRaw([]byte(`{"alg":"RS256","kid":"`+kid+`","kid":"dup"}`), []byte(`{"sub":"x"}`), "RS256", nil)
	assert.Len(t, strings.Split(raw, "."), 3)
	assert.Panics(t, func() { iss.SignRaw([]byte(`{}`), []byte(`{}`), "HS256", nil) }, "HS256 needs an explicit secret")
	assert.Panics(t, func() { iss.MintWith("none", nil, nil) })
}

func TestIssuerRotation(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	old := iss.Mint(nil)
	before := iss.KeyIDs()
	require.Len(t, before, 2)

	iss.RotateKeys(false)
	kept := iss.KeyIDs()
	assert.Len(t, kept, 4)
	assert.Equal(t, before, kept[:2])
	verify(t, iss, old) // still published
	header, _ := verify(t, iss, iss.Mint(nil))
	assert.Equal(t, kept[2], header["kid"])

	iss.RotateKeys(true)
	after := iss.KeyIDs()
	assert.Len(t, after, 2)
	for _, k := range after {
		assert.NotContains(t, kept, k)
	}
	_, doc := get(t, iss, iss.JWKSURL())
	set, err := jwk.Parse(doc)
	require.NoError(t, err)
	_, err = jws.Verify([]byte(old), jws.WithKeySet(set))
	assert.Error(t, err, "retired key no longer published")
	_, active := iss.Introspect(old)
	assert.False(t, active)
}

func TestIssuerJWKSFaults(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()

	res, b := get(t, iss, iss.JWKSURL())
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "public, max-age=300", res.Header.Get("Cache-Control"))
	set, err := jwk.Parse(b)
	require.NoError(t, err)
	assert.Equal(t, 2, set.Len())

	iss.FailJWKS(http.StatusInternalServerError)
	res, _ = get(t, iss, iss.JWKSURL())
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	iss.FailJWKS(0)

	iss.JWKSGarbage(true)
	res, b = get(t, iss, iss.JWKSURL())
	assert.Equal(t, http.StatusOK, res.StatusCode)
	_, err = jwk.Parse(b)
	assert.Error(t, err)
	iss.JWKSGarbage(false)

	iss.EmptyJWKS(true)
	_, b = get(t, iss, iss.JWKSURL())
	assert.JSONEq(t, `{"keys":[]}`, string(b))
	iss.EmptyJWKS(false)

	iss.JWKSWithoutAlg(true)
	_, b = get(t, iss, iss.JWKSURL())
	set, err = jwk.Parse(b)
	require.NoError(t, err)
	require.Equal(t, 2, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		_, hasAlg := k.Algorithm()
		assert.False(t, hasAlg)
		_, hasKid := k.KeyID()
		assert.True(t, hasKid)
	}
	iss.JWKSWithoutAlg(false)

	iss.SetJWKSCacheControl("no-cache")
	res, b = get(t, iss, iss.JWKSURL())
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	set, err = jwk.Parse(b)
	require.NoError(t, err)
	assert.Equal(t, 2, set.Len(), "healthy again")

	assert.Equal(t, 6, iss.JWKSFetches())
}

func TestIssuerDelay(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	iss.SetDelay(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, iss.JWKSURL(), nil)
	require.NoError(t, err)
	_, err = iss.HTTPClient().Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	iss.SetDelay(0)
	res, _ := get(t, iss, iss.JWKSURL())
	assert.Equal(t, http.StatusOK, res.StatusCode)
	// Close must not wait for the abandoned delayed request (it ends with its client).
}

func TestIssuerIntrospection(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClients(
		tokentest.Client{ID: "rs", Secret: "rs-secret", Scope: "system/*.rs"},
		tokentest.Client{ID: "pat", Secret: "p", Scope: "patient/*.rs", Patient: "p1"},
	))
	defer iss.Close()
	status, body := postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "pat", "p")
	require.Equal(t, http.StatusOK, status)
	tok := body["access_token"].(string)

	status, body = postForm(t, iss, iss.IntrospectionURL(), url.Values{"token": {tok}}, "rs", "rs-secret")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, body["active"])
	assert.Equal(t, "patient/*.rs", body["scope"])
	assert.Equal(t, "pat", body["client_id"])
	assert.Equal(t, "p1", body["patient"])
	assert.Equal(t, "Bearer", body["token_type"])

	iss.Revoke(tok)
	_, body = postForm(t, iss, iss.IntrospectionURL(), url.Values{"token": {tok}}, "rs", "rs-secret")
	assert.Equal(t, map[string]any{"active": false}, body)

	status, body = postForm(t, iss, iss.IntrospectionURL(), url.Values{"token": {iss.Mint(nil)}}, "rs", "wrong")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "invalid_client", body["error"])

	iss.FailIntrospection(http.StatusServiceUnavailable)
	status, _ = postForm(t, iss, iss.IntrospectionURL(), url.Values{"token": {iss.Mint(nil)}}, "rs", "rs-secret")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	iss.FailIntrospection(0)
	require.Len(t, iss.IntrospectionRequests(), 4)
}

func TestIssuerOpaqueTokens(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithOpaqueTokens(), tokentest.WithClient("app", "s", "user/Patient.rs"))
	defer iss.Close()
	status, body := postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "app", "s")
	require.Equal(t, http.StatusOK, status)
	tok := body["access_token"].(string)
	assert.NotContains(t, tok, ".", "opaque, not a JWT")
	_, body = postForm(t, iss, iss.IntrospectionURL(), url.Values{"token": {tok}}, "app", "s")
	assert.Equal(t, true, body["active"])
	assert.Equal(t, "user/Patient.rs", body["scope"])

	op := iss.MintOpaque(map[string]any{"scope": "system/*.rs", "sub": "svc"})
	claims, ok := iss.Introspect(op)
	require.True(t, ok)
	assert.Equal(t, "svc", claims["sub"])
}

func TestIssuerFailToken(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s", "user/Patient.rs"))
	defer iss.Close()
	iss.FailToken(http.StatusServiceUnavailable)
	status, body := postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "app", "s")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "temporarily_unavailable", body["error"])
	assert.Len(t, iss.TokenRequests(), 1)
	iss.FailToken(0)
	status, _ = postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "app", "s")
	assert.Equal(t, http.StatusOK, status)

	iss.FailDiscovery(http.StatusBadGateway)
	res, _ := get(t, iss, iss.DiscoveryURL())
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
}

func TestIssuerKeyClient(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	key, err := jwk.Import(priv)
	require.NoError(t, err)
	require.NoError(t, key.Set(jwk.KeyIDKey, "k1"))
	iss.AddKeyClient("svc", key, "system/*.rs")

	now := time.Now()
	hb, _ := json.Marshal(map[string]any{"alg": "ES384", "kid": "k1", "typ": "JWT"})
	cb, _ := json.Marshal(map[string]any{"iss": "svc", "sub": "svc", "aud": iss.TokenURL(), "exp": now.Add(time.Minute).Unix(), "jti": "j-1"})
	a := iss.SignRaw(hb, cb, "ES384", priv)
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}, "scope": {"system/Observation.rs"}}
	status, body := postForm(t, iss, iss.TokenURL(), form, "", "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "system/Observation.rs", body["scope"])
	status, body = postForm(t, iss, iss.TokenURL(), form, "", "")
	assert.Equal(t, http.StatusUnauthorized, status, "replayed jti")
	assert.Equal(t, "invalid_client", body["error"])
}

func TestNewIssuerPanicsOnInvalidClient(t *testing.T) {
	assert.Panics(t, func() { tokentest.NewIssuer(tokentest.WithClient("app", "s", "user/Patient.rr")) })
	assert.Panics(t, func() { tokentest.NewIssuer(tokentest.WithClient("app", "", "user/Patient.rs")) })
	iss := tokentest.NewIssuer()
	defer iss.Close()
	assert.Panics(t, func() { iss.AddClient(tokentest.Client{ID: "x", Secret: "s"}) }, "no scope")
}

func TestIssuerConcurrentUse(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s", "user/Patient.rs"))
	defer iss.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			switch i % 4 {
			case 0:
				iss.RotateKeys(i%8 == 0)
			case 1:
				_ = iss.Mint(map[string]any{"n": i})
			case 2:
				status, _ := postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "app", "s")
				assert.Equal(t, http.StatusOK, status)
			case 3:
				iss.FailJWKS(500)
				get(t, iss, iss.JWKSURL())
				iss.FailJWKS(0)
			}
		})
	}
	wg.Wait()
	assert.Len(t, iss.TokenRequests(), 2)
}

// TestIssuerRevocationAndLogger revokes a token through RevocationURL (RFC
// 7009, the client authenticated) and checks that WithLogger receives a
// record of a refused request, without the secret that was refused.
func TestIssuerRevocationAndLogger(t *testing.T) {
	var logged bytes.Buffer
	iss := tokentest.NewIssuer(
		tokentest.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))),
		tokentest.WithClients(
			tokentest.Client{ID: "rs", Secret: "rs-secret", Scope: "system/*.rs"},
			tokentest.Client{ID: "app", Secret: "app-secret", Scope: "user/Patient.rs"},
		))
	defer iss.Close()
	require.True(t, strings.HasPrefix(iss.RevocationURL(), iss.URL+"/"), iss.RevocationURL())
	status, body := postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "app", "app-secret")
	require.Equal(t, http.StatusOK, status)
	tok := body["access_token"].(string)

	status, _ = postForm(t, iss, iss.RevocationURL(), url.Values{"token": {tok}}, "app", "app-secret")
	require.Equal(t, http.StatusOK, status)
	_, body = postForm(t, iss, iss.IntrospectionURL(), url.Values{"token": {tok}}, "rs", "rs-secret")
	assert.Equal(t, map[string]any{"active": false}, body, "revoked through the endpoint")

	require.Empty(t, logged.String(), "nothing refused yet")
	status, _ = postForm(t, iss, iss.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, "app", "not-the-secret")
	require.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, logged.String(), "app", "the refused client is named")
	assert.NotContains(t, logged.String(), "not-the-secret")
}
