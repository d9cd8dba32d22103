package authserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"
)

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "https://fhir.example.test/fhir"
	testTokenURL = testIssuer + TokenPath
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testKeys are the private keys of the private_key_jwt test clients.
type testKeys struct {
	rsa    *rsa.PrivateKey   // registered, kid "rsa-1"
	ec     *ecdsa.PrivateKey // P-384, registered, kid "ec-1"
	ec256  *ecdsa.PrivateKey // P-256, registered, kid "ec256"
	rogue  *rsa.PrivateKey   // never registered
	rogueE *ecdsa.PrivateKey // never registered
}

var (
	keysOnce   sync.Once
	sharedKeys testKeys
)

func clientKeys(t testing.TB) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		sharedKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		sharedKeys.rogue, err = rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		sharedKeys.ec, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
		sharedKeys.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		sharedKeys.rogueE, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
	})
	return sharedKeys
}

// publicJWKS builds a JWKS of the public parts of the given keys with kids.
func publicJWKS(t testing.TB, kids []string, keys ...crypto.Signer) json.RawMessage {
	t.Helper()
	set := jwk.NewSet()
	for i, k := range keys {
		pub, err := jwk.Import(k.Public())
		require.NoError(t, err)
		require.NoError(t, pub.Set(jwk.KeyIDKey, kids[i]))
		require.NoError(t, set.AddKey(pub))
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

// testClients are the clients registered by newTestServer.
func testClients(t testing.TB) []Client {
	k := clientKeys(t)
	return []Client{
		{ID: "patient-access", Secret: "s3cret", Scope: "user/Patient.read"},
		{ID: "reader", Secret: "r3ader", Scope: "user/Patient.read user/Observation.read user/Condition.read"},
		{ID: "patient-app", Secret: "p@ss:word", Scope: "patient/*.rs launch/patient", Patient: "pat-1"},
		{ID: "client:with space", Secret: "a:b%c+d", Scope: "user/Patient.read"},
		{ID: "backend", Scope: "system/*.rs", JWKS: publicJWKS(t, []string{"rsa-1", "ec-1", "ec256"}, k.rsa, k.ec, k.ec256)},
	}
}

func newTestServer(t testing.TB, mutate ...func(*Config)) (*Server, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg := Config{Issuer: testIssuer, Audience: testAudience, Clients: testClients(t), Now: clock.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	return s, clock
}

// request is one HTTP request against the server's handler.
type request struct {
	method string
	path   string
	form   url.Values
	body   string // used when form is nil
	header map[string]string
}

// response is a decoded handler answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t testing.TB, s *Server, rq request) response {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	body := rq.body
	if rq.form != nil {
		body = rq.form.Encode()
	}
	r := httptest.NewRequest(rq.method, "https://auth.example.test"+rq.path, strings.NewReader(body))
	if rq.method == http.MethodPost {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &res.body), w.Body.String())
	}
	return res
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// tokenRequest posts a client_credentials request authenticated by Basic.
func tokenRequest(t testing.TB, s *Server, id, secret string, form url.Values) response {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("grant_type", "client_credentials")
	return do(t, s, request{path: TokenPath, form: form, header: map[string]string{"Authorization": basic(id, secret)}})
}

// assertion builds a client assertion; header and claim entries set to nil are removed.
func assertion(t testing.TB, now time.Time, key crypto.Signer, alg string, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg, "typ": "JWT"}
	switch alg[:2] {
	case "RS":
		h["kid"] = "rsa-1"
	case "ES":
		h["kid"] = "ec-1"
	}
	applyOverrides(h, header)
	c := map[string]any{
		"iss": "backend", "sub": "backend", "aud": testTokenURL,
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": randomID(),
	}
	applyOverrides(c, claims)
	hb, err := json.Marshal(h)
	require.NoError(t, err)
	cb, err := json.Marshal(c)
	require.NoError(t, err)
	var signKey any = key
	if alg == "none" {
		signKey = nil
	}
	tok, err := SignCompact(hb, cb, alg, signKey)
	require.NoError(t, err)
	return tok
}

func assertionForm(a string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {ClientAssertionType},
		"client_assertion":      {a},
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// jtiOf returns the jti claim of a compact JWT (unverified).
func jtiOf(t testing.TB, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	var c map[string]any
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &c))
	return c["jti"].(string)
}

// swapSignature returns a's header and payload with b's signature.
func swapSignature(a, b string) string {
	pa := strings.Split(a, ".")
	pb := strings.Split(b, ".")
	return pa[0] + "." + pa[1] + "." + pb[2]
}
