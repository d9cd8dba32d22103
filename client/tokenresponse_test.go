package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileAnswer is a token endpoint answer and what the client must make
// of it, for every token source.
type hostileAnswer struct {
	name   string
	status int
	ctype  string // "" sends no Content-Type
	body   string
	want   error // nil: a token; else the sentinel the *OAuthError wraps
	sent   string
}

// checkHostileAnswers runs each answer against every token source and a
// FHIR server: a refusal is an *OAuthError wrapping the sentinel, and
// nothing reaches the FHIR server; an accepted token is sent as sent.
func checkHostileAnswers(t *testing.T, answers []hostileAnswer) {
	t.Helper()
	for _, a := range answers {
		as := newFakeTokenServer(t)
		as.setAnswer(func(w http.ResponseWriter, _ int) {
			w.Header()["Content-Type"] = nil
			if a.ctype != "" {
				w.Header().Set("Content-Type", a.ctype)
			}
			w.WriteHeader(a.status)
			_, _ = w.Write([]byte(a.body))
		})
		for name, ts := range tokenSources(t, as.URL, nil) {
			what := a.name + ", " + name
			fhir := newRecordingFHIR(t)
			c, err := New(fhir.URL+"/fhir", ts)
			require.NoError(t, err)
			_, err = c.Read(context.Background(), "Patient", "1")
			if a.want == nil {
				require.NoError(t, err, what)
				assert.Equal(t, []string{a.sent}, fhir.sent(), what)
				continue
			}
			var oe *OAuthError
			require.ErrorAs(t, err, &oe, what)
			require.ErrorIs(t, err, a.want, what)
			assert.Equal(t, a.status, oe.StatusCode, what)
			assert.Empty(t, fhir.sent(), what)
		}
	}
}

// TestTokenResponseOneParser: every token source reads its token
// endpoint's answer with one parser. It asks for JSON and reads the body
// as JSON whatever its Content-Type (servers label JSON text/plain); a
// form-encoded body, which RFC 6749 section 5.1 does not allow and which
// a server sends only to a client that did not ask for JSON, is refused;
// a body over the limit is refused, never truncated into a token.
func TestTokenResponseOneParser(t *testing.T) {
	const ok = `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`
	big := strings.Repeat("x", maxTokenResponse)
	checkHostileAnswers(t, []hostileAnswer{
		{name: "JSON", status: 200, ctype: "application/json", body: ok, sent: "Bearer tok-1"},
		{name: "JSON as text/plain", status: 200, ctype: "text/plain", body: ok, sent: "Bearer tok-1"},
		{name: "JSON as form", status: 200, ctype: "application/x-www-form-urlencoded", body: ok, sent: "Bearer tok-1"},
		{name: "JSON without Content-Type", status: 200, body: ok, sent: "Bearer tok-1"},
		{name: "float expires_in", status: 200, ctype: "application/json", body: `{"access_token":"tok-1","token_type":"Bearer","expires_in":3599.5}`, sent: "Bearer tok-1"},
		{name: "expires_in not a number", status: 200, ctype: "application/json", body: `{"access_token":"tok-1","token_type":"Bearer","expires_in":"soon"}`, sent: "Bearer tok-1"},
		{name: "form-encoded", status: 200, ctype: "application/x-www-form-urlencoded", body: "access_token=tok-1&token_type=bearer", want: ErrUnexpectedResponse},
		{name: "form-encoded as text/plain", status: 200, ctype: "text/plain", body: "access_token=tok-1&token_type=bearer", want: ErrUnexpectedResponse},
		{name: "JSON over the limit", status: 200, ctype: "application/json", body: `{"access_token":"tok-1","token_type":"Bearer","x":"` + big + `"}`, want: ErrResponseTooLarge},
		{name: "form over the limit", status: 200, ctype: "text/plain", body: "token_type=bearer&access_token=" + big, want: ErrResponseTooLarge},
		{name: "not an object", status: 200, ctype: "application/json", body: `["tok-1"]`, want: ErrUnexpectedResponse},
		{name: "access_token not a string", status: 200, ctype: "application/json", body: `{"access_token":5,"token_type":"Bearer"}`, want: ErrUnexpectedResponse},
		{name: "no access_token", status: 200, ctype: "application/json", body: `{"token_type":"Bearer"}`, want: ErrUnexpectedResponse},
		{name: "null", status: 200, ctype: "application/json", body: `null`, want: ErrUnexpectedResponse},
		{name: "error with 200", status: 200, ctype: "application/json", body: `{"error":"invalid_client","access_token":"tok-1","token_type":"Bearer"}`, want: ErrInvalidClient},
	})
}

// TestClientCredentialsAsksForJSON: the token request says it wants JSON,
// so servers that answer form-encoded by default (GitHub-style) answer
// JSON.
func TestClientCredentialsAsksForJSON(t *testing.T) {
	as := newFakeTokenServer(t)
	ts, err := ClientCredentials(as.URL, "app", "secret")
	require.NoError(t, err)
	mustToken(t, ts)
	assert.Equal(t, "application/json", as.Requests()[0].Header.Get("Accept"))
}

// TestTokenResponseNotOAuthErrorOnNetworkFailure: a connection that fails
// is not mistaken for the token endpoint's answer.
func TestTokenResponseNotOAuthErrorOnNetworkFailure(t *testing.T) {
	as := newFakeTokenServer(t)
	as.setAnswer(func(w http.ResponseWriter, _ int) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		_ = conn.Close()
	})
	for name, ts := range tokenSources(t, as.URL, nil) {
		_, err := ts.Token()
		require.Error(t, err, name)
		var oe *OAuthError
		assert.False(t, errors.As(err, &oe), "%s: %v", name, err)
	}
}
