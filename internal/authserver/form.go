package authserver

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// maxFormBytes bounds the body of token, introspection and revocation requests.
const maxFormBytes = 64 << 10

// readForm parses an application/x-www-form-urlencoded POST body. Parameters
// in the URL query, repeated parameters and oversized bodies are refused
// (RFC 6749 section 3.2: parameters must not be included more than once).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if r.URL.RawQuery != "" {
		return nil, errInvalidRequest("parameters must be sent in the request body, not the URL")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errInvalidRequest("request body too large")
		}
		return nil, errInvalidRequest("cannot read request body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errInvalidRequest("malformed form body")
	}
	for name, vals := range form {
		if len(vals) > 1 {
			return nil, errInvalidRequest("parameter " + strconvQuote(name) + " repeated")
		}
	}
	return form, nil
}

// strconvQuote quotes a short, attacker-controlled name for an error text.
func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			c = '?'
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}
