package authserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyIssued checks tok's signature against the server's published JWKS
// (as a third-party verifier would, with jwx) and returns header and claims.
func verifyIssued(t testing.TB, s *Server, tok string) (map[string]any, map[string]any) {
	t.Helper()
	doc, err := s.JWKS()
	require.NoError(t, err)
	set, err := jwk.Parse(doc)
	require.NoError(t, err)
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(set, jws.WithRequireKid(true)))
	require.NoError(t, err)
	var header, claims map[string]any
	h, _, _ := strings.Cut(tok, ".")
	hb, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(hb, &header))
	require.NoError(t, json.Unmarshal(payload, &claims))
	return header, claims
}

func TestTokenClientSecretBasic(t *testing.T) {
	s, clock := newTestServer(t)
	res := tokenRequest(t, s, "patient-access", "s3cret", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	assert.Equal(t, "no-cache", res.header.Get("Pragma"))
	assert.Equal(t, "Bearer", res.body["token_type"])
	assert.EqualValues(t, 5400, res.body["expires_in"])
	assert.Equal(t, "user/Patient.read", res.body["scope"])
	assert.NotContains(t, res.body, "patient")

	header, claims := verifyIssued(t, s, res.body["access_token"].(string))
	assert.Equal(t, "RS256", header["alg"])
	assert.Equal(t, "at+jwt", header["typ"])
	assert.Equal(t, s.KeyIDs()[0], header["kid"])
	now := clock.Now().Unix()
	assert.Equal(t, testIssuer, claims["iss"])
	assert.Equal(t, testAudience, claims["aud"])
	assert.Equal(t, "patient-access", claims["sub"])
	assert.Equal(t, "patient-access", claims["client_id"])
	assert.Equal(t, "user/Patient.read", claims["scope"])
	assert.EqualValues(t, now, claims["iat"])
	assert.EqualValues(t, now, claims["nbf"])
	assert.EqualValues(t, now+5400, claims["exp"])
	assert.NotEmpty(t, claims["jti"])
}

func TestTokenClientSecretPostAndPatient(t *testing.T) {
	s, _ := newTestServer(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"patient-app"}, "client_secret": {"p@ss:word"}}
	res := do(t, s, request{path: TokenPath, form: form})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	assert.Equal(t, "pat-1", res.body["patient"])
	_, claims := verifyIssued(t, s, res.body["access_token"].(string))
	assert.Equal(t, "pat-1", claims["patient"])
	assert.Equal(t, "patient/*.rs launch/patient", claims["scope"])
}

func TestTokenBasicCredentialsAreFormEncoded(t *testing.T) {
	s, _ := newTestServer(t)
	// RFC 6749 2.3.1: id and secret are form-urlencoded before base64.
	res := tokenRequest(t, s, "client:with space", "a:b%c+d", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	_, claims := verifyIssued(t, s, res.body["access_token"].(string))
	assert.Equal(t, "client:with space", claims["client_id"])

	// The same credentials sent raw (not encoded) must not authenticate:
	// "client:with space:a:b%c+d" splits at the first colon.
	raw := "Basic " + base64.StdEncoding.EncodeToString([]byte("client:with space:a:b%c+d"))
	res = do(t, s, request{path: TokenPath, form: url.Values{"grant_type": {"client_credentials"}}, header: map[string]string{"Authorization": raw}})
	assert.Equal(t, http.StatusUnauthorized, res.status)
}

func TestTokenBasicWithSameClientIDInBody(t *testing.T) {
	s, _ := newTestServer(t)
	res := tokenRequest(t, s, "reader", "r3ader", url.Values{"client_id": {"reader"}})
	assert.Equal(t, http.StatusOK, res.status, res.raw)
}

func TestTokenRefusals(t *testing.T) {
	s, _ := newTestServer(t)
	grant := url.Values{"grant_type": {"client_credentials"}}
	good := basic("patient-access", "s3cret")
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name      string
		rq        request
		status    int
		code      string
		wantBasic bool // WWW-Authenticate: Basic expected
	}{
		{"wrong secret", request{form: grant, header: map[string]string{"Authorization": basic("patient-access", "wrong")}}, 401, "invalid_client", true},
		{"secret prefix", request{form: grant, header: map[string]string{"Authorization": basic("patient-access", "s3cre")}}, 401, "invalid_client", true},
		{"empty secret", request{form: grant, header: map[string]string{"Authorization": basic("patient-access", "")}}, 401, "invalid_client", true},
		{"unknown client", request{form: grant, header: map[string]string{"Authorization": basic("nobody", "s3cret")}}, 401, "invalid_client", true},
		{"key-only client with empty secret", request{form: grant, header: map[string]string{"Authorization": basic("backend", "")}}, 401, "invalid_client", true},
		{"no client authentication", request{form: grant}, 401, "invalid_client", true},
		{"client_id alone (public client)", request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"patient-access"}}}, 401, "invalid_client", true},
		{"bearer scheme", request{form: grant, header: map[string]string{"Authorization": "Bearer abc"}}, 401, "invalid_client", true},
		{"basic without colon", request{form: grant, header: map[string]string{"Authorization": b64("patient-access")}}, 401, "invalid_client", true},
		{"basic bad base64", request{form: grant, header: map[string]string{"Authorization": "Basic !!!"}}, 401, "invalid_client", true},
		{"basic bad escape", request{form: grant, header: map[string]string{"Authorization": b64("patient-access:%zz")}}, 401, "invalid_client", true},
		{"post wrong secret", request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"patient-access"}, "client_secret": {"nope"}}}, 401, "invalid_client", false},
		{"post without client_id", request{form: url.Values{"grant_type": {"client_credentials"}, "client_secret": {"s3cret"}}}, 401, "invalid_client", false},
		{"basic and post", request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"patient-access"}, "client_secret": {"s3cret"}}, header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"basic and assertion", request{form: url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {ClientAssertionType}, "client_assertion": {"x.y.z"}}, header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"post and assertion", request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"patient-access"}, "client_secret": {"s3cret"}, "client_assertion": {"x.y.z"}}}, 400, "invalid_request", false},
		{"basic and other client_id in body", request{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"reader"}}, header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"missing grant_type", request{form: url.Values{}, header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"password grant", request{form: url.Values{"grant_type": {"password"}}, header: map[string]string{"Authorization": good}}, 400, "unsupported_grant_type", false},
		{"repeated grant_type", request{body: "grant_type=client_credentials&grant_type=client_credentials", header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"repeated client_secret", request{body: "grant_type=client_credentials&client_id=patient-access&client_secret=x&client_secret=s3cret"}, 400, "invalid_request", false},
		{"secret in URL query", request{path: TokenPath + "?client_secret=s3cret", form: grant, header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"malformed body", request{body: "grant_type=%zz", header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"json body", request{body: `{"grant_type":"client_credentials"}`, header: map[string]string{"Authorization": good, "Content-Type": "application/json"}}, 400, "invalid_request", false},
		{"oversized body", request{body: "grant_type=client_credentials&x=" + strings.Repeat("a", maxFormBytes), header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
		{"GET", request{method: http.MethodGet, header: map[string]string{"Authorization": good}}, 405, "invalid_request", false},
		{"two Authorization headers", request{form: grant, header: map[string]string{"Authorization": good}}, 400, "invalid_request", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rq.path == "" {
				tc.rq.path = TokenPath
			}
			var res response
			if tc.name == "two Authorization headers" {
				res = doTwoAuthz(t, s, good)
			} else {
				res = do(t, s, tc.rq)
			}
			assert.Equal(t, tc.status, res.status, res.raw)
			assert.Equal(t, tc.code, res.body["error"], res.raw)
			assert.NotContains(t, res.body, "access_token")
			assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
			if tc.wantBasic {
				assert.Contains(t, res.header.Get("WWW-Authenticate"), "Basic")
			} else {
				assert.Empty(t, res.header.Get("WWW-Authenticate"))
			}
			assert.NotContains(t, res.raw, "s3cret", "error responses never echo secrets")
		})
	}
}

func doTwoAuthz(t *testing.T, s *Server, authz string) response {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, testTokenURL, strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Add("Authorization", authz)
	r.Header.Add("Authorization", basic("reader", "r3ader"))
	w := newRecorder()
	s.Handler().ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), raw: w.Body.String()}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &res.body))
	return res
}

func TestTokenScopeIntersection(t *testing.T) {
	s, _ := newTestServer(t)
	tests := []struct {
		name   string
		client string
		secret string
		scope  *string // nil: no scope parameter
		code   string  // expected error; "" for success
		permit []string
		deny   []string
	}{
		{name: "no scope gets all", client: "reader", secret: "r3ader", permit: []string{"Patient.r", "Observation.s", "Condition.r"}},
		{name: "subset", client: "reader", secret: "r3ader", scope: ptr("user/Observation.read"), permit: []string{"Observation.r"}, deny: []string{"Patient.r", "Condition.r"}},
		{name: "partly allowed", client: "reader", secret: "r3ader", scope: ptr("user/Observation.read user/Encounter.read"), permit: []string{"Observation.r"}, deny: []string{"Encounter.r"}},
		{name: "write narrowed to nothing", client: "reader", secret: "r3ader", scope: ptr("user/Patient.write"), code: "invalid_scope"},
		{name: "wildcard request narrowed", client: "reader", secret: "r3ader", scope: ptr("user/*.read"), permit: []string{"Patient.r", "Observation.r", "Condition.s"}, deny: []string{"Encounter.r"}},
		{name: "v2 letters narrowed", client: "reader", secret: "r3ader", scope: ptr("user/Patient.cruds"), permit: []string{"Patient.r", "Patient.s"}, deny: []string{"Patient.c", "Patient.u", "Patient.d"}},
		{name: "other context", client: "reader", secret: "r3ader", scope: ptr("system/Patient.read"), code: "invalid_scope"},
		{name: "unrelated type", client: "patient-access", secret: "s3cret", scope: ptr("user/Observation.read"), code: "invalid_scope"},
		{name: "malformed scope", client: "reader", secret: "r3ader", scope: ptr("user/Patient.rr"), code: "invalid_scope"},
		{name: "malformed among valid", client: "reader", secret: "r3ader", scope: ptr("user/Patient.read user/Observation."), code: "invalid_scope"},
		{name: "empty scope", client: "reader", secret: "r3ader", scope: ptr(""), code: "invalid_scope"},
		{name: "blank scope", client: "reader", secret: "r3ader", scope: ptr("   "), code: "invalid_scope"},
		{name: "non-resource kept when allowed", client: "patient-app", secret: "p@ss:word", scope: ptr("launch/patient patient/Observation.rs"), permit: []string{"Observation.r"}, deny: []string{"Patient.r"}},
		{name: "non-resource not allowed", client: "reader", secret: "r3ader", scope: ptr("openid"), code: "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			if tc.scope != nil {
				form.Set("scope", *tc.scope)
			}
			res := tokenRequest(t, s, tc.client, tc.secret, form)
			if tc.code != "" {
				assert.Equal(t, http.StatusBadRequest, res.status, res.raw)
				assert.Equal(t, tc.code, res.body["error"])
				assert.NotContains(t, res.body, "access_token")
				return
			}
			require.Equal(t, http.StatusOK, res.status, res.raw)
			_, claims := verifyIssued(t, s, res.body["access_token"].(string))
			assert.Equal(t, res.body["scope"], claims["scope"])
			granted, err := scope.ParseSet(claims["scope"].(string))
			require.NoError(t, err)
			ctx := scope.User
			if tc.client == "patient-app" {
				ctx = scope.Patient
			}
			check := func(spec string, want bool) {
				typ, letters, _ := strings.Cut(spec, ".")
				p := map[string]scope.Permission{"c": scope.Create, "r": scope.Read, "u": scope.Update, "d": scope.Delete, "s": scope.Search}[letters]
				got := granted.Permits(ctx, typ, p) != scope.Denied
				assert.Equal(t, want, got, "%s in %q", spec, claims["scope"])
			}
			for _, p := range tc.permit {
				check(p, true)
			}
			for _, d := range tc.deny {
				check(d, false)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestTokenLifetimeConfigurable(t *testing.T) {
	s, clock := newTestServer(t, func(c *Config) { c.TokenLifetime = 10 * time.Minute })
	res := tokenRequest(t, s, "patient-access", "s3cret", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.EqualValues(t, 600, res.body["expires_in"])
	_, claims := verifyIssued(t, s, res.body["access_token"].(string))
	assert.EqualValues(t, clock.Now().Add(10*time.Minute).Unix(), claims["exp"])
}

func TestTokenAfterRemoveClient(t *testing.T) {
	s, _ := newTestServer(t)
	s.RemoveClient("patient-access")
	res := tokenRequest(t, s, "patient-access", "s3cret", nil)
	assert.Equal(t, http.StatusUnauthorized, res.status)
}
