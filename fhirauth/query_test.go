package fhirauth

import (
	"errors"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queryAgrees checks parseQuery against url.ParseQuery: it accepts exactly
// the queries url.ParseQuery accepts whose names are all non-empty and made
// of letters, digits and "-_.:" and whose values are UTF-8, and yields the
// same values in the same order.
func queryAgrees(t *testing.T, raw string) {
	t.Helper()
	got, err := parseQuery(raw)
	want, werr := url.ParseQuery(raw)
	namesOK := true
	for k, vs := range want {
		if _, bad := badNameByte(k); bad || k == "" {
			namesOK = false
		}
		for _, v := range vs {
			namesOK = namesOK && utf8.ValidString(v)
		}
	}
	if werr != nil || !namesOK {
		if err == nil {
			t.Fatalf("parseQuery(%q) = %v, but url.ParseQuery says %v (names ok: %v)", raw, got, werr, namesOK)
		}
		if !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("parseQuery(%q): %v does not wrap ErrInvalidRequest", raw, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("parseQuery(%q): %v, but url.ParseQuery accepts it as %v", raw, err, want)
	}
	if len(want) == 0 {
		if got != nil {
			t.Fatalf("parseQuery(%q) = %v, want nil", raw, got)
		}
		return
	}
	if len(got) != len(want) {
		t.Fatalf("parseQuery(%q) = %v, want %v", raw, got, want)
	}
	for k, vs := range want {
		g := got[k]
		if len(g) != len(vs) {
			t.Fatalf("parseQuery(%q)[%q] = %q, want %q", raw, k, g, vs)
		}
		for i := range vs {
			if g[i] != vs[i] {
				t.Fatalf("parseQuery(%q)[%q] = %q, want %q", raw, k, g, vs)
			}
		}
	}
	// Each name's values are a slice of their own: appending to one (as
	// ApplyTo does) must not overwrite another's.
	for k := range got {
		_ = append(got[k], "\x00appended")
		for k2, vs := range want {
			for i, v := range vs {
				if got[k2][i] != v {
					t.Fatalf("parseQuery(%q): appending to %q changed %q", raw, k, k2)
				}
			}
		}
	}
}

var querySeeds = []string{
	"", "&", "&&", "a=1", "a=1&b=2", "a=1&a=2&b=3&a=4", "patient=123&_count=50",
	"a", "a=", "=1", "=", "a==b", "a=1=2", "a+b=1", "a%20b=1", "%61=1", "a=%zz", "%zz=1", "a=%2",
	"a=1;b=2", "a=%3B", "a=+", "a=%2B", "a:b=1", "_has:Observation:patient:code=1", "a.b=1",
	"subject:Patient.name=x", "a=1&&b=2&", "x=é", "é=1", "a%3D=1",
	"k1=1&k2=2&k3=3&k4=4&k5=5&k6=6&k7=7&k8=8&k9=9&k1=10&k9=11",
	"a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&a=2",
	"%41=1&A=2",
	"a=%FF", "a=%C3%28", "a=%ED%A0%80", "a=x%C3", "a=\xff", "a=%C3%A9", "a=%F0%9F%98%80",
}

func TestParseQueryAgreesWithNetURL(t *testing.T) {
	for _, raw := range querySeeds {
		t.Run(raw, func(t *testing.T) { queryAgrees(t, raw) })
	}
}

// The values of all names share one backing array: appending to one name's
// values must not overwrite another's.
func TestParseQuerySharedBacking(t *testing.T) {
	q, err := parseQuery("a=1&b=2&a=3")
	require.NoError(t, err)
	assert.Equal(t, url.Values{"a": {"1", "3"}, "b": {"2"}}, q)
	q["b"] = append(q["b"], "x") // must not overwrite a's values
	assert.Equal(t, []string{"1", "3"}, q["a"])
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(queryAgrees)
}
