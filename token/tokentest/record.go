package tokentest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
)

// RecordedRequest is a request the issuer received, for assertions such as
// "the secret went in the Basic header, not the body".
type RecordedRequest struct {
	Method string
	Path   string
	Header http.Header // a clone
	Form   url.Values  // the parsed form body (nil if it was not a form)
	Body   []byte      // the raw body
}

// TokenRequests returns the requests the token endpoint received, oldest first.
func (iss *Issuer) TokenRequests() []RecordedRequest {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return append([]RecordedRequest(nil), iss.tokenReqs...)
}

// IntrospectionRequests returns the requests the introspection endpoint
// received, oldest first.
func (iss *Issuer) IntrospectionRequests() []RecordedRequest {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return append([]RecordedRequest(nil), iss.introspectReqs...)
}

// JWKSFetches returns how many requests the JWKS endpoint received,
// including failed ones.
func (iss *Issuer) JWKSFetches() int { return int(iss.jwksFetches.Load()) }

// ResetRecords forgets recorded requests and zeroes the JWKS fetch count.
func (iss *Issuer) ResetRecords() {
	iss.mu.Lock()
	iss.tokenReqs, iss.introspectReqs = nil, nil
	iss.mu.Unlock()
	iss.jwksFetches.Store(0)
}

// maxRecordedBody bounds what is buffered of a recorded body; the handler
// behind refuses larger bodies anyway.
const maxRecordedBody = 1 << 20

// record captures r and restores its body for the real handler.
func record(r *http.Request) RecordedRequest {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := RecordedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if form, err := url.ParseQuery(string(body)); err == nil {
		rec.Form = form
	}
	return rec
}
