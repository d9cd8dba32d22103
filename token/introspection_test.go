package token_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

func newIntrospector(t *testing.T, iss *tokentest.Issuer, clk *testClock, edit func(*token.IntrospectorConfig), opts ...token.IntrospectorOption) *token.Introspector {
	t.Helper()
	cfg := token.IntrospectorConfig{
		Endpoint: iss.IntrospectionURL(), ClientID: "rs", ClientSecret: "rs-secret",
		Issuer: iss.URL, Audience: iss.Audience(),
	}
	if edit != nil {
		edit(&cfg)
	}
	in, err := token.NewIntrospector(cfg, append([]token.IntrospectorOption{token.WithClock(clk.Now), token.WithLogger(discardLogger)}, opts...)...)
	require.NoError(t, err)
	return in
}

func TestIntrospector(t *testing.T) {
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	in := newIntrospector(t, iss, clk, nil)
	ctx := context.Background()

	t.Run("active opaque token", func(t *testing.T) {
		raw := iss.MintOpaque(map[string]any{
			"sub": "alice", "client_id": "app", "scope": "patient/Observation.rs launch/patient",
			"patient": "123", "fhirUser": "Patient/123",
		})
		p, err := in.Authenticate(ctx, raw)
		require.NoError(t, err)
		require.Equal(t, "alice", p.Subject)
		require.Equal(t, "app", p.ClientID)
		require.Equal(t, iss.URL, p.Issuer)
		require.Equal(t, "123", p.Patient)
		require.Equal(t, "Patient/123", p.FHIRUser)
		require.False(t, p.ExpiresAt.IsZero())
		require.Equal(t, scope.Unconstrained, p.Scopes.Permits(scope.Patient, "Observation", scope.Search))
		active, _ := p.Claim("active")
		require.Equal(t, true, active)
		claims, err := p.Claims()
		require.NoError(t, err)
		require.Equal(t, "patient/Observation.rs launch/patient", claims["scope"])

		reqs := iss.IntrospectionRequests()
		require.NotEmpty(t, reqs)
		last := reqs[len(reqs)-1]
		require.Equal(t, http.MethodPost, last.Method)
	})
	t.Run("JWTs introspect too", func(t *testing.T) {
		p, err := in.Authenticate(ctx, iss.Mint(map[string]any{"sub": "bob"}))
		require.NoError(t, err)
		require.Equal(t, "bob", p.Subject)
	})
	t.Run("active false", func(t *testing.T) {
		for _, raw := range []string{"unknown-opaque-token", iss.MintOpaque(map[string]any{"exp": clk.Now().Add(-time.Hour).Unix()})} {
			_, err := in.Authenticate(ctx, raw)
			requireRejected(t, err, token.ErrInactive, raw)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		raw := iss.MintOpaque(nil)
		_, err := in.Authenticate(ctx, raw)
		require.NoError(t, err)
		iss.Revoke(raw)
		_, err = in.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrInactive, raw)
	})
	t.Run("wrong client credentials", func(t *testing.T) {
		bad := newIntrospector(t, iss, clk, func(c *token.IntrospectorConfig) { c.ClientSecret = "wrong" })
		raw := iss.MintOpaque(nil)
		_, err := bad.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrIssuerUnavailable, raw)
	})
	t.Run("issuer and audience of the answer are checked", func(t *testing.T) {
		raw := iss.MintOpaque(nil)
		other := newIntrospector(t, iss, clk, func(c *token.IntrospectorConfig) { c.Issuer = "https://other.example" })
		_, err := other.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrIssuer, raw)
		other = newIntrospector(t, iss, clk, func(c *token.IntrospectorConfig) { c.Audience = "https://other.example/fhir" })
		_, err = other.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrAudience, raw)
	})
	t.Run("endpoint failing", func(t *testing.T) {
		raw := iss.MintOpaque(nil)
		iss.FailIntrospection(http.StatusInternalServerError)
		_, err := in.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrIssuerUnavailable, raw)
		iss.FailIntrospection(0)
		_, err = in.Authenticate(ctx, raw)
		require.NoError(t, err)
	})
	t.Run("endpoint slow", func(t *testing.T) {
		slow := newIntrospector(t, iss, clk, nil, token.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
		raw := iss.MintOpaque(nil)
		iss.SetDelay(time.Second)
		defer iss.SetDelay(0)
		_, err := slow.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrIssuerUnavailable, raw)
	})
	t.Run("malformed tokens are not sent", func(t *testing.T) {
		n := len(iss.IntrospectionRequests())
		for _, raw := range []string{"", "has space", "new\nline", "quote\"", strings.Repeat("a", 17<<10)} {
			_, err := in.Authenticate(ctx, raw)
			requireRejected(t, err, token.ErrMalformed, raw)
		}
		require.Len(t, iss.IntrospectionRequests(), n)
	})
}

func TestIntrospectorUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/introspect"
	srv.Close() // nothing listens there any more
	clk := newTestClock()
	in, err := token.NewIntrospector(token.IntrospectorConfig{
		Endpoint: url, ClientID: "rs", ClientSecret: "s", Issuer: "https://idp.example", Audience: "aud",
	}, token.WithClock(clk.Now))
	require.NoError(t, err)
	raw := "opaque-token-123456789"
	_, err = in.Authenticate(context.Background(), raw)
	requireRejected(t, err, token.ErrIssuerUnavailable, raw)
}

// TestIntrospectorAnswers checks the answer handling against crafted answers.
func TestIntrospectorAnswers(t *testing.T) {
	clk := newTestClock()
	now := clk.Now().Unix()
	var answer atomic.Value
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != "rs%3Aid" || pass != "p%40ss+word" || r.Method != http.MethodPost ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		if r.PostFormValue("token") != "opaque-abc" || r.PostFormValue("token_type_hint") != "access_token" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		a := answer.Load().(string)
		if a == "big" {
			a = `{"active":true,"pad":"` + strings.Repeat("x", 70<<10) + `"}`
		}
		_, _ = w.Write([]byte(a))
	}))
	defer srv.Close()
	in, err := token.NewIntrospector(token.IntrospectorConfig{
		Endpoint: srv.URL, ClientID: "rs:id", ClientSecret: "p@ss word", Issuer: "https://idp.example", Audience: "https://fhir.example",
	}, token.WithClock(clk.Now), token.WithLogger(discardLogger))
	require.NoError(t, err)

	n := func(d int64) string { return strings.TrimSpace(string(mustJSON(t, now+d))) }
	tests := []struct {
		answer string
		want   error // nil: accepted
	}{
		{`{"active":true,"aud":"https://fhir.example"}`, nil},
		{`{"active":true}`, token.ErrAudience}, // no aud: may be for another resource server
		{`{"active":true,"iss":"https://idp.example","aud":["x","https://fhir.example"],"exp":` + n(60) + `,"scope":"user/Patient.rs"}`, nil},
		{`{"active":false}`, token.ErrInactive},
		{`{"active":"true"}`, token.ErrInactive},
		{`{"active":1}`, token.ErrInactive},
		{`{}`, token.ErrInactive},
		{`{"active":true,"aud":"https://fhir.example","iss":"https://evil.example"}`, token.ErrIssuer},
		{`{"active":true,"aud":"https://other.example"}`, token.ErrAudience},
		{`{"active":true,"aud":"https://fhir.example","exp":` + n(-3600) + `}`, token.ErrExpired},
		{`{"active":true,"aud":"https://fhir.example","nbf":` + n(3600) + `}`, token.ErrNotYetValid},
		{`{"active":true,"aud":"https://fhir.example","scope":"patient/Observation.rx"}`, token.ErrScope},
		{`{"active":true,"aud":"https://fhir.example","patient":42}`, token.ErrMalformed},
		{`{"active":true,"aud":"https://fhir.example","token_type":"Bearer"}`, nil},
		{`{"active":true,"aud":"https://fhir.example","token_type":"refresh_token"}`, token.ErrInactive},
		{`{"active":true,"aud":"https://fhir.example","token_type":"DPoP"}`, token.ErrInactive},
		{`{"active":true,"aud":"https://fhir.example","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`, token.ErrMalformed},
		{`{"active":true,"active":false}`, token.ErrIssuerUnavailable},
		{`<html>oops</html>`, token.ErrIssuerUnavailable},
		{`big`, token.ErrIssuerUnavailable},
	}
	for _, tc := range tests {
		answer.Store(tc.answer)
		p, err := in.Authenticate(context.Background(), "opaque-abc")
		if tc.want == nil {
			require.NoError(t, err, tc.answer)
			require.NotNil(t, p)
			continue
		}
		require.Nil(t, p, tc.answer)
		requireRejected(t, err, tc.want, "opaque-abc")
	}
}

func TestIntrospectorCache(t *testing.T) {
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	in := newIntrospector(t, iss, clk, nil, token.WithTokenCache(10, 30*time.Second))
	raw := iss.MintOpaque(nil)
	p1, err := in.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	n := len(iss.IntrospectionRequests())
	p2, err := in.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	require.Same(t, p1, p2)
	require.Len(t, iss.IntrospectionRequests(), n, "answered from the cache")
	clk.Advance(31 * time.Second)
	_, err = in.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), n+1, "cache entry expired after its TTL")

	// Failures are not cached; the default introspector caches nothing.
	plain := newIntrospector(t, iss, clk, nil)
	_, err = plain.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	_, err = plain.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), n+3)
}

func TestNewIntrospectorConfig(t *testing.T) {
	ok := token.IntrospectorConfig{Endpoint: "https://idp.example/introspect", ClientID: "c", ClientSecret: "s", Issuer: "i", Audience: "a"}
	for name, edit := range map[string]func(*token.IntrospectorConfig){
		"no endpoint":     func(c *token.IntrospectorConfig) { c.Endpoint = "" },
		"http endpoint":   func(c *token.IntrospectorConfig) { c.Endpoint = "http://idp.example/introspect" },
		"no client id":    func(c *token.IntrospectorConfig) { c.ClientID = "" },
		"no secret":       func(c *token.IntrospectorConfig) { c.ClientSecret = "" },
		"no issuer":       func(c *token.IntrospectorConfig) { c.Issuer = "" },
		"no audience":     func(c *token.IntrospectorConfig) { c.Audience = "" },
		"endpoint w/user": func(c *token.IntrospectorConfig) { c.Endpoint = "https://u:p@idp.example/introspect" },
	} {
		cfg := ok
		edit(&cfg)
		_, err := token.NewIntrospector(cfg)
		require.ErrorIs(t, err, token.ErrConfig, name)
	}
	_, err := token.NewIntrospector(ok)
	require.NoError(t, err)
	_, err = token.NewIntrospector(token.IntrospectorConfig{Endpoint: "http://idp.internal/introspect", ClientID: "c", ClientSecret: "s", Issuer: "i", Audience: "a"}, token.WithInsecureHTTP())
	require.NoError(t, err)
}
