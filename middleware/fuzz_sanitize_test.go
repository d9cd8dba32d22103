package middleware

import (
	"strings"
	"testing"
)

// FuzzStrictObject: strictObject never panics, never returns two keys a
// case-insensitive parser would take for one, and agrees with its
// encoding/json reference (as isOperationOutcome and sanitizeEntry do).
func FuzzStrictObject(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"\u212a":1,"k":2}`, `{"a":{"a":1}}`, `{"a":1} x`, `{"ſ":1,"S":2}`} {
		f.Add([]byte(s))
	}
	for _, s := range sanitizeEntryCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkStrictAgainstReference(t, body)
		m, err := strictObject(body)
		if err != nil {
			return
		}
		var seen []string
		for k := range m {
			for _, other := range seen {
				if strings.EqualFold(k, other) {
					t.Fatalf("keys %q and %q both kept", k, other)
				}
			}
			seen = append(seen, k)
		}
	})
}
