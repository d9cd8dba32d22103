package dpopurl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"https://Fhir.Example.org:443/fhir/Patient": "https://fhir.example.org/fhir/Patient",
		"HTTPS://fhir.example.org":                  "https://fhir.example.org/",
		"http://h:80/a%7eb%2fc":                     "http://h/a~b%2Fc",
		"http://h:8080/":                            "http://h:8080/",
		"https://h:/p":                              "https://h/p",
	} {
		got, err := Normalize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"https://h/p?q=1", "https://h/p#f", "ftp://h/p", "https://u:p@h/p", "/relative", "https://h/%zz", "https://h/p?", "https://h/%4", "mailto:a@b", "http://:", "http://:80/p", "https://:8443/"} {
		_, err := Normalize(bad)
		require.Error(t, err, bad)
	}
}

// FuzzNormalize checks that a normalized URL is a fixed point: two URLs
// DPoP treats as equal must normalize to the same string, which needs
// Normalize(Normalize(x)) == Normalize(x).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"https://Fhir.Example.org:443/fhir/Patient", "http://h:80/a%7eb%2fc", "https://h/%zz", "https://u@h/", "HTTP://H:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		once, err := Normalize(raw)
		if err != nil {
			return
		}
		twice, err := Normalize(once)
		if err != nil || twice != once {
			t.Fatalf("Normalize(%q) = %q, then %q, %v", raw, once, twice, err)
		}
	})
}
