package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// FuzzTokenResponseMatchesOAuth2 checks the token response reader that
// ClientCredentials and BackendServices share against x/oauth2's (the
// clientcredentials package, over HTTP): whenever the reader accepts an
// answer, x/oauth2 reads the same access token, refresh token and token
// type from it, and the same expiry (none, past, or the same instant
// within the test's own clock skew). The answers are JSON objects built
// from the fuzzed members, with expires_in as a number, a numeric string
// or null, and one more member of any name, which may repeat or fold onto
// another; that the reader refuses more (duplicates, other token types,
// tokens a header cannot carry) than x/oauth2 is tested elsewhere.
func FuzzTokenResponseMatchesOAuth2(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "Bearer", "", int64(3600), uint8(1), "scope", `"user/*.rs"`)
	f.Add("tok", "bearer", "refresh-1", int64(90*60), uint8(2), "patient", `"123"`)
	f.Add("tok", "", "", int64(0), uint8(0), "ext", `{"a":[1,2]}`)
	f.Add("tok", "BEARER", "", int64(-5), uint8(1), "Access_Token", `"other"`)
	f.Add("tok", "Bearer", "", int64(1<<31-1), uint8(3), "access\\u005ftoken", `"other"`)
	f.Add("tok", "Bearer", "", int64(7), uint8(2), "Token_Type", `"mac"`)

	var (
		mu   sync.Mutex
		body []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		b := body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	ref := &clientcredentials.Config{ClientID: "app", ClientSecret: "secret", TokenURL: srv.URL, AuthStyle: oauth2.AuthStyleInHeader}

	f.Fuzz(func(t *testing.T, access, tokenType, refresh string, expires int64, expiresForm uint8, extraName, extraValue string) {
		expires = max(min(expires, 1<<31-1), -(1 << 31))
		answer := tokenAnswer(access, tokenType, refresh, expires, expiresForm%4, extraName, extraValue)
		if !jsonsyntax.Valid(answer) {
			return
		}
		before := time.Now()
		ours, err := readTokenResponse(http.StatusOK, answer, false)
		if err != nil {
			return
		}
		mu.Lock()
		body = answer
		mu.Unlock()
		theirs, err := ref.Token(context.Background())
		after := time.Now()
		if err != nil {
			t.Fatalf("accepted %s, x/oauth2 refused it: %v", answer, err)
		}
		if ours.AccessToken != theirs.AccessToken || ours.RefreshToken != theirs.RefreshToken || ours.Type() != theirs.Type() {
			t.Fatalf("%s: read as %q/%q/%q, x/oauth2 %q/%q/%q", answer,
				ours.AccessToken, ours.RefreshToken, ours.Type(), theirs.AccessToken, theirs.RefreshToken, theirs.Type())
		}
		switch {
		case ours.Expiry.IsZero() || theirs.Expiry.IsZero():
			if !ours.Expiry.IsZero() || !theirs.Expiry.IsZero() {
				t.Fatalf("%s: expiry %v, x/oauth2 %v", answer, ours.Expiry, theirs.Expiry)
			}
		case ours.Expiry.Before(before) || theirs.Expiry.Before(before):
			if !ours.Expiry.Before(before) || !theirs.Expiry.Before(after) {
				t.Fatalf("%s: expiry %v, x/oauth2 %v: one is past, one is not", answer, ours.Expiry, theirs.Expiry)
			}
		default:
			if d := theirs.Expiry.Sub(ours.Expiry); d < 0 || d > after.Sub(before)+time.Second {
				t.Fatalf("%s: expiry %v, x/oauth2 %v", answer, ours.Expiry, theirs.Expiry)
			}
		}
	})
}

// tokenAnswer builds a token endpoint's JSON answer: expiresForm 0 leaves
// expires_in out, 1 writes it as a number, 2 as a numeric string, 3 as
// null; extraName (written as it is, escapes included) gets extraValue
// (raw JSON) when both are not empty.
func tokenAnswer(access, tokenType, refresh string, expires int64, expiresForm uint8, extraName, extraValue string) []byte {
	b := []byte(`{"access_token":`)
	b = jsonsyntax.AppendQuote(b, access)
	if tokenType != "" {
		b = jsonsyntax.AppendQuote(append(b, `,"token_type":`...), tokenType)
	}
	if refresh != "" {
		b = jsonsyntax.AppendQuote(append(b, `,"refresh_token":`...), refresh)
	}
	switch expiresForm {
	case 1:
		b = strconv.AppendInt(append(b, `,"expires_in":`...), expires, 10)
	case 2:
		b = append(strconv.AppendInt(append(b, `,"expires_in":"`...), expires, 10), '"')
	case 3:
		b = append(b, `,"expires_in":null`...)
	}
	if extraName != "" && extraValue != "" {
		b = append(append(append(append(b, `,"`...), extraName...), `":`...), extraValue...)
	}
	return append(b, '}')
}
