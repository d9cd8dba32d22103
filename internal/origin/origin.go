package origin

import (
	"net/url"
	"strings"
)

// Same reports whether a and b have the same scheme, host and port, an
// absent port being the scheme's default; scheme and host compare
// without the case of ASCII letters, and are otherwise equal byte for
// byte. Unicode case folding is not used: it joins names that net/http
// dials as different hosts (fhirσ.example and fhirς.example are
// xn--fhir-ood.example and xn--fhir-jod.example).
func Same(a, b *url.URL) bool {
	return asciiEqualFold(a.Scheme, b.Scheme) &&
		asciiEqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

// asciiEqualFold reports whether a and b are equal with ASCII letters
// compared without case and every other byte exactly.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// lowerASCII is c with an ASCII upper-case letter lowered.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// port is u's port, or its scheme's default port.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
