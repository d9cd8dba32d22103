package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/token"
)

func TestChallengeQuoting(t *testing.T) {
	cases := []struct {
		realm, code, desc, scope string
		want                     string
	}{
		{"fhir", "", "", "", `Bearer realm="fhir"`},
		{"fhir", "invalid_token", "expired", "", `Bearer realm="fhir", error="invalid_token", error_description="expired"`},
		{`a"b\c`, "insufficient_scope", `say "no"`, "user/Patient.r user/Patient.read",
			`Bearer realm="a'b?c", error="insufficient_scope", error_description="say 'no'", scope="user/Patient.r user/Patient.read"`},
		// A parser that does not unescape reads no further parameters
		// out of a description that repeats the request's text.
		{"fhir", "invalid_token", `issuer "x", error="none", scope="user/*.cruds" refused`, "",
			`Bearer realm="fhir", error="invalid_token", error_description="issuer 'x', error='none', scope='user/*.cruds' refused"`},
		{"fhir", "invalid_request", "line\r\nSet-Cookie: x=1", "", `Bearer realm="fhir", error="invalid_request", error_description="line??Set-Cookie: x=1"`},
		{"fhir", "invalid_token", "caf\u00e9", "", `Bearer realm="fhir", error="invalid_token", error_description="caf??"`},
		{"fhir", "", "ignored without an error code", "", `Bearer realm="fhir"`},
	}
	for _, c := range cases {
		got := challenge(c.realm, c.code, c.desc, c.scope)
		assert.Equal(t, c.want, got)
		assert.False(t, strings.ContainsAny(got, "\r\n\x00"))
	}
}

func TestB64Token(t *testing.T) {
	for s, ok := range map[string]bool{
		"abc":           true,
		"a.b.c":         true,
		"A-Z_a~z+0/9":   true,
		"abc==":         true,
		"abc=":          true,
		"=":             false,
		"":              false,
		"ab=c":          false,
		"a b":           false,
		"a,b":           false,
		"a\"b":          false,
		"abc\x00":       false,
		"ab\u00e9":      false,
		"abcdefgh;ijkl": false,
	} {
		assert.Equal(t, ok, isB64Token(s), "%q", s)
	}
}

func TestAccessTokenParam(t *testing.T) {
	for q, has := range map[string]bool{
		"":                      false,
		"access_token=x":        true,
		"a=1&access_token=x":    true,
		"access_token":          true,
		"access%5Ftoken=x":      true,
		"access%5ftoken=x":      true,
		"%61ccess_token=x":      true,
		"x=access_token":        false,
		"my_access_token=x":     false,
		"access_tokens=x":       false,
		"patient=Patient%2F1":   false,
		"access%ZZtoken=x":      false,
		"id_token=x&_token=y":   false,
		"a=1&access_token=&b=2": true,
	} {
		assert.Equal(t, has, hasAccessTokenParam(q), "%q", q)
	}
}

// FuzzBearerFromHeader: the Authorization header parser never panics,
// returns a token only with no problem, and every token it returns is a
// b64token taken verbatim from the header, within the size limit.
func FuzzBearerFromHeader(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer  a.b.c", "Bearer", "Bearer\tx", "Basic dXNlcg==", "Bearer a b", "BEARER x==", "Bearerx", "Bearer =", "Bearer a\x00"} {
		f.Add(s, false)
	}
	f.Add("Bearer abc", true)
	f.Fuzz(func(t *testing.T, v string, twice bool) {
		h := http.Header{"Authorization": {v}}
		if twice {
			h["Authorization"] = append(h["Authorization"], v)
		}
		tok, p := bearerFromHeader(h, 64, false)
		tok2, p2 := bearerFromHeader(h, 64, true)
		if p == bearerOK && (p2 != bearerOK || tok2 != tok) {
			t.Fatalf("syntax-checked mode refused %q", v)
		}
		if p2 == bearerOK && strings.ContainsAny(tok2, " \t") {
			t.Fatalf("syntax-checked mode passed whitespace in %q", tok2)
		}
		if p != bearerOK {
			if tok != "" {
				t.Fatalf("token %q returned with problem %d", tok, p)
			}
			if p.description() == "" {
				t.Fatalf("problem %d without description", p)
			}
			return
		}
		if twice {
			t.Fatal("two headers accepted")
		}
		if len(v) > 64 || !isB64Token(tok) || !strings.HasSuffix(v, tok) || !strings.EqualFold(v[:6], "Bearer") {
			t.Fatalf("header %q gave token %q", v, tok)
		}
	})
}

func TestTokenDescription(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "not accepted"},
		{token.ErrExpired, "expired"},
		{token.ErrNotYetValid, "not valid yet"},
		{token.ErrSignature, "signature"},
		{token.ErrUnknownKey, "signature"},
		{token.ErrAlgorithm, "signature"},
		{token.ErrIssuer, "issuer"},
		{token.ErrAudience, "audience"},
		{token.ErrInactive, "not active"},
		{token.ErrScope, "scope"},
		{token.ErrClient, "client"},
		{token.ErrNotJWT, "malformed"},
		{errors.New("other"), "invalid"},
	} {
		err := c.err
		if err != nil {
			err = fmt.Errorf("wrapped: %w", err)
		}
		assert.Contains(t, tokenDescription(err), c.want, "%v", c.err)
	}
	assert.Equal(t, "a [redacted] b", scrub("a tok.en.x b", "tok.en.x"))
}

// FuzzBundleResponse: taking a (server's) Bundle apart and putting it back
// never panics, and what comes out is valid JSON with the same entries.
func FuzzBundleResponse(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"200 OK"},"resource":{"resourceType":"Patient","id":"p1"}}]}`,
		`{"resourceType":"Bundle","entry":[]}`,
		`{"resourceType":"Bundle","entry":null}`,
		`{"resourceType":"Bundle","entry":[1,"x",null,{}]}`,
		`{"entry":{"a":1}}`,
		`[]`, `null`, `{}`, `{"resourceType":"Bundle","entry":[{"resource":null}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := splitResponseBundle(body, 0)
		if err != nil {
			return
		}
		out := joinBundle(b.top, b.entries)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %q", out, body)
		}
		again, err := splitResponseBundle(out, 0)
		if err != nil || len(again.entries) != len(b.entries) {
			t.Fatalf("entries changed: %d -> %d (%v)", len(b.entries), len(again.entries), err)
		}
	})
}

func TestPlainQuery(t *testing.T) {
	for _, q := range []string{
		"",
		"a=b",
		"a=",
		"patient=p1&_count=20",
		"patient=Patient/p1&code=http://loinc.org|8867-4&_include=Observation:*",
		"code=a,b&date=2026-01-01T09:30:00Z&x=~._-",
	} {
		assert.True(t, plainQuery(q), "%q is plain", q)
	}
	for _, q := range []string{
		"a",              // no "=": "a" and "a=" are not the same to every server
		"=b",             // no name
		"a=b=c",          // a second "="
		"a=b&",           // an empty item
		"&a=b",           // an empty item
		"a=b&&c=d",       // an empty item
		"a=b&c",          // an item without "="
		"a=%62",          // an escape
		"pat%69ent=p2",   // an escaped name
		"a=b+c",          // "+" is a space to some parsers, a plus to others
		"a=b;c=d",        // ";" separates to some servers
		"a=b c",          // a raw space
		"a=b\x00",        // a control byte
		"a=\u00e9",       // non-ASCII
		"a=b?c",          // "?" is kept out too
		"a=b#c",          // a fragment
		"a=b\\c",         // a backslash
		"a=<script>",     // markup
		"a=b&patient=\"", // a quote
	} {
		assert.False(t, plainQuery(q), "%q is not plain", q)
	}
}

// FuzzPlainQuery: a query plainQuery lets through unchanged reads the same
// to a server that only splits it (no unescaping at all), to net/url, and
// to fhirauth, whose parse is what the decision judged.
func FuzzPlainQuery(f *testing.F) {
	for _, s := range []string{"patient=p1&_count=20", "a=b&a=c", "a=%62", "a=b+c", "a=b;c=d", "a", "a=b=c", "a=&b=", "code=http://loinc.org|1,2"} {
		f.Add(s)
	}
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !plainQuery(raw) {
			return
		}
		split := url.Values{}
		for _, item := range strings.Split(raw, "&") {
			if item == "" {
				continue
			}
			k, v, _ := strings.Cut(item, "=")
			split[k] = append(split[k], v)
		}
		parsed, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("net/url refuses plain query %q: %v", raw, err)
		}
		r, err := http.NewRequest(http.MethodGet, "http://fhir.test/fhir/Observation?"+raw, nil)
		if err != nil {
			t.Fatalf("plain query %q makes no request: %v", raw, err)
		}
		if r.URL.RawQuery != raw {
			t.Fatalf("plain query %q is read back as %q", raw, r.URL.RawQuery)
		}
		want := split.Encode()
		if got := parsed.Encode(); got != want {
			t.Fatalf("net/url reads %q as %q, a plain split as %q", raw, got, want)
		}
		req, err := policy.Classify(r)
		if err != nil {
			return // refused: nothing is passed on
		}
		if raw == "" {
			return
		}
		if got := req.Params.Encode(); got != want {
			t.Fatalf("fhirauth reads %q as %q, a plain split as %q", raw, got, want)
		}
	})
}

// TestEscapedPath: the audit record's path is exactly what
// url.URL.EscapedPath gives, on paths built from bytes that EscapedPath
// keeps, escapes or reads from RawPath.
func TestEscapedPath(t *testing.T) {
	alphabet := []string{"a", "Z", "0", "-", "_", ".", "~", "/", "$", "*", " ", "%", "?", "#", ";", "@", "+", ":", "é", "\x00", "%2F", "%41"}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(raw string) {
		us := []*url.URL{{Path: raw}} // any bytes at all in Path
		if u, err := url.Parse(raw); err == nil {
			us = append(us, u) // with RawPath when raw has escapes
		}
		for _, u := range us {
			assert.Equal(t, u.EscapedPath(), escapedPath(u), "path %q (raw %q)", u.Path, u.RawPath)
		}
	}
	for _, p := range []string{"", "*", "/", "/fhir/Observation/obs-1", "/fhir/$meta", "/fhir/Patient/a%2Fb", "/fhir/Patient/a b", "/fhir/_history"} {
		check(p)
	}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		check("/" + b.String())
		check(b.String())
	}
}

// readForCheck answers as Header.Get("Accept") and a lookup of each of
// checkedHeaders would, whether it walks a small map or looks up in a
// large one.
func TestReadForCheck(t *testing.T) {
	names := append(checkedHeaders[:], "Accept", "Authorization", "User-Agent", "X-A", "X-B", "X-C", "X-D", "X-E", "X-F", "X-G")
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := map[bool]int{}
	for range 5000 {
		h := http.Header{}
		for range rng.IntN(16) {
			k := names[rng.IntN(len(names))]
			if rng.IntN(8) == 0 {
				h[k] = nil // present, without a value
				continue
			}
			h[k] = append(h[k], fmt.Sprint(rng.IntN(3)))
		}
		wantDrop := false
		for _, k := range checkedHeaders {
			_, ok := h[k]
			wantDrop = wantDrop || ok
		}
		accept, drop := readForCheck(h)
		assert.Equal(t, h.Get("Accept"), accept, "%v", h)
		assert.Equal(t, wantDrop, drop, "%v", h)
		sizes[len(h) > len(checkedHeaders)+1]++
	}
	assert.Positive(t, sizes[true], "large maps")
	assert.Positive(t, sizes[false], "small maps")
}

// auditPath is EscapedPath on every request, whether fhirauth classified
// it (and auditPath takes its path as it is) or not.
func TestAuditPath(t *testing.T) {
	alphabet := []string{"Observation", "Patient", "1", "a-b", "_history", "$everything", "*", "/", "/", "%2F", "%41", "%20", "%C3%A9", "%2A", " ", "é", ";", "..", "~"}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, base := range []string{"/fhir", "/", "/r4/$x.y"} {
		policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath(base))
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(noAuth{}, policy)
		if err != nil {
			t.Fatal(err)
		}
		classified := 0
		for range 5000 {
			var b strings.Builder
			b.WriteString(strings.TrimSuffix(base, "/"))
			for range rng.IntN(5) {
				b.WriteString("/" + alphabet[rng.IntN(len(alphabet))])
			}
			r, err := http.NewRequest(http.MethodGet, "http://fhir.test"+b.String(), nil)
			if err != nil {
				continue
			}
			st := &requestState{}
			if req, err := policy.Classify(r); err == nil {
				st.request = req
				classified++
			}
			assert.Equal(t, r.URL.EscapedPath(), m.auditPath(st, r.URL), "base %q path %q raw %q", base, r.URL.Path, r.URL.RawPath)
		}
		assert.Positive(t, classified, "base %q", base)
	}
}

// noAuth is an Authenticator for tests that never authenticate.
type noAuth struct{}

func (noAuth) Authenticate(context.Context, string) (*token.Principal, error) {
	return nil, errors.New("not used")
}

// scan's switch and scannedNames name the same headers: each of
// scannedNames is read by the switch, and written in another letter case
// it is merged into its canonical name first.
func TestScanNamesAgree(t *testing.T) {
	for _, name := range scannedNames.names {
		b := &buffer{header: http.Header{name: {"x"}}}
		assert.NotEqual(t, headerFacts{}, b.scan(), "%s not read by scan's switch", name)
		lower := strings.ToLower(name)
		b = &buffer{header: http.Header{lower: {"x"}}}
		assert.NotEqual(t, headerFacts{}, b.scan(), "%s", lower)
		assert.Equal(t, http.Header{name: {"x"}}, b.header, "%s merged into %s", lower, name)
	}
}
