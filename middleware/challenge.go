package middleware

import (
	"strings"
)

// RFC 6750 section 3.1 error codes.
const (
	errInvalidRequest    = "invalid_request"
	errInvalidToken      = "invalid_token"
	errInsufficientScope = "insufficient_scope"
)

// challenge builds a WWW-Authenticate value for the Bearer scheme (RFC 6750
// section 3): realm, then error, error_description and scope when given.
func challenge(realm, code, description, scope string) string {
	var b strings.Builder
	writeChallenge(&b, "Bearer", realm, code, description, scope)
	return b.String()
}

// writeChallenge writes a challenge of scheme (Bearer, or DPoP: RFC 9449
// section 7.1 takes the same parameters).
// Every value is written as a quoted-string that holds only the
// characters RFC 6750 section 3 allows in error, error_description and
// scope (%x20-21 / %x23-5B / %x5D-7E): a quote becomes an apostrophe;
// a backslash, control and non-ASCII characters (which could split or
// corrupt the header) become '?'. A description may repeat text from the
// request or the token; with no escapes in it, a client's parser that
// does not unescape cannot be led to read the rest of it as further
// parameters.
func writeChallenge(b *strings.Builder, scheme, realm, code, description, scope string) {
	b.Grow(len(scheme) + len(realm) + len(code) + len(description) + len(scope) + 64)
	b.WriteString(scheme)
	b.WriteString(" realm=")
	writeQuoted(b, realm)
	if code != "" {
		b.WriteString(", error=")
		writeQuoted(b, code)
		if description != "" {
			b.WriteString(", error_description=")
			writeQuoted(b, description)
		}
	}
	if scope != "" {
		b.WriteString(", scope=")
		writeQuoted(b, scope)
	}
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteByte('\'')
		case c == '\\' || c < 0x20 || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
