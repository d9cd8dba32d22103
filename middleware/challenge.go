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
// Every value is written as an RFC 9110 quoted-string: '"' and '\' are
// backslash-escaped, and control and non-ASCII characters (which could
// split or corrupt the header) become '?'.
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
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
