package token

import (
	"errors"
	"strings"
	"testing"
)

// TestParseHeaderUnknownMembers: members the verifier ignores are still
// held to the claims' rules, so a header that other JOSE libraries refuse
// (a number beyond float64, found by FuzzDifferentialJWTMember) is
// refused, and ordinary ones (x5c, jwk, nested values) are accepted.
func TestParseHeaderUnknownMembers(t *testing.T) {
	for _, js := range []string{
		`{"alg":"RS256","kid":"k","0":1e1000}`,
		`{"alg":"RS256","x":[1,{"y":-1e400}]}`,
		`{"alg":"RS256","x":1e1000,"kid":"k"}`,
	} {
		if _, err := parseHeader(js); !errors.Is(err, ErrMalformed) || errors.Is(err, ErrNotJWT) {
			t.Errorf("%s: err = %v, want ErrMalformed without ErrNotJWT", js, err)
		}
	}
	for _, js := range []string{
		`{"alg":"RS256","kid":"k","typ":"at+jwt","x5t":"abc","nonce":"n"}`,
		`{"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},"x5c":["MIIB"],"n":1.5e300,"b":true,"z":null}`,
	} {
		if _, err := parseHeader(js); err != nil {
			t.Errorf("%s: %v", js, err)
		}
	}
}

// TestParseHeaderNotJWT: only a header that is not a JSON object at all is
// ErrNotJWT (a token FirstOf may hand on); one that opens an object and
// then fails is a malformed JWS, ErrMalformed only.
func TestParseHeaderNotJWT(t *testing.T) {
	for _, js := range []string{"", " ", "hello", "[]", `"alg"`, "null", "1", "\xff{}"} {
		if _, err := parseHeader(js); !errors.Is(err, ErrNotJWT) {
			t.Errorf("%q: err = %v, want ErrNotJWT", js, err)
		}
	}
	for _, js := range []string{
		"{", "{}", " \t{}", `{"kid":"k"}`, `{"alg":null}`, `{"alg":"RS256","alg":"none"}`,
		`{"alg":"RS256","Alg":"none"}`, `{"alg":"RS256"}x`, `{"alg":"RS256"}{}`, "{\"alg\":\"RS\xff\"}",
		`{"alg":"RS256","x":"\udc00"}`, `{"alg":"RS256","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
	} {
		if _, err := parseHeader(js); !errors.Is(err, ErrMalformed) || errors.Is(err, ErrNotJWT) {
			t.Errorf("%q: err = %v, want ErrMalformed without ErrNotJWT", js, err)
		}
	}
}
