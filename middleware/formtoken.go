package middleware

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// formToken looks for an access_token parameter in the form body of a
// request that sent no Authorization header (RFC 6750 section 2.2). Unless
// WithFormBodyTokens is set, finding one is a 400; with it, the token is
// taken and removed from the body the next handler reads. A body too large
// or malformed to inspect yields no token (401).
func (m *Middleware) formToken(r *http.Request) (string, bearerProblem) {
	body, ok := readBody(r, m.cfg.maxBody)
	if !ok {
		return "", bearerMissing
	}
	if !hasAccessTokenParam(string(body)) {
		return "", bearerMissing
	}
	if !m.cfg.formTokens {
		return "", bearerInForm
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return "", bearerMalformed
	}
	toks := vals["access_token"]
	switch {
	case len(toks) > 1:
		return "", bearerMultiple
	case len(toks) == 0: // the name was escaped in a way ParseQuery does not undo
		return "", bearerMalformed
	}
	tok := toks[0]
	switch {
	case len(tok) > m.cfg.maxToken:
		return "", bearerTooLarge
	case tok == "":
		return "", bearerEmpty
	case !isB64Token(tok):
		return "", bearerMalformed
	}
	delete(vals, "access_token")
	setBody(r, []byte(vals.Encode()))
	return tok, bearerOK
}

// readBody reads at most limit bytes of r's body and puts them back, so the
// next reader sees the same bytes. It reports false (and leaves the body
// unusable) when the body is larger than limit or cannot be read.
func readBody(r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_ = r.Body.Close()
	if err != nil || int64(len(b)) > limit {
		r.Body = http.NoBody
		return nil, false
	}
	setBody(r, b)
	return b, true
}

// setBody replaces r's body with b (and a Content-Length header, if the
// client sent one, on a copy of the header map).
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	if _, ok := r.Header["Content-Length"]; ok {
		r.Header = r.Header.Clone()
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	}
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}
