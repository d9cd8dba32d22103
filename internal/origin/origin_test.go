package origin

import (
	"net/url"
	"testing"
)

func TestSame(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://fhir.example/r4", "https://fhir.example/token", true},
		{"https://fhir.example", "https://FHIR.example:443/x", true},
		{"HTTP://fhir.example", "http://fhir.example:80", true},
		{"https://fhir.example", "http://fhir.example", false},
		{"https://fhir.example", "https://fhir.example:8443", false},
		{"https://fhir.example", "https://auth.fhir.example", false},
		{"https://fhir.example", "https://fhir.example.evil", false},
		{"https://[::1]:8443/a", "https://[::1]:8443/b", true},
		{"ftp://fhir.example", "ftp://fhir.example:21", false},
		{"https://as.example/a", "https://as.example/b?x=1", true},
		{"http://127.0.0.1/a", "http://127.0.0.1:80/b", true},
		{"http://127.0.0.1:8080/a", "http://localhost:8080/a", false},
		// Unicode case folding joins names that resolve to other hosts:
		// net/http dials fhirσ.example as xn--fhir-ood.example and
		// fhirς.example as xn--fhir-jod.example. Only ASCII letters
		// compare without case; other spellings of one host differ too.
		{"https://fhir\u03c3.example/r4", "https://fhir\u03c2.example/token", false},
		{"https://fhir\u03c3.example/r4", "https://FHIR\u03a3.example/token", false},
		{"https://key.example/r4", "https://\u212aey.example/token", false},
		{"https://fhir\u03c3.example/r4", "https://FHIR\u03c3.example:443/token", true},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := Same(a, b); got != tc.want {
			t.Errorf("Same(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := Same(b, a); got != tc.want {
			t.Errorf("Same(%s, %s) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}
