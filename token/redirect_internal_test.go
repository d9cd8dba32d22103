package token

import (
	"net/url"
	"testing"
)

// sameOrigin compares scheme, host and port, a missing port being the
// scheme's default.
func TestSameOrigin(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"https://as.example/a", "https://as.example/b?x=1", true},
		{"https://as.example/a", "https://AS.example:443/b", true},
		{"http://127.0.0.1/a", "http://127.0.0.1:80/b", true},
		{"https://as.example/a", "http://as.example/a", false},
		{"http://as.example/a", "https://as.example/a", false},
		{"https://as.example/a", "https://as.example:8443/a", false},
		{"https://as.example/a", "https://other.example/a", false},
		{"https://as.example/a", "https://as.example.other.example/a", false},
		{"http://127.0.0.1:8080/a", "http://localhost:8080/a", false},
	}
	for _, c := range cases {
		a, _ := url.Parse(c.a)
		b, _ := url.Parse(c.b)
		if got := sameOrigin(a, b); got != c.want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
