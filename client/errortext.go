package client

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the server text an error message carries.
const (
	// maxServerText bounds one piece of text (an outcome line, an error code).
	maxServerText = 512
	// maxOutcomeLines bounds the OperationOutcome entries Error lists.
	maxOutcomeLines = 10
)

// serverText renders text a server chose for an error message: at most
// maxServerText bytes, with control, line-separating and bidirectional
// formatting characters escaped, so that a hostile server can neither
// forge log lines, rewrite a terminal, nor flood a log through the
// message. The text itself stays whole in the error's fields.
func serverText(s string) string {
	clipped := false
	if len(s) > maxServerText {
		cut := maxServerText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, clipped = s[:cut], true
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	if clipped {
		b.WriteString("...")
	}
	return b.String()
}
