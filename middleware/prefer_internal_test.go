package middleware

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// namesAsyncCases are Prefer values and whether they name respond-async.
var namesAsyncCases = []struct {
	v     string
	async bool
}{
	{"respond-async", true},
	{"RESPOND-ASYNC", true},
	{" respond-async ", true},
	{"respond-async;wait=10", true},
	{"respond-async ; wait = 10", true},
	{`respond-async; note="a, b; c"`, true},
	{`respond-async = "yes"`, true},
	{"return=minimal, respond-async", true},
	{"return=minimal,\trespond-async\t,wait=1", true},
	{`handling="lenient, strict", respond-async`, true},
	{"return=minimal; respond-async", true}, // a parameter to RFC 7240, a preference to HAPI FHIR
	{`handling="x,respond-async"`, true},    // inside a quoted string, where a lax reader finds it
	{`"respond-async"`, true},               // not a token, but a reader that strips quotes finds it
	{"respond-a\u017fync", true},            // Unicode case folding (strings.EqualFold): wider, never narrower
	{"", false},
	{"x-respond-async-not", false},
	{"respond-asynchronously", false},
	{"no-respond-async", false},
	{"respond_async", false},
	{"respond async", false},
	{`note="respond-async"`, false},
	{"return=representation, wait=10", false},
	{"handling=respond-async", false}, // a value, not a name
}

func TestNamesAsync(t *testing.T) {
	for _, c := range namesAsyncCases {
		assert.Equal(t, c.async, namesAsync(c.v), "%q", c.v)
		for _, name := range []string{"Prefer", "prefer", "PREFER"} {
			h := http.Header{"Accept": {"application/fhir+json"}, name: {"return=minimal", c.v}}
			assert.Equal(t, c.async, prefersAsync(h), "%s: %q", name, c.v)
		}
	}
	assert.False(t, prefersAsync(http.Header{"Preference": {"respond-async"}, "X-Prefer": {"respond-async"}}))
}

// rfcPreferences returns the names of the preferences of a Prefer value
// read strictly by RFC 7240: elements split at commas outside quoted
// strings, each one's name what comes before "=" or ";", less optional
// whitespace.
func rfcPreferences(v string) []string {
	var names []string
	add := func(elem string) {
		if i := strings.IndexAny(elem, "=;"); i >= 0 {
			elem = elem[:i]
		}
		names = append(names, strings.Trim(elem, " \t"))
	}
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			add(v[start:i])
			start = i + 1
		}
	}
	add(v[start:])
	return names
}

// FuzzNamesAsync: namesAsync finds respond-async wherever a strict RFC
// 7240 reading does, and in any value with the preference added.
func FuzzNamesAsync(f *testing.F) {
	for _, c := range namesAsyncCases {
		f.Add(c.v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, name := range rfcPreferences(v) {
			if strings.EqualFold(name, "respond-async") && !namesAsync(v) {
				t.Fatalf("%q: RFC 7240 reads respond-async, namesAsync does not", v)
			}
		}
		if !namesAsync(v+", respond-async") || !namesAsync("respond-async;"+v) {
			t.Fatalf("%q: respond-async added, not found", v)
		}
	})
}
