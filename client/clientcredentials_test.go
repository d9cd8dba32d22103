package client

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientCredentialsAuthStyles(t *testing.T) {
	const id, secret = "a24a4d9f-c264-4af7-a8e5-248c24a6b707", "MMpAOGBljYc-EzBfn7q9_xgJq+Bl/mR0=" // '+', '/', '=' need form-encoding
	tests := []struct {
		name  string
		opts  []TokenOption
		basic bool
	}{
		{name: "default is Basic", basic: true},
		{name: "explicit Basic", opts: []TokenOption{WithClientAuth(ClientSecretBasic)}, basic: true},
		{name: "form body", opts: []TokenOption{WithClientAuth(ClientSecretPost)}, basic: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeTokenServer(t)
			ts, err := ClientCredentials(srv.URL+"/token", id, secret, append(tt.opts, WithScopes("user/Patient.read", "user/Observation.read"))...)
			require.NoError(t, err)
			tok, err := ts.Token()
			require.NoError(t, err)
			assert.NotEmpty(t, tok.AccessToken)

			reqs := srv.Requests()
			require.Len(t, reqs, 1, "exactly one token request (no auto-detect second attempt)")
			r := reqs[0]
			assert.Equal(t, "client_credentials", r.Form.Get("grant_type"))
			assert.Equal(t, "user/Patient.read user/Observation.read", r.Form.Get("scope"))
			assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
			if tt.basic {
				auth := r.Header.Get("Authorization")
				require.True(t, strings.HasPrefix(auth, "Basic "), "Basic header sent, got %q", auth)
				raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
				require.NoError(t, err)
				u, p, ok := strings.Cut(string(raw), ":")
				require.True(t, ok)
				// RFC 6749 section 2.3.1: form-encoded before Basic encoding.
				gotID, _ := url.QueryUnescape(u)
				gotSecret, _ := url.QueryUnescape(p)
				assert.Equal(t, id, gotID)
				assert.Equal(t, secret, gotSecret)
				assert.NotContains(t, r.Body, "client_secret", "secret must not be in the body")
				assert.NotContains(t, r.Body, url.QueryEscape(secret))
				assert.Empty(t, r.Form.Get("client_id"))
			} else {
				assert.Empty(t, r.Header.Get("Authorization"), "no Authorization header with client_secret_post")
				assert.Equal(t, id, r.Form.Get("client_id"))
				assert.Equal(t, secret, r.Form.Get("client_secret"))
			}
		})
	}
}

func TestClientCredentialsOAuthErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		ctype    string
		code     string
		sentinel error
	}{
		{"invalid_client", 401, `{"error":"invalid_client","error_description":"bad secret"}`, "application/json", "invalid_client", ErrInvalidClient},
		{"invalid_scope", 400, `{"error":"invalid_scope","error_description":"no such scope"}`, "application/json", "invalid_scope", ErrInvalidScope},
		{"error with 200", 200, `{"error":"unauthorized_client"}`, "application/json", "unauthorized_client", ErrUnauthorizedClient},
		{"html 500", 500, `<html>oops</html>`, "text/html", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeTokenServer(t)
			srv.setAnswer(func(w http.ResponseWriter, _ int) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			ts, err := ClientCredentials(srv.URL, "id", "secret")
			require.NoError(t, err)
			_, err = ts.Token()
			var oe *OAuthError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tt.code, oe.Code)
			assert.Equal(t, tt.status, oe.StatusCode)
			if tt.sentinel != nil {
				assert.ErrorIs(t, err, tt.sentinel)
				assert.Contains(t, err.Error(), tt.code)
			}
			assert.NotErrorIs(t, err, ErrInvalidGrant)
		})
	}
}

func TestClientCredentialsErrorsAreNotCached(t *testing.T) {
	srv := newFakeTokenServer(t)
	ok := srv.answer
	srv.setAnswer(func(w http.ResponseWriter, _ int) {
		writeJSON(w, 503, map[string]string{"error": "temporarily_unavailable"})
	})
	ts, err := ClientCredentials(srv.URL, "id", "secret")
	require.NoError(t, err)
	_, err = ts.Token()
	require.Error(t, err)
	srv.setAnswer(ok)
	tok, err := ts.Token()
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.Len(t, srv.Requests(), 2)
}

func TestClientCredentialsConfig(t *testing.T) {
	tests := []struct {
		name            string
		url, id, secret string
		opts            []TokenOption
	}{
		{"no id", "https://as.example/token", "", "s", nil},
		{"no secret", "https://as.example/token", "id", "", nil},
		{"relative url", "/token", "id", "s", nil},
		{"ftp url", "ftp://as.example/token", "id", "s", nil},
		{"credentials in url", "https://u:p@as.example/token", "id", "s", nil},
		{"plain http remote", "http://as.example/token", "id", "s", nil},
		{"private_key_jwt with secret", "https://as.example/token", "id", "s", []TokenOption{WithClientAuth(PrivateKeyJWT)}},
		{"unknown auth", "https://as.example/token", "id", "s", []TokenOption{WithClientAuth("client_secret_jwt")}},
		{"space in scope", "https://as.example/token", "id", "s", []TokenOption{WithScopes("a b")}},
		{"quote in scope", "https://as.example/token", "id", "s", []TokenOption{WithScopes(`a"b`)}},
		{"override secret param", "https://as.example/token", "id", "s", []TokenOption{WithEndpointParams(url.Values{"client_secret": {"x"}})}},
		{"negative skew", "https://as.example/token", "id", "s", []TokenOption{WithRefreshSkew(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ClientCredentials(tt.url, tt.id, tt.secret, tt.opts...)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
	_, err := ClientCredentials("http://as.example/token", "id", "s", WithInsecureTokenURL())
	assert.NoError(t, err, "plain http allowed when asked")
	_, err = ClientCredentials("http://127.0.0.1:9/token", "id", "s")
	assert.NoError(t, err, "loopback http allowed")
}

func TestClientCredentialsEndpointParams(t *testing.T) {
	srv := newFakeTokenServer(t)
	ts, err := ClientCredentials(srv.URL, "id", "secret", WithEndpointParams(url.Values{"audience": {"https://fhir.example"}}))
	require.NoError(t, err)
	_, err = ts.TokenContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "https://fhir.example", srv.Requests()[0].Form.Get("audience"))
}

func TestClientCredentialsUnreachable(t *testing.T) {
	ts, err := ClientCredentials("http://127.0.0.1:1/token", "id", "secret")
	require.NoError(t, err)
	_, err = ts.Token()
	require.Error(t, err)
	var oe *OAuthError
	assert.False(t, errors.As(err, &oe), "a network failure is not an OAuth error")
}
