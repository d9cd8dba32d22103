package middleware

import (
	"testing"
)

// FuzzSanitizeBundle: sanitizeBundle never panics, agrees with its
// encoding/json reference, and what it returns is an unambiguous Bundle
// with only the members it keeps, unchanged by a second pass.
func FuzzSanitizeBundle(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"1"},"search":{"mode":"match"}}]}`,
		`{"resourceType":"Bundle","issues":{"resourceType":"Patient"},"entry":[{"resource":{"resourceType":"OperationOutcome","contained":[{}]}}]}`,
		`{"resourceType":"Bundle","entry":[{"response":{"status":"200","outcome":{"resourceType":"Patient"}}},{"Resource":{}}]}`,
		`{"resourceType":"Bundle","Entry":[],"entry":null}`,
		`{"resourceType":"Bundle","entry":[{"resource":null,"resource":{}}]}`,
		`{"resourceType":"Bundle","entry":[{"s\u0065arch":{}}]}`,
		`[]`, `{}`, `{"resourceType":"Bundle"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSanitizeAgainstReference(t, body)
		out, _, err := sanitizeBundle(body)
		if err != nil {
			return
		}
		top, err := strictObject(out)
		if err != nil {
			t.Fatalf("output is ambiguous: %v: %s", err, out)
		}
		for k := range top {
			known := false
			for _, n := range bundleMembers {
				known = known || k == n
			}
			if !known {
				t.Fatalf("member %q kept: %s", k, out)
			}
		}
		again, removed, err := sanitizeBundle(out)
		if err != nil || removed != 0 || string(again) != string(out) {
			t.Fatalf("second pass changed the output (%v, %d removed):\n%s\n%s", err, removed, out, again)
		}
	})
}

// FuzzStrictObject: strictObject never panics, never returns two keys a
// case-insensitive parser would take for one, and agrees with its
// encoding/json reference (as isOperationOutcome does).
func FuzzStrictObject(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"\u212a":1,"k":2}`, `{"a":{"a":1}}`, `{"a":1} x`, `{"ſ":1,"S":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkStrictAgainstReference(t, body)
		m, err := strictObject(body)
		if err != nil {
			return
		}
		seen := map[string]string{}
		for k := range m {
			fk := foldKey(k)
			if other, dup := seen[fk]; dup {
				t.Fatalf("keys %q and %q both kept", k, other)
			}
			seen[fk] = k
		}
	})
}
