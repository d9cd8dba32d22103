package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// RFC 6750 section 2.1 (header), 2.2/2.3 (form, query), 3 and 3.1
// (WWW-Authenticate and error codes), exercised with hostile headers.
func TestBearerExtraction(t *testing.T) {
	e := newEnv(t)
	good := e.token("user/Patient.rs", "")
	expired := e.iss.Mint(map[string]any{"sub": "user-1", "scope": "user/Patient.rs", "exp": 1000, "iat": 900})
	e.tokens = append(e.tokens, expired)
	huge := strings.Repeat("a", token.DefaultMaxTokenSize+1)
	realm := `Bearer realm="fhir"`

	cases := []struct {
		name      string
		headers   []string // Authorization header values, in order
		path      string
		status    int
		challenge string // exact WWW-Authenticate, or a prefix ending in '*'
		authCalls int64  // Authenticate calls expected
	}{
		{name: "no header", status: 401, challenge: realm},
		{name: "empty header", headers: []string{""}, status: 401, challenge: realm},
		{name: "other scheme", headers: []string{"Basic dXNlcjpwYXNz"}, status: 401, challenge: realm},
		{name: "scheme glued to token", headers: []string{"Bearer" + good}, status: 401, challenge: realm},
		{name: "Bearer without token", headers: []string{"Bearer"}, status: 401, challenge: realm + `, error="invalid_token", error_description="the Authorization header names the Bearer scheme but carries no token"`},
		{name: "Bearer and spaces only", headers: []string{"Bearer    "}, status: 401, challenge: realm + `, error="invalid_token", error_description="the Authorization header names the Bearer scheme but carries no token"`},
		{name: "lowercase scheme", headers: []string{"bearer " + good}, status: 200, authCalls: 1},
		{name: "uppercase scheme", headers: []string{"BEARER " + good}, status: 200, authCalls: 1},
		{name: "extra spaces before token", headers: []string{"Bearer    " + good}, status: 200, authCalls: 1},
		{name: "tab before token", headers: []string{"Bearer\t" + good}, status: 401, challenge: realm + `, error="invalid_token", *`},
		{name: "two tokens", headers: []string{"Bearer " + good + " " + good}, status: 401, challenge: realm + `, error="invalid_token", *`},
		{name: "token with comma", headers: []string{"Bearer " + good + ","}, status: 401, challenge: realm + `, error="invalid_token", *`},
		{name: "token with quote", headers: []string{`Bearer "` + good + `"`}, status: 401, challenge: realm + `, error="invalid_token", *`},
		{name: "duplicate header", headers: []string{"Bearer " + good, "Bearer " + good}, status: 400, challenge: realm + `, error="invalid_request", error_description="more than one Authorization header"`},
		{name: "duplicate, one empty", headers: []string{"Bearer " + good, ""}, status: 400, challenge: realm + `, error="invalid_request", *`},
		{name: "oversized", headers: []string{"Bearer " + huge}, status: 401, challenge: realm + `, error="invalid_token", error_description="the Authorization header is too large"`},
		{name: "garbage token", headers: []string{"Bearer abc.def.ghi"}, status: 401, challenge: realm + `, error="invalid_token", error_description="the access token is malformed*`, authCalls: 1},
		{name: "expired token", headers: []string{"Bearer " + expired}, status: 401, challenge: realm + `, error="invalid_token", error_description="the access token has expired*`, authCalls: 1},
		{name: "token in query", path: "/fhir/Patient?access_token=" + good, status: 400, challenge: realm + `, error="invalid_request", *`},
		{name: "token in query, escaped name", path: "/fhir/Patient?access%5Ftoken=" + good, status: 400, challenge: realm + `, error="invalid_request", *`},
		{name: "token in query and header", headers: []string{"Bearer " + good}, path: "/fhir/Patient?name=x&access_token=" + good, status: 400, challenge: realm + `, error="invalid_request", *`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.auth.calls.Load()
			h := http.Header{}
			for _, v := range c.headers {
				h.Add("Authorization", v)
			}
			path := c.path
			if path == "" {
				path = "/fhir/Patient?name=Alice"
			}
			res, body := e.request(t, http.MethodGet, path, h, "")
			require.Equal(t, c.status, res.StatusCode, "body: %s", body)
			assert.Equal(t, c.authCalls, e.auth.calls.Load()-before, "Authenticate calls")
			if c.status == 200 {
				assert.Empty(t, res.Header.Values("WWW-Authenticate"))
				return
			}
			assert.Equal(t, "application/fhir+json", res.Header.Get("Content-Type"))
			o := parseOutcome(t, body)
			assert.Equal(t, "error", o.Issue[0].Severity)
			ch := res.Header.Get("WWW-Authenticate")
			if p, ok := strings.CutSuffix(c.challenge, "*"); ok {
				assert.True(t, strings.HasPrefix(ch, p), "WWW-Authenticate %q does not start with %q", ch, p)
			} else {
				assert.Equal(t, c.challenge, ch)
			}
			if c.status == 401 && !strings.Contains(c.challenge, "error=") {
				assert.NotContains(t, ch, "error=", "RFC 6750 3.1: no error code without credentials")
			}
		})
	}
	e.assertNoTokenLogged(t, huge)
}

// RFC 6750 section 2.2: a form-body token is refused unless opted in, and
// then removed before the handler reads the body.
func TestFormBodyToken(t *testing.T) {
	form := func(tok string) string {
		return url.Values{"_id": {"p1"}, "access_token": {tok}}.Encode()
	}
	formHdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

	t.Run("refused by default", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("user/Patient.rs", "")
		res, body := e.request(t, http.MethodPost, "/fhir/Patient/_search", formHdr, form(tok))
		require.Equal(t, 400, res.StatusCode, "body: %s", body)
		assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_request"`)
		assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "request body")
		assert.Empty(t, e.fhir.Requests())
		e.assertNoTokenLogged(t)
	})
	t.Run("refused next to a header token", func(t *testing.T) {
		e := newEnv(t, withMW(middleware.WithFormBodyTokens()))
		tok := e.token("user/Patient.rs", "")
		h := formHdr.Clone()
		h.Set("Authorization", "Bearer "+tok)
		res, body := e.request(t, http.MethodPost, "/fhir/Patient/_search", h, form(tok))
		require.Equal(t, 400, res.StatusCode, "body: %s", body)
		assert.Empty(t, e.fhir.Requests())
	})
	t.Run("accepted when opted in, and stripped", func(t *testing.T) {
		e := newEnv(t, withMW(middleware.WithFormBodyTokens()))
		tok := e.token("user/Patient.rs", "")
		res, body := e.request(t, http.MethodPost, "/fhir/Patient/_search", formHdr, form(tok))
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		reqs := e.fhir.Requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "_id=p1", string(reqs[0].Body))
		b := parseBundle(t, body)
		assert.Equal(t, []string{"Patient/p1"}, b.ids())
		e.assertNoTokenLogged(t)
	})
	t.Run("two form tokens", func(t *testing.T) {
		e := newEnv(t, withMW(middleware.WithFormBodyTokens()))
		tok := e.token("user/Patient.rs", "")
		res, body := e.request(t, http.MethodPost, "/fhir/Patient/_search", formHdr, form(tok)+"&access_token="+tok)
		require.Equal(t, 400, res.StatusCode, "body: %s", body)
	})
}

// With the token package's own Authenticators the middleware leaves the
// byte-by-byte syntax check to them: malformed tokens are still 401.
func TestBearerSyntaxWithVerifier(t *testing.T) {
	e := newEnv(t)
	policy, err := fhirauth.NewPolicy()
	require.NoError(t, err)
	mw, err := middleware.New(e.ver, policy, middleware.WithLogger(slogJSON(e.logs)))
	require.NoError(t, err)
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	good := e.token("user/Patient.rs", "")
	for name, v := range map[string]string{
		"two tokens":   "Bearer " + good + " " + good,
		"comma":        "Bearer " + good + ",",
		"quote":        `Bearer "` + good + `"`,
		"tab inside":   "Bearer " + good[:10] + "\t" + good[10:],
		"non-ascii":    "Bearer " + good + "\u00e9",
		"padding mess": "Bearer =" + good,
	} {
		req := httptest.NewRequest(http.MethodGet, "/fhir/Patient/p1", nil)
		req.Header.Set("Authorization", v)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, 401, rec.Code, name)
		assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`, name)
		assert.NotContains(t, rec.Body.String(), good, name)
	}
	req := httptest.NewRequest(http.MethodGet, "/fhir/Patient/p1", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, 200, rec.Code)
	e.assertNoTokenLogged(t)
}
