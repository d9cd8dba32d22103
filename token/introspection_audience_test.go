package token_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// craftedIntrospector is an Introspector (issuer https://idp.example,
// audience https://fhir.example) of an endpoint that answers whatever
// the returned function stores.
func craftedIntrospector(t *testing.T, opts ...token.IntrospectorOption) (*token.Introspector, func(answer string)) {
	t.Helper()
	var answer atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	base := []token.IntrospectorOption{token.WithClock(newTestClock().Now), token.WithLogger(discardLogger)}
	in, err := token.NewIntrospector(token.IntrospectorConfig{
		Endpoint: srv.URL, ClientID: "rs", ClientSecret: "s", Issuer: "https://idp.example", Audience: "https://fhir.example",
	}, append(base, opts...)...)
	require.NoError(t, err)
	return in, func(a string) { answer.Store(a) }
}

// TestIntrospectionAnswerMustNameTheAudience: an authorization server that
// serves several resource servers answers "active" for a token meant for
// another one. An answer that names no audience cannot be told apart from
// such a token, so it is refused (ErrAudience) by default.
func TestIntrospectionAnswerMustNameTheAudience(t *testing.T) {
	ctx := context.Background()
	t.Run("tokentest issuer", func(t *testing.T) {
		iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
		in := newIntrospector(t, iss, clk, nil)
		raw := iss.MintOpaque(map[string]any{"aud": nil, "client_id": "app", "scope": "system/*.cruds"})
		p, err := in.Authenticate(ctx, raw)
		require.Nil(t, p)
		requireRejected(t, err, token.ErrAudience, raw)
		require.Contains(t, err.Error(), "named no audience")

		other := iss.MintOpaque(map[string]any{"aud": "https://other.example/fhir", "scope": "system/*.cruds"})
		_, err = in.Authenticate(ctx, other)
		requireRejected(t, err, token.ErrAudience, other)

		ok := iss.MintOpaque(map[string]any{"scope": "system/*.rs"})
		_, err = in.Authenticate(ctx, ok)
		require.NoError(t, err, "an answer naming this resource server is accepted")
	})

	in, answer := craftedIntrospector(t)
	for _, tc := range []struct {
		answer string
		reason string // in the error text
	}{
		{`{"active":true}`, "named no audience"},
		{`{"active":true,"iss":"https://idp.example","client_id":"app","scope":"system/*.cruds"}`, "named no audience"},
		{`{"active":true,"AUD":"https://fhir.example"}`, "named no audience"},
		{`{"active":true,"audience":"https://fhir.example"}`, "named no audience"},
		{`{"active":true,"aud":null}`, "aud"},
		{`{"active":true,"aud":[]}`, "aud"},
		{`{"active":true,"aud":""}`, "aud"},
		{`{"active":true,"aud":"https://FHIR.example"}`, "aud"},
		{`{"active":true,"aud":"https://fhir.example/"}`, "aud"},
		{`{"active":true,"aud":["https://fhir.example.evil"]}`, "aud"},
		{`{"active":true,"aud":{"0":"https://fhir.example"}}`, "aud"},
		{`{"active":true,"aud":[["https://fhir.example"]]}`, "aud"},
	} {
		answer(tc.answer)
		p, err := in.Authenticate(ctx, "opaque-abc")
		require.Nil(t, p, tc.answer)
		requireRejected(t, err, token.ErrAudience, "opaque-abc")
		require.Contains(t, err.Error(), tc.reason, tc.answer)
	}
	answer(`{"active":true,"aud":["x","https://fhir.example"]}`)
	_, err := in.Authenticate(ctx, "opaque-abc")
	require.NoError(t, err)
}

// TestAnswersWithoutAudience: the option accepts answers without aud and
// nothing more: an aud that is present must still name this resource
// server, a present iss this issuer.
func TestAnswersWithoutAudience(t *testing.T) {
	ctx := context.Background()
	in, answer := craftedIntrospector(t, token.WithAnswersWithoutAudience())
	for _, a := range []string{
		`{"active":true}`,
		`{"active":true,"iss":"https://idp.example","client_id":"app","scope":"system/*.rs"}`,
		`{"active":true,"aud":"https://fhir.example"}`,
	} {
		answer(a)
		p, err := in.Authenticate(ctx, "opaque-abc")
		require.NoError(t, err, a)
		require.NotNil(t, p, a)
	}
	for _, tc := range []struct {
		answer string
		want   error
	}{
		{`{"active":true,"aud":"https://other.example/fhir"}`, token.ErrAudience},
		{`{"active":true,"aud":[]}`, token.ErrAudience},
		{`{"active":true,"aud":null}`, token.ErrAudience},
		{`{"active":true,"aud":"https://FHIR.example"}`, token.ErrAudience},
		{`{"active":true,"iss":"https://evil.example"}`, token.ErrIssuer},
		{`{"active":true,"iss":"https://IDP.example"}`, token.ErrIssuer},
		{`{"active":false}`, token.ErrInactive},
	} {
		answer(tc.answer)
		p, err := in.Authenticate(ctx, "opaque-abc")
		require.Nil(t, p, tc.answer)
		requireRejected(t, err, tc.want, "opaque-abc")
	}

	// It configures validation, which a RevocationIntrospector leaves to
	// the Verifier.
	_, err := token.NewRevocationIntrospector(token.RevocationIntrospectorConfig{
		Endpoint: "https://idp.example/introspect", ClientID: "rs", ClientSecret: "s",
	}, token.WithAnswersWithoutAudience())
	require.ErrorIs(t, err, token.ErrConfig)
}
