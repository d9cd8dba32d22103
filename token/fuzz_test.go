package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/fhirwarden/fhirwarden/token"
)

// Fixed world of the fuzz test: keys from testdata/keys, a fixed clock.
var (
	fuzzNow = time.Unix(1767225600, 0) // 2026-01-01T00:00:00Z
)

const (
	fuzzIssuer   = "https://idp.example"
	fuzzAudience = "https://fhir.example/fhir"
)

func loadPrivateKey(tb testing.TB, name string) any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		tb.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// fixedKeys returns the test keys and a verifier trusting them (kids
// "rsa-1" and "ec-1") on the fixed clock, without a token cache.
func fixedKeys(tb testing.TB, opts ...token.VerifierOption) (*rsa.PrivateKey, *ecdsa.PrivateKey, *token.Verifier) {
	tb.Helper()
	rk := loadPrivateKey(tb, "rsa.pem").(*rsa.PrivateKey)
	ek := loadPrivateKey(tb, "ec.pem").(*ecdsa.PrivateKey)
	set := jwk.NewSet()
	for kid, pub := range map[string]any{"rsa-1": &rk.PublicKey, "ec-1": &ek.PublicKey} {
		k, err := jwk.Import(pub)
		if err != nil {
			tb.Fatal(err)
		}
		if err := k.Set(jwk.KeyIDKey, kid); err != nil {
			tb.Fatal(err)
		}
		if err := set.AddKey(k); err != nil {
			tb.Fatal(err)
		}
	}
	base := []token.VerifierOption{
		token.WithClock(func() time.Time { return fuzzNow }),
		token.WithTokenCache(0, 0),
		token.WithLogger(discardLogger),
	}
	v, err := token.NewVerifier(context.Background(), token.Config{Issuer: fuzzIssuer, Audience: fuzzAudience, Keys: set}, append(base, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return rk, ek, v
}

// fuzzClaims is a typical SMART access token payload.
func fuzzClaims() []byte {
	return []byte(`{"iss":"` + fuzzIssuer + `","sub":"f3b2c1d0-1234-4abc-9def-0123456789ab","aud":["` + fuzzAudience + `","account"],` +
		`"exp":` + strconv.FormatInt(fuzzNow.Add(time.Hour).Unix(), 10) + `,"iat":` + strconv.FormatInt(fuzzNow.Add(-time.Minute).Unix(), 10) +
		`,"jti":"a8f1c2e4-5b6d-4e7f-8a9b-0c1d2e3f4a5b","client_id":"my-smart-app",` +
		`"scope":"launch/patient openid fhirUser patient/Observation.rs patient/Patient.r patient/Condition.rs user/Practitioner.read offline_access",` +
		`"patient":"123","encounter":"enc-456","fhirUser":"Practitioner/789"}`)
}

// readCorpusStrings reads the string values of go fuzz corpus files whose
// name starts with prefix.
func readCorpusStrings(tb testing.TB, prefix string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzVerify", prefix+"*"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			tb.Fatalf("%s: not a one-string corpus file", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		out = append(out, s)
	}
	return out
}

// FuzzVerify: Authenticate never panics and never accepts a token that was
// not signed by the trusted keys with valid claims. The only tokens it may
// accept are the valid ones of the seed corpus (testdata/fuzz/FuzzVerify/
// valid-*) and the RS256 token built here (RS256 signatures are
// deterministic); every refusal wraps exactly one sentinel and does not
// echo the input.
func FuzzVerify(f *testing.F) {
	rk, _, v := fixedKeys(f)
	valid := map[string]bool{}
	rs := signCompact([]byte(`{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`), fuzzClaims(), "RS256", rk)
	valid[rs] = true
	f.Add(rs)
	for _, s := range readCorpusStrings(f, "valid-") {
		valid[s] = true
	}
	for s := range valid {
		if _, err := v.Authenticate(context.Background(), s); err != nil {
			f.Fatalf("valid seed refused: %v", err)
		}
	}
	f.Add("")
	f.Add("a.b.c")
	f.Add(strings.SplitN(rs, ".", 2)[0] + ".e30.")

	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Authenticate(context.Background(), raw)
		if err == nil {
			if p == nil || !valid[raw] {
				t.Fatalf("accepted a token that was not signed as a valid token: %q", raw)
			}
			return
		}
		if p != nil {
			t.Fatal("principal returned with an error")
		}
		n := 0
		for _, s := range primarySentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error wraps %d sentinels: %v", n, err)
		}
		if len(raw) >= 16 && strings.Contains(err.Error(), raw) {
			t.Fatalf("error echoes the token: %v", err)
		}
	})
}
