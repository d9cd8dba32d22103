package fhirauth

import (
	"strings"
	"unicode/utf8"
)

// oneLine makes text safe to log and to put in a header or a JSON string:
// control characters (CR, LF, TAB, NUL, DEL, ...) become "\xNN" and
// invalid UTF-8 becomes U+FFFD, so a reason that quotes
// attacker-controlled request text can never start a forged log line. It
// does not allocate for clean text.
func oneLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s) + 8)
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
