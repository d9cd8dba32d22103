package authserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzClientAssertion: no assertion that is not signed by a registered key is
// ever accepted, and nothing panics.
func FuzzClientAssertion(f *testing.F) {
	s, clock := newTestServer(f)
	k := clientKeys(f)
	now := clock.Now()
	f.Add(assertion(f, now, k.rogue, "RS384", nil, nil))
	f.Add(assertion(f, now, k.rogueE, "ES384", map[string]any{"kid": nil}, nil))
	f.Add(assertion(f, now, nil, "none", nil, nil))
	f.Add("eyJhbGciOiJSUzM4NCJ9.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, a string) {
		c, err := s.verifyAssertion(a, "")
		if err == nil || c != nil {
			t.Fatalf("assertion accepted: %q", a)
		}
		if err.status != http.StatusUnauthorized && err.status != http.StatusBadRequest {
			t.Fatalf("status %d", err.status)
		}
	})
}

// FuzzTokenEndpoint: any body and Authorization header get a JSON answer with
// a 200, 400 or 401 status, never a panic.
func FuzzTokenEndpoint(f *testing.F) {
	s, _ := newTestServer(f)
	f.Add("grant_type=client_credentials", basic("reader", "r3ader"))
	f.Add("grant_type=client_credentials&scope=user%2FPatient.read", basic("reader", "wrong"))
	f.Add("grant_type=client_credentials&client_id=reader&client_secret=x", "")
	f.Add("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", "")
	f.Add("%zz;&&==", "Basic Og==")
	f.Fuzz(func(t *testing.T, body, authz string) {
		r := httptest.NewRequest(http.MethodPost, testTokenURL, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Fatalf("status %d", w.Code)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("not JSON: %q", w.Body.String())
		}
		if w.Code == http.StatusOK && !strings.Contains(body, "client_credentials") {
			t.Fatalf("token without the client_credentials grant: %q", body)
		}
	})
}

// FuzzLoadClients: a clients file is either refused or yields clients a
// server accepts.
func FuzzLoadClients(f *testing.F) {
	f.Add(`[{"client_id":"a","client_secret":"s","scope":"user/Patient.read"}]`)
	f.Add(`[{"client_id":"b","scope":"system/*.rs","jwks":{"keys":[]}}]`)
	f.Add(`[{"client_id":"c","client_secret":"s","scope":"patient/*.rs","patient":"1"}]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, doc string) {
		clients, err := LoadClients(strings.NewReader(doc))
		if err != nil {
			return
		}
		if _, err := New(Config{Issuer: testIssuer, Audience: testAudience, Clients: clients, Now: func() time.Time { return time.Unix(0, 0) }}); err != nil {
			t.Fatalf("LoadClients accepted what New refuses: %v", err)
		}
		for _, c := range clients {
			if c.Secret == "" && len(bytes.TrimSpace(c.JWKS)) == 0 {
				t.Fatalf("client %q without credentials", c.ID)
			}
		}
	})
}
