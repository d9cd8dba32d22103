package client

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeClock is a clock tests move by hand (its Now goes to withClock).
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// tokenRequest is what a fake token endpoint saw.
type tokenRequest struct {
	Header http.Header
	Form   url.Values
	Body   string
}

// fakeTokenServer is a minimal token endpoint recording its requests and
// answering with the configured function (default: a fresh token each time).
type fakeTokenServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []tokenRequest
	answer   func(w http.ResponseWriter, n int)
	delay    time.Duration
}

func newFakeTokenServer(t *testing.T) *fakeTokenServer {
	t.Helper()
	f := &fakeTokenServer{}
	f.answer = func(w http.ResponseWriter, n int) {
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": "tok-" + string(rune('a'+n%26)) + "-" + itoa(n), "token_type": "bearer", "expires_in": 5400, "scope": "user/Patient.read",
		})
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		f.requests = append(f.requests, tokenRequest{Header: r.Header.Clone(), Form: form, Body: string(body)})
		n := len(f.requests)
		answer, delay := f.answer, f.delay
		f.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		answer(w, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTokenServer) Requests() []tokenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tokenRequest(nil), f.requests...)
}

func (f *fakeTokenServer) setAnswer(a func(w http.ResponseWriter, n int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func mustToken(t testing.TB, ts interface {
	Token() (*oauth2.Token, error)
}) *oauth2.Token {
	t.Helper()
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok
}
