package client

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAccessTokenSyntax: an access token is sent as the credentials of an
// Authorization header, so it must be what RFC 6750 (Bearer) and RFC 9449
// (DPoP) put there: visible ASCII, within a length bound. Anything else
// (spaces, CR/LF, control characters, non-ASCII, a token over the bound) is
// refused when it is fetched, with an *OAuthError wrapping
// ErrUnexpectedResponse whose message does not carry the token, and is
// neither cached nor sent.
func TestAccessTokenSyntax(t *testing.T) {
	var answers []hostileAnswer
	answer := func(name, accessToken string, ok bool) {
		body, err := json.Marshal(map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600})
		require.NoError(t, err)
		a := hostileAnswer{name: name, status: 200, ctype: "application/json", body: string(body), want: ErrUnexpectedResponse}
		if ok {
			a.want, a.sent = nil, "Bearer "+accessToken
		}
		answers = append(answers, a)
	}
	answer("JWT", "eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJhIn0.c2ln-_", true)
	answer("base64 with padding", "YWJj+/~.-_xyz==", true)
	answer("at the bound", strings.Repeat("a", maxAccessToken), true)
	answer("space", "secret part", false)
	answer("CR LF", "secret\r\nX-Injected: 1", false)
	answer("tab", "secret\tpart", false)
	answer("NUL", "secret\x00", false)
	answer("DEL", "secret\x7f", false)
	answer("non-ASCII", "sécret", false)
	answer("visible ASCII outside b64token", `00D5g!AQ0|x:y,z"w=v`, true)
	answer("only padding", "==", true)
	answer("over the bound", strings.Repeat("a", maxAccessToken+1), false)
	checkHostileAnswers(t, answers)

	as := newFakeTokenServer(t)
	answerRaw(as, `{"access_token":"secret\r\npart","token_type":"Bearer"}`)
	for name, ts := range tokenSources(t, as.URL, nil) {
		for range 2 {
			_, err := ts.Token()
			require.ErrorIs(t, err, ErrUnexpectedResponse, name)
			assert.NotContains(t, err.Error(), "secret", "%s: the message does not carry the token", name)
		}
	}
	assert.Len(t, as.Requests(), 4, "a refused token is not cached: every call asks again")
}

// TestAccessTokenSyntaxOfAnySource: a Client holds tokens from a source
// it did not build to the same syntax, before anything is sent.
func TestAccessTokenSyntaxOfAnySource(t *testing.T) {
	fhir := newRecordingFHIR(t)
	for _, bad := range []string{"a b", "a\r\nX-Injected: 1", "tökén", strings.Repeat("a", maxAccessToken+1)} {
		c, err := New(fhir.URL+"/fhir", StaticToken(bad))
		require.NoError(t, err)
		_, err = c.Read(context.Background(), "Patient", "1")
		require.ErrorIs(t, err, ErrUnexpectedResponse)
	}
	assert.Empty(t, fhir.sent())
}
