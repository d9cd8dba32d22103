package token_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/fhirwarden/fhirwarden/token"
)

// The differential fuzz target: header and claims JSON are mutated, then
// signed with the test key (RS256), so the signature always verifies and
// what is compared is the header and claim logic. fhirwarden's Verifier,
// jwx v3's jwt.Parse and golang-jwt v5's Parse are configured alike: one
// RSA key (kid "rsa-1", RS256), issuer fuzzIssuer, audience fuzzAudience,
// exp required, 60 s leeway, the clock at fuzzNow. They must agree on
// accept/refuse, and on sub, iss, aud, exp and scope when they accept,
// except where fhirwarden refuses by a documented fail-closed choice
// (documentedRefusal; the list is in doc.go).
//
// golang-jwt is a test-only dependency of this module for this oracle: a
// second, independent implementation (it also decodes with encoding/json,
// unlike jwx's own decoder), so that a disagreement with one library is not
// mistaken for that library's quirk.

// verdict is what one implementation made of a token.
type verdict struct {
	err   error
	sub   string
	iss   string
	aud   []string
	exp   int64
	scope any
}

func (v verdict) String() string {
	if v.err != nil {
		return "refused: " + v.err.Error()
	}
	return fmt.Sprintf("accepted sub=%q iss=%q aud=%q exp=%d scope=%v", v.sub, v.iss, v.aud, v.exp, v.scope)
}

type differential struct {
	rk  *rsa.PrivateKey
	fw  *token.Verifier
	set jwk.Set
}

func newDifferential(tb testing.TB) *differential {
	tb.Helper()
	rk, _, fw := fixedKeys(tb)
	key, err := jwk.Import(&rk.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	if err := key.Set(jwk.KeyIDKey, "rsa-1"); err != nil {
		tb.Fatal(err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.RS256()); err != nil {
		tb.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(key); err != nil {
		tb.Fatal(err)
	}
	return &differential{rk: rk, fw: fw, set: set}
}

func (d *differential) sign(header, claims []byte) string {
	in := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(nil, d.rk, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (d *differential) fhirwarden(raw string) verdict {
	p, err := d.fw.Authenticate(context.Background(), raw)
	if err != nil {
		return verdict{err: err}
	}
	return verdict{sub: p.Subject, iss: p.Issuer, aud: p.Audience, exp: p.ExpiresAt.Unix(), scope: claim(p, "scope")}
}

// claim is p's claim name, nil when absent.
func claim(p *token.Principal, name string) any {
	v, _ := p.Claim(name)
	return v
}

func (d *differential) jwx(raw string) verdict {
	tok, err := jwt.ParseString(raw,
		jwt.WithKeySet(d.set, jws.WithRequireKid(false), jws.WithUseDefault(true)),
		jwt.WithValidate(true), jwt.WithIssuer(fuzzIssuer), jwt.WithAudience(fuzzAudience),
		jwt.WithRequiredClaim("exp"), jwt.WithAcceptableSkew(60*time.Second),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return fuzzNow })))
	if err != nil {
		return verdict{err: err}
	}
	v := verdict{}
	v.sub, _ = tok.Subject()
	v.iss, _ = tok.Issuer()
	v.aud, _ = tok.Audience()
	exp, _ := tok.Expiration()
	v.exp = exp.Unix()
	var s any
	if tok.Get("scope", &s) == nil {
		v.scope = s
	}
	return v
}

func (d *differential) golangJWT(raw string) verdict {
	claims := gjwt.MapClaims{}
	_, err := gjwt.ParseWithClaims(raw, claims, func(t *gjwt.Token) (any, error) {
		if kid, present := t.Header["kid"]; present && kid != "rsa-1" {
			return nil, errors.New("unknown kid")
		}
		return &d.rk.PublicKey, nil
	}, gjwt.WithValidMethods([]string{"RS256"}), gjwt.WithIssuer(fuzzIssuer), gjwt.WithAudience(fuzzAudience),
		gjwt.WithExpirationRequired(), gjwt.WithIssuedAt(), gjwt.WithLeeway(60*time.Second),
		gjwt.WithTimeFunc(func() time.Time { return fuzzNow }))
	if err != nil {
		return verdict{err: err}
	}
	v := verdict{scope: claims["scope"]}
	v.sub, _ = claims.GetSubject()
	v.iss, _ = claims.GetIssuer()
	aud, _ := claims.GetAudience()
	v.aud = aud
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		v.exp = exp.Unix()
	}
	return v
}

// documentedRefusal returns why fhirwarden may refuse a token the
// libraries accept: one of the fail-closed choices listed in doc.go.
func documentedRefusal(header, claims []byte, err error) string {
	var h, c map[string]any
	_ = json.Unmarshal(header, &h)
	_ = json.Unmarshal(claims, &c)
	switch {
	case hasDuplicateMember(header) || hasDuplicateMember(claims):
		return "duplicate member names"
	case errors.Is(err, jsonsyntax.ErrDuplicateName):
		// Names equal under Unicode case folding ("sub" and "SuB"), which
		// encoding/json's case-insensitive matching takes for one.
		return "fold-equal member names"
	case h["crit"] != nil || hasMember(header, "crit"):
		return `"crit" header`
	case hasMember(header, "b64"):
		return `"b64" header`
	case hasMember(claims, "cnf"):
		return "sender-constrained (cnf)"
	case errors.Is(err, token.ErrScope):
		return "scope claim that does not parse as SMART scopes"
	case !utf8.Valid(header) || !utf8.Valid(claims) || hasLoneSurrogate(header) || hasLoneSurrogate(claims):
		return "invalid UTF-8 or a lone surrogate escape"
	}
	for _, name := range []string{"client_id", "azp", "patient", "encounter", "fhirUser", "jti", "sub"} {
		if v, ok := c[name]; ok && v != nil {
			if _, isString := v.(string); !isString {
				return name + " claim that is not a string"
			}
		}
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if f, ok := c[name].(float64); ok && (f < 0 || f > 253402300799 || math.IsNaN(f)) {
			return name + " outside [0, 9999-12-31]"
		}
	}
	if _, ok := h["kid"]; ok {
		if _, isString := h["kid"].(string); !isString {
			return "kid that is not a string"
		}
	}
	if typ, ok := h["typ"]; ok {
		s, isString := typ.(string)
		if !isString {
			return "typ that is not a string"
		}
		if otherJWTType(s) {
			return "typ naming another kind of JWT"
		}
	}
	return ""
}

// otherJWTType is the oracle's reading of a typ that names another kind
// of JWT than an access token: a media type, "application/" optional,
// ending in "+jwt" (RFC 8725 3.11), but not at+jwt (RFC 9068).
func otherJWTType(typ string) bool {
	t := strings.ToLower(typ)
	t = strings.TrimPrefix(t, "application/")
	return strings.HasSuffix(t, "+jwt") && t != "+jwt" && t != "at+jwt"
}

// hasDuplicateMember reports whether any object in the JSON text repeats a
// member name (encoding/json keeps the last one; fhirwarden refuses).
func hasDuplicateMember(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj  bool
		seen map[string]bool
		key  bool // the next string token is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: true, seen: map[string]bool{}, key: true})
				continue
			case '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if top != nil && top.obj && top.key {
				if top.seen[t] {
					return true
				}
				top.seen[t] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}

func hasMember(b []byte, name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

// hasLoneSurrogate reports a \uD800-\uDFFF escape (encoding/json turns an
// unpaired one into U+FFFD; fhirwarden refuses it).
func hasLoneSurrogate(b []byte) bool {
	s := strings.ToLower(string(b))
	for i := strings.Index(s, `\ud`); i >= 0 && i+5 < len(s); {
		if c := s[i+3]; c >= '8' && c <= 'f' {
			return true
		}
		j := strings.Index(s[i+1:], `\ud`)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// sameAnswer compares two acceptances on the extracted claims.
func sameAnswer(a, b verdict) bool {
	return a.sub == b.sub && a.iss == b.iss && a.exp == b.exp &&
		reflect.DeepEqual(normAud(a.aud), normAud(b.aud)) && reflect.DeepEqual(a.scope, b.scope)
}

func normAud(a []string) []string {
	if len(a) == 0 {
		return nil
	}
	return a
}

// nearTimeBoundary: jwx compares whole seconds, fhirwarden and golang-jwt
// the exact NumericDate; within a second of a validity boundary they may
// differ without either being wrong.
func nearTimeBoundary(claims []byte) bool {
	var c map[string]any
	if json.Unmarshal(claims, &c) != nil {
		return false
	}
	now := float64(fuzzNow.Unix())
	for name, edge := range map[string]float64{"exp": now - 60, "nbf": now + 60, "iat": now + 60} {
		if f, ok := c[name].(float64); ok && math.Abs(f-edge) <= 1 {
			return true
		}
	}
	return false
}

func FuzzDifferentialJWT(f *testing.F) {
	d := newDifferential(f)
	hdr := `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`
	f.Add([]byte(hdr), fuzzClaims())
	exp := fmt.Sprint(fuzzNow.Add(time.Hour).Unix())
	for _, c := range []string{
		`{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":` + exp + `,"sub":"a","scope":"patient/*.rs"}`,
		`{"iss":"` + fuzzIssuer + `","aud":["x","` + fuzzAudience + `"],"exp":` + exp + `.5,"sub":"a"}`,
		`{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":` + exp + `,"sub":"a","sub":"b"}`,
		`{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":` + exp + `,"nbf":` + fmt.Sprint(fuzzNow.Add(time.Hour).Unix()) + `}`,
		`{"iss":"` + fuzzIssuer + `/","aud":"` + fuzzAudience + `","exp":` + exp + `}`,
		`{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":"` + exp + `"}`,
		`{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":1e300}`,
		`{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":` + exp + `,"cnf":{"jkt":"x"}}`,
		`{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":` + exp + `,"sub":"\ud800"}`,
	} {
		f.Add([]byte(hdr), []byte(c))
	}
	for _, h := range []string{`{"alg":"RS256"}`, `{"alg":"RS256","kid":"rsa-2"}`, `{"alg":"RS256","crit":["exp"],"exp":1}`, `{"alg":"PS256","kid":"rsa-1"}`, `{"alg":"none"}`, `{"alg":"RS256","alg":"RS256"}`, `{"alg":"RS256","kid":7}`} {
		f.Add([]byte(h), fuzzClaims())
	}
	f.Fuzz(func(t *testing.T, header, claims []byte) {
		if len(header)+len(claims) > 8<<10 {
			return
		}
		d.compare(t, header, claims)
	})
}

// FuzzDifferentialJWTMember is FuzzDifferentialJWT aimed at one member: a
// valid header and claim set, with one member (any name, any JSON value,
// possibly replacing a valid one) added to the claims or to the header, so
// that the fuzzer spends its time on claim types and values rather than
// on JSON syntax.
func FuzzDifferentialJWTMember(f *testing.F) {
	d := newDifferential(f)
	for _, m := range []struct {
		name, value string
		inHeader    bool
	}{
		{"scope", `"patient/Observation.rs"`, false}, {"scope", `["a","b"]`, false}, {"scp", `["patient/*.rs"]`, false},
		{"exp", `1e300`, false}, {"exp", `-1`, false}, {"exp", `null`, false}, {"nbf", `1767225700`, false}, {"iat", `"x"`, false},
		{"aud", `[]`, false}, {"aud", `["` + fuzzAudience + `",1]`, false}, {"iss", `null`, false}, {"sub", `{}`, false},
		{"client_id", `1`, false}, {"cnf", `{}`, false}, {"typ", `"Bearer"`, false},
		{"kid", `"rsa-2"`, true}, {"kid", `null`, true}, {"alg", `"RS256 "`, true}, {"typ", `1`, true}, {"typ", `"secevent+jwt"`, true}, {"crit", `[]`, true}, {"jku", `"https://evil"`, true},
	} {
		f.Add(m.name, []byte(m.value), m.inHeader)
	}
	f.Fuzz(func(t *testing.T, name string, value []byte, inHeader bool) {
		// The bound is on the member as written: json.Marshal writes each
		// byte of name that is not UTF-8 as a six-byte \ufffd, and a
		// member past the token size limit is refused by that limit, not
		// by the rule under test.
		n, _ := json.Marshal(name)
		if len(n)+len(value) > 4<<10 || !json.Valid(value) {
			return
		}
		member := func(base string) []byte {
			return []byte(strings.TrimSuffix(base, "}") + "," + string(n) + ":" + string(value) + "}")
		}
		header := `{"alg":"RS256","kid":"rsa-1"}`
		exp := fmt.Sprint(fuzzNow.Add(time.Hour).Unix())
		claims := `{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":` + exp + `,"sub":"alice","scope":"patient/*.rs"}`
		if inHeader {
			d.compare(t, member(header), []byte(claims))
		} else {
			d.compare(t, []byte(header), member(claims))
		}
	})
}

// compare signs header and claims and requires the three implementations
// to agree, up to documented fail-closed choices.
func (d *differential) compare(t *testing.T, header, claims []byte) {
	t.Helper()
	raw := d.sign(header, claims)
	fw, jx, gj := d.fhirwarden(raw), d.jwx(raw), d.golangJWT(raw)
	fwOK, jxOK, gjOK := fw.err == nil, jx.err == nil, gj.err == nil
	if fwOK && (!jxOK || !gjOK) {
		if !jxOK && gjOK && nearTimeBoundary(claims) {
			return
		}
		t.Fatalf("fhirwarden accepted what a library refused\nheader %s\nclaims %s\nfhirwarden: %v\njwx: %v\ngolang-jwt: %v", header, claims, fw, jx, gj)
	}
	if !fwOK && jxOK && gjOK {
		if documentedRefusal(header, claims, fw.err) != "" || nearTimeBoundary(claims) {
			return
		}
		t.Fatalf("fhirwarden refused what both libraries accepted\nheader %s\nclaims %s\nfhirwarden: %v\njwx: %v\ngolang-jwt: %v", header, claims, fw, jx, gj)
	}
	if fwOK && !sameAnswer(fw, gj) {
		t.Fatalf("fhirwarden and golang-jwt extracted different claims\nclaims %s\nfhirwarden: %v\ngolang-jwt: %v", claims, fw, gj)
	}
	if fwOK && !sameAnswer(fw, jx) {
		t.Fatalf("fhirwarden and jwx extracted different claims\nclaims %s\nfhirwarden: %v\njwx: %v", claims, fw, jx)
	}
}

// TestDifferentialDocumentedChoices: every fail-closed choice listed in
// doc.go is a real disagreement (fhirwarden refuses, both libraries
// accept), recognised as documented by the fuzz oracle.
func TestDifferentialDocumentedChoices(t *testing.T) {
	d := newDifferential(t)
	exp := fmt.Sprint(fuzzNow.Add(time.Hour).Unix())
	base := `"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":` + exp
	hdr := `{"alg":"RS256","kid":"rsa-1"}`
	for _, tc := range []struct{ want, header, claims string }{
		{"duplicate member names", hdr, `{` + base + `,"sub":"a","sub":"b"}`},
		{"duplicate member names", `{"alg":"RS256","kid":"rsa-1","kid":"rsa-1"}`, `{` + base + `}`},
		{"sender-constrained (cnf)", hdr, `{` + base + `,"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`},
		{"scope claim that does not parse as SMART scopes", hdr, `{` + base + `,"scope":"patient/Observation.xyz"}`},
		{"scope claim that does not parse as SMART scopes", hdr, `{` + base + `,"scope":42}`},
		{"client_id claim that is not a string", hdr, `{` + base + `,"client_id":7}`},
		{"patient claim that is not a string", hdr, `{` + base + `,"patient":["1","2"]}`},
		{"invalid UTF-8 or a lone surrogate escape", hdr, `{` + base + `,"sub":"\ud800"}`},
		{"exp outside [0, 9999-12-31]", hdr, `{"iss":"` + fuzzIssuer + `","aud":"` + fuzzAudience + `","exp":1e12}`},
		{`"crit" header`, `{"alg":"RS256","kid":"rsa-1","crit":[]}`, `{` + base + `}`},
		{"typ naming another kind of JWT", `{"alg":"RS256","kid":"rsa-1","typ":"logout+jwt"}`, `{` + base + `}`},
		{"typ naming another kind of JWT", `{"alg":"RS256","kid":"rsa-1","typ":"application/token-introspection+jwt"}`, `{` + base + `}`},
	} {
		raw := d.sign([]byte(tc.header), []byte(tc.claims))
		fw, jx, gj := d.fhirwarden(raw), d.jwx(raw), d.golangJWT(raw)
		if fw.err == nil {
			t.Errorf("%s: fhirwarden accepted %s", tc.want, tc.claims)
			continue
		}
		if jx.err != nil || gj.err != nil {
			t.Errorf("%s: not a disagreement (jwx: %v; golang-jwt: %v)", tc.want, jx.err, gj.err)
			continue
		}
		if got := documentedRefusal([]byte(tc.header), []byte(tc.claims), fw.err); got != tc.want {
			t.Errorf("%s %s: oracle says %q", tc.header, tc.claims, got)
		}
	}
}
