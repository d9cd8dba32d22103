package client

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the token sources against token/tokentest, whose token
// endpoint authenticates clients the way the careconnect server does.

func TestTokentestClientAuthStyles(t *testing.T) {
	const id, secret = "patient-access", "s3cret+/="
	iss := tokentest.NewIssuer(tokentest.WithClient(id, secret, "user/Patient.read user/Observation.read"))
	defer iss.Close()

	for _, tt := range []struct {
		name  string
		auth  ClientAuth
		basic bool
	}{{"basic", ClientSecretBasic, true}, {"post", ClientSecretPost, false}} {
		t.Run(tt.name, func(t *testing.T) {
			iss.ResetRecords()
			ts, err := ClientCredentials(iss.TokenURL(), id, secret, WithClientAuth(tt.auth), WithScopes("user/Patient.read"))
			require.NoError(t, err)
			tok, err := ts.Token()
			require.NoError(t, err, "the issuer accepted the client")
			assert.Equal(t, "user/Patient.read", tok.Extra("scope"))
			claims, active := iss.Introspect(tok.AccessToken)
			require.True(t, active)
			assert.Equal(t, id, claims["client_id"])

			reqs := iss.TokenRequests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			if tt.basic {
				require.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "Basic "))
				raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Authorization"), "Basic "))
				require.NoError(t, err)
				assert.Equal(t, url.QueryEscape(id)+":"+url.QueryEscape(secret), string(raw))
				assert.False(t, r.Form.Has("client_secret"), "secret not in the body")
				assert.NotContains(t, string(r.Body), url.QueryEscape(secret))
			} else {
				assert.Empty(t, r.Header.Get("Authorization"), "no Basic header")
				assert.Equal(t, secret, r.Form.Get("client_secret"))
				assert.Equal(t, id, r.Form.Get("client_id"))
			}
		})
	}
}

func TestTokentestOAuthErrors(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "right", "user/Patient.read"))
	defer iss.Close()

	ts, err := ClientCredentials(iss.TokenURL(), "app", "wrong")
	require.NoError(t, err)
	_, err = ts.Token()
	var oe *OAuthError
	require.ErrorAs(t, err, &oe)
	assert.ErrorIs(t, err, ErrInvalidClient)
	assert.Equal(t, http.StatusUnauthorized, oe.StatusCode)

	ts, err = ClientCredentials(iss.TokenURL(), "app", "right", WithScopes("system/*.cruds"))
	require.NoError(t, err)
	_, err = ts.Token()
	assert.ErrorIs(t, err, ErrInvalidScope)

	iss.FailToken(http.StatusServiceUnavailable)
	ts, err = ClientCredentials(iss.TokenURL(), "app", "right")
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, http.StatusServiceUnavailable, oe.StatusCode)
}

func TestTokentestBackendServices(t *testing.T) {
	for _, tt := range []struct{ kind, alg string }{{"rsa", "RS384"}, {"p384", "ES384"}} {
		t.Run(tt.alg, func(t *testing.T) {
			iss := tokentest.NewIssuer()
			defer iss.Close()
			key := testKey(t, tt.kind, "bulk-key-1", tt.alg)
			iss.AddKeyClient("bulk-export", key, "system/*.rs")

			ts, err := BackendServices(iss.TokenURL(), "bulk-export", key, WithScopes("system/Observation.rs"))
			require.NoError(t, err)
			// Three fetches: the issuer verifies each assertion (signature,
			// iss = sub, aud, lifetime) and would refuse a repeated jti.
			for range 3 {
				tok, err := ts.Token()
				require.NoError(t, err, "the issuer accepted the assertion")
				claims, active := iss.Introspect(tok.AccessToken)
				require.True(t, active)
				assert.Equal(t, "bulk-export", claims["client_id"])
				assert.Equal(t, "system/Observation.rs", claims["scope"])
				ts.Invalidate(tok)
			}
			reqs := iss.TokenRequests()
			require.Len(t, reqs, 3)
			jtis := map[string]bool{}
			for _, r := range reqs {
				assert.Empty(t, r.Header.Get("Authorization"))
				assert.Equal(t, clientAssertionType, r.Form.Get("client_assertion_type"))
				jtis[r.Form.Get("client_assertion")] = true
			}
			assert.Len(t, jtis, 3, "a fresh assertion each time")
		})
	}
}

func TestTokentestBackendServicesRefused(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	registered := testKey(t, "p384", "k1", "")
	iss.AddKeyClient("svc", registered, "system/*.rs")

	// Same kid, different key: the signature does not verify.
	impostor := testKey(t, "p384", "k1", "")
	ts, err := BackendServices(iss.TokenURL(), "svc", impostor)
	require.NoError(t, err)
	_, err = ts.Token()
	assert.ErrorIs(t, err, ErrInvalidClient)

	// Right key, wrong client id (iss/sub).
	ts, err = BackendServices(iss.TokenURL(), "other", registered)
	require.NoError(t, err)
	_, err = ts.Token()
	assert.ErrorIs(t, err, ErrInvalidClient)

	// A scope the client may not have.
	ts, err = BackendServices(iss.TokenURL(), "svc", registered, WithScopes("system/*.cud"))
	require.NoError(t, err)
	_, err = ts.Token()
	assert.ErrorIs(t, err, ErrInvalidScope)
}

func TestTokentestRefreshBeforeExpiry(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s", "user/Patient.read"), tokentest.WithTokenLifetime(10*time.Minute))
	defer iss.Close()
	clk := newFakeClock()
	ts, err := ClientCredentials(iss.TokenURL(), "app", "s", withClock(clk.Now), WithRefreshSkew(30*time.Second))
	require.NoError(t, err)
	first := mustToken(t, ts)
	clk.Advance(9*time.Minute + 29*time.Second)
	assert.Equal(t, first.AccessToken, mustToken(t, ts).AccessToken)
	assert.Len(t, iss.TokenRequests(), 1)
	clk.Advance(time.Second)
	assert.NotEqual(t, first.AccessToken, mustToken(t, ts).AccessToken, "refreshed 30 s before the 10 min expiry")
	assert.Len(t, iss.TokenRequests(), 2)
}

func TestTokentestDiscovery(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s", "user/Patient.read"))
	defer iss.Close()
	sc, err := token.DiscoverSMART(context.Background(), iss.URL)
	require.NoError(t, err)
	assert.Equal(t, iss.TokenURL(), sc.TokenEndpoint)
	for _, a := range []ClientAuth{ClientSecretBasic, ClientSecretPost, PrivateKeyJWT} {
		assert.NoError(t, ServerSupports(sc, "client_credentials", a))
	}
	assert.ErrorIs(t, ServerSupports(sc, "authorization_code", ClientSecretBasic), ErrUnsupported)

	iss.FailDiscovery(http.StatusInternalServerError)
	_, err = token.DiscoverSMART(context.Background(), iss.URL)
	assert.ErrorIs(t, err, token.ErrIssuerUnavailable)
}

// protectedFHIR is a FHIR handler that accepts only active tokens of iss.
func protectedFHIR(t *testing.T, iss *tokentest.Issuer) *fakeFHIR {
	return newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if _, active := iss.Introspect(raw); !active {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token", error_description="token is not active"`)
			writeFHIR(w, 401, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","diagnostics":"token is not active"}]}`)
			return
		}
		writeFHIR(w, 200, patient1)
	})
}

func TestTokentestRevokedTokenRefreshedOnce(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s", "user/Patient.read"))
	defer iss.Close()
	f := protectedFHIR(t, iss)
	ts, err := ClientCredentials(iss.TokenURL(), "app", "s")
	require.NoError(t, err)
	c, err := New(f.URL, ts)
	require.NoError(t, err)
	ctx := context.Background()

	_, err = c.Read(ctx, "Patient", "1")
	require.NoError(t, err)
	iss.Revoke(mustToken(t, ts).AccessToken)
	_, err = c.Read(ctx, "Patient", "1")
	require.NoError(t, err, "the revoked token was replaced and the request retried")
	assert.Len(t, f.Seen(), 3)
	assert.Len(t, iss.TokenRequests(), 2)

	// A client removed from the issuer: the retry's token request fails
	// with invalid_client, surfaced as an *OAuthError.
	iss.Revoke(mustToken(t, ts).AccessToken)
	iss.RemoveClient("app")
	_, err = c.Read(ctx, "Patient", "1")
	assert.ErrorIs(t, err, ErrInvalidClient)
}
