package client

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBearerError(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"RFC 6750 example", []string{`Bearer realm="example", error="invalid_token", error_description="The access token expired"`}, "invalid_token"},
		{"unquoted", []string{`Bearer error=invalid_token`}, "invalid_token"},
		{"lower-case scheme", []string{`bearer error="invalid_token"`}, "invalid_token"},
		{"insufficient scope", []string{`Bearer error="insufficient_scope", scope="patient/*.rs"`}, "insufficient_scope"},
		{"no error", []string{`Bearer realm="fhir"`}, ""},
		{"empty", nil, ""},
		{"other scheme only", []string{`Basic realm="x", error="invalid_token"`}, ""},
		{"after basic token68", []string{`Basic YWxhZGRpbjpvcGVuc2VzYW1l==, Bearer error="invalid_token"`}, "invalid_token"},
		{"two headers", []string{`Basic realm="x"`, `Bearer error="invalid_token"`}, "invalid_token"},
		{"escaped quote", []string{`Bearer error_description="a \"quoted\" word", error="invalid_token"`}, "invalid_token"},
		{"error inside description", []string{`Bearer error_description="error=\"invalid_token\""`}, ""},
		{"duplicate error keeps first", []string{`Bearer error="invalid_request", error="invalid_token"`}, "invalid_request"},
		{"unterminated quote", []string{`Bearer error="invalid_token`}, "invalid_token"},
		{"garbage", []string{`=,,="" ;;; \x00`}, ""},
		{"name case", []string{`Bearer ERROR="invalid_token"`}, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, bearerError(tt.values))
		})
	}
}

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{`Bearer realm="x", error="invalid_token"`, `Basic abc==, Bearer error=x`, `"`, `=`, `a=b=c`, `Bearer ,,, x="\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ch := range parseChallenges([]string{s}) {
			if ch.scheme == "" {
				t.Fatalf("empty scheme from %q", s)
			}
			for k := range ch.params {
				if k != strings.ToLower(k) || k == "" {
					t.Fatalf("bad param name %q from %q", k, s)
				}
			}
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http1123), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http1123), 0, true},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true},
		{"99999999999999999999999", maxRetryAfter, true},
		{"100000000", maxRetryAfter, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func FuzzNextLink(f *testing.F) {
	for _, s := range []string{"https://fhir.example/fhir/Observation?page=2", "//evil/fhir", "../x", "/fhir/%2e%2e/x",
		"https://fhir.example@evil/fhir", "https://fhir.example/fhir/./x", "?page=3", "https://FHIR.example/fhir/x"} {
		f.Add(s)
	}
	c, err := New("https://fhir.example/fhir", nil)
	if err != nil {
		f.Fatal(err)
	}
	current, _ := url.Parse("https://fhir.example/fhir/Observation?page=1")
	f.Fuzz(func(t *testing.T, link string) {
		r, err := c.nextRequest(current, link)
		if err != nil {
			return
		}
		u, perr := url.Parse(r.url.String())
		if perr != nil {
			t.Fatalf("accepted %q resolves to unparsable %q", link, r.url.String())
		}
		host := u.Hostname()
		if u.Scheme != "https" || !isASCII(host) || strings.ToLower(host) != "fhir.example" || (u.Port() != "" && u.Port() != "443") || u.User != nil {
			t.Fatalf("accepted %q leaves the origin: %s", link, u)
		}
		if u.Path != "/fhir" && !strings.HasPrefix(u.Path, "/fhir/") {
			t.Fatalf("accepted %q leaves the base path: %s", link, u.Path)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if seg == ".." {
				t.Fatalf("accepted %q with dot segments: %s", link, u.Path)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
