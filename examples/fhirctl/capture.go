package main

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// maxCapturedToken bounds the captured token response.
const maxCapturedToken = 1 << 20

// tokenCapture keeps the body of the last token endpoint response, so the
// token command can print it as the server sent it.
type tokenCapture struct {
	mu   sync.Mutex
	last []byte
}

func (c *tokenCapture) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		// One byte past the bound goes on, so that the token source sees
		// an oversize answer as one (the client's limit is the same).
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxCapturedToken+1))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr == nil && len(body) <= maxCapturedToken {
			c.mu.Lock()
			c.last = body
			c.mu.Unlock()
		}
		return resp, nil
	})
}

// Last returns the last token response body.
func (c *tokenCapture) Last() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
