package dpopurl

import (
	"errors"
	"net/url"
	"strings"
)

// Normalize returns the form of an http(s) URL that DPoP compares
// (RFC 9449 section 4.3, RFC 3986 sections 6.2.2 and 6.2.3): scheme and
// host in lower case, the scheme's default port dropped, percent-encoding
// of unreserved characters decoded and other escapes in upper case, an
// empty path as "/". A URL with user information, a query or a fragment is
// an error: a proof's htu has none, and a configured base URL must not.
func Normalize(raw string) (string, error) {
	if strings.ContainsAny(raw, "?#") {
		return "", errors.New("htu has a query or fragment")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", errors.New("htu is not an absolute http(s) URL without user information")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	switch scheme {
	case "https":
		host = strings.TrimSuffix(host, ":443")
	case "http":
		host = strings.TrimSuffix(host, ":80")
	default:
		return "", errors.New("htu scheme is not http or https")
	}
	host = strings.TrimSuffix(host, ":")
	if host == "" || host[0] == ':' {
		// "http://:" or "http://:80": a port without a host.
		return "", errors.New("htu has no host")
	}
	path, ok := normalizeEscapes(u.EscapedPath())
	if !ok {
		return "", errors.New("htu path has an invalid percent-encoding")
	}
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// normalizeEscapes decodes percent-encoded unreserved characters and
// upper-cases the hex digits of the others (RFC 3986 section 6.2.2).
func normalizeEscapes(p string) (string, bool) {
	if strings.IndexByte(p, '%') < 0 {
		return p, true
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return "", false
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteString(strings.ToUpper(p[i : i+3]))
		}
		i += 2
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
