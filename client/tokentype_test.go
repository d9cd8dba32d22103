package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// recordingFHIR is a FHIR server that records the Authorization header of
// every request and answers with a Patient.
type recordingFHIR struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newRecordingFHIR(t *testing.T) *recordingFHIR {
	t.Helper()
	f := &recordingFHIR{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", FHIRMediaType)
		_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"1"}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *recordingFHIR) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

// answerRaw makes the token server answer every request with body, as
// application/json with status 200.
func answerRaw(srv *fakeTokenServer, body string) {
	srv.setAnswer(func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
}

// tokenSources builds a client credentials and a backend services source
// on tokenURL, both WithDPoP(key) when key is not nil.
func tokenSources(t *testing.T, tokenURL string, key *DPoPKey) map[string]*TokenCache {
	t.Helper()
	var opts []TokenOption
	if key != nil {
		opts = append(opts, WithDPoP(key))
	}
	cc, err := ClientCredentials(tokenURL, "app", "secret", opts...)
	require.NoError(t, err)
	bs, err := BackendServices(tokenURL, "app", testKey(t, "p384", "k1", ""), opts...)
	require.NoError(t, err)
	return map[string]*TokenCache{"client credentials": cc, "backend services": bs}
}

// TestTokenTypeOneRule: every token source applies one rule to token_type.
// Without a DPoP key, Bearer in any letter case (or no token_type, which
// x/oauth2 and RFC 6750 clients read as Bearer) is sent as a bearer
// token; DPoP (which would be sent without a proof) and any other type
// (which would be sent under a scheme the client cannot speak) are
// refused with ErrUnexpectedResponse. With a DPoP key only DPoP is
// accepted; anything else is ErrDPoPNotBound.
func TestTokenTypeOneRule(t *testing.T) {
	key, err := GenerateDPoPKey()
	require.NoError(t, err)
	absent := "\x00absent"
	tests := []struct {
		tokenType string
		dpop      bool
		want      error // nil: accepted
	}{
		{absent, false, nil},
		{"", false, nil},
		{"Bearer", false, nil},
		{"bearer", false, nil},
		{"BEARER", false, nil},
		{"DPoP", false, ErrUnexpectedResponse},
		{"dpop", false, ErrUnexpectedResponse},
		{"mac", false, ErrUnexpectedResponse},
		{"N_A", false, ErrUnexpectedResponse},
		{"pop", false, ErrUnexpectedResponse},
		{"Bearer ", false, ErrUnexpectedResponse},
		{"Basic", false, ErrUnexpectedResponse},
		{"DPoP", true, nil},
		{"dpop", true, nil},
		{absent, true, ErrDPoPNotBound},
		{"Bearer", true, ErrDPoPNotBound},
		{"mac", true, ErrDPoPNotBound},
	}
	for _, tt := range tests {
		body := map[string]any{"access_token": "tok-1", "expires_in": 3600}
		if tt.tokenType != absent {
			body["token_type"] = tt.tokenType
		}
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		as := newFakeTokenServer(t)
		answerRaw(as, string(raw))
		var k *DPoPKey
		if tt.dpop {
			k = key
		}
		for name, ts := range tokenSources(t, as.URL, k) {
			fhir := newRecordingFHIR(t)
			c, err := New(fhir.URL+"/fhir", ts)
			require.NoError(t, err)
			_, err = c.Read(context.Background(), "Patient", "1")
			what := name + ", dpop " + map[bool]string{true: "yes", false: "no"}[tt.dpop] + ", token_type " + string(raw)
			if tt.want == nil {
				require.NoError(t, err, what)
				scheme, _, _ := strings.Cut(fhir.sent()[0], " ")
				assert.True(t, strings.EqualFold(scheme, map[bool]string{true: "DPoP", false: "Bearer"}[tt.dpop]), what)
				continue
			}
			require.ErrorIs(t, err, tt.want, what)
			var oe *OAuthError
			require.ErrorAs(t, err, &oe, what)
			if tt.tokenType != absent && tt.tokenType != "" {
				assert.Contains(t, err.Error(), tt.tokenType, "the message names the token_type: %s", what)
			}
			assert.Empty(t, fhir.sent(), "nothing reaches the FHIR server: %s", what)
		}
	}
}

// TestTokenTypeMessageEscaped: the token_type a server chose is escaped
// and clipped in the message, like other server text.
func TestTokenTypeMessageEscaped(t *testing.T) {
	as := newFakeTokenServer(t)
	tokenType := "mac\nlevel=INFO msg=granted\x1b[2J" + strings.Repeat("x", 64<<10)
	raw, err := json.Marshal(map[string]any{"access_token": "tok-1", "token_type": tokenType})
	require.NoError(t, err)
	answerRaw(as, string(raw))
	for name, ts := range tokenSources(t, as.URL, nil) {
		_, err := ts.Token()
		require.ErrorIs(t, err, ErrUnexpectedResponse, name)
		msg := err.Error()
		assert.Contains(t, msg, `token_type "mac`, name)
		assert.Contains(t, msg, `u000alevel=INFO`, name)
		assert.NotContains(t, msg, "\n", name)
		assert.NotContains(t, msg, "\x1b", name)
		assert.Less(t, len(msg), 2<<10, name)
	}
}

// TestTokenTypeOfAnySource: a Client applies the same rule to a token
// source it did not build, such as an x/oauth2 authorization code source
// and its refresh, so a token of another type is not sent.
func TestTokenTypeOfAnySource(t *testing.T) {
	as := newFakeTokenServer(t)
	answerRaw(as, `{"access_token":"tok-1","token_type":"mac","refresh_token":"r2","expires_in":3600}`)
	conf := &oauth2.Config{ClientID: "app", ClientSecret: "secret", Endpoint: oauth2.Endpoint{TokenURL: as.URL, AuthStyle: oauth2.AuthStyleInHeader}}
	ctx := context.Background()
	exchanged, err := conf.Exchange(ctx, "code")
	require.NoError(t, err, "x/oauth2 accepts any token_type")
	expired := &oauth2.Token{AccessToken: "old", TokenType: "Bearer", RefreshToken: "r1", Expiry: time.Now().Add(-time.Hour)}
	sources := map[string]oauth2.TokenSource{
		"authorization code": oauth2.StaticTokenSource(exchanged),
		"refresh":            conf.TokenSource(ctx, expired),
		"DPoP without key":   oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-2", TokenType: "DPoP"}),
	}
	for name, ts := range sources {
		fhir := newRecordingFHIR(t)
		c, err := New(fhir.URL+"/fhir", ts)
		require.NoError(t, err)
		_, err = c.Read(ctx, "Patient", "1")
		require.ErrorIs(t, err, ErrUnexpectedResponse, name)
		req, _ := http.NewRequest(http.MethodGet, fhir.URL+"/fhir/Binary/1", nil)
		err = c.Authorize(ctx, req)
		require.ErrorIs(t, err, ErrUnexpectedResponse, name)
		assert.Empty(t, req.Header.Get("Authorization"), name)
		assert.Empty(t, fhir.sent(), name)
	}
	c, err := New("https://fhir.example/fhir", oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-3"}))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "https://fhir.example/fhir/Binary/1", nil)
	require.NoError(t, c.Authorize(ctx, req), "no token_type is a bearer token")
	assert.Equal(t, "Bearer tok-3", req.Header.Get("Authorization"))
	assert.False(t, errors.Is(err, ErrDPoPNotBound))
}
