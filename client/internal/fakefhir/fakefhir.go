package fakefhir

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is what the server saw of one request.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// Server is an httptest server whose answers come from a handler; it is
// closed when the test ends.
type Server struct {
	*httptest.Server
	mu   sync.Mutex
	seen []Request
}

// New starts a Server that records each request and then calls handle with
// the request's number (1 for the first).
func New(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int)) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
		n := len(s.seen)
		s.mu.Unlock()
		handle(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

// Seen returns the requests seen so far, in order.
func (s *Server) Seen() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.seen...)
}

// Write answers with status and body as FHIR JSON.
func Write(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
