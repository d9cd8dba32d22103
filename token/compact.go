package token

import (
	"encoding/base64"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"strings"
)

// b64 decodes the parts of a compact JWS: base64url without padding, strict
// about trailing bits so that one signature has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// compactJWS is a JWS in compact serialization, split and decoded.
type compactJWS struct {
	signingInput []byte // "header.payload" as sent (what the signature covers)
	header       jwsHeader
	payload      string // decoded claims JSON
	payloadB64   string // the payload segment of the token, as sent
	signature    []byte
	claims       map[string]any // payload decoded (decodeClaims), nil until then
}

// decodeClaims decodes the payload's claims once: Issuers reads iss from
// them before the Verifier it picks checks the signature and the claims.
func (j *compactJWS) decodeClaims() (map[string]any, error) {
	if j.claims == nil {
		claims, err := decodeJSONObject(j.payload)
		if err != nil {
			return nil, failWrap(ErrMalformed, err, "claims")
		}
		j.claims = claims
	}
	return j.claims, nil
}

// jwsHeader holds the protected header members the verifier acts on. Key
// material in the header (jwk, jku, x5u, x5c) is deliberately not read:
// keys come only from the configured key set.
type jwsHeader struct {
	alg    string
	kid    string
	hasKid bool
	typ    string
	crit   bool // a "crit" member is present (any value is rejected)
}

// hasLineBreak reports whether s contains '\r' or '\n', the only bytes
// outside the base64url alphabet that Go's base64 decoder skips instead of
// rejecting. Refusing them keeps one token to one byte string.
func hasLineBreak(s string) bool {
	return strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0
}

// splitCompact splits raw into a compactJWS. Errors wrap ErrNotJWT when raw
// cannot be a JWS at all (not three parts, or a first part that is not
// base64url of a JSON object: see parseHeader), ErrMalformed (only) when it
// is one that is malformed; raw has already been checked against the size
// limit.
func splitCompact(raw string) (*compactJWS, error) {
	d1 := strings.IndexByte(raw, '.')
	if d1 < 0 {
		return nil, fail(ErrNotJWT, "token has no '.' separator")
	}
	d2 := d1 + 1 + strings.IndexByte(raw[d1+1:], '.')
	if d2 == d1 {
		return nil, fail(ErrNotJWT, "token has 2 parts, a JWS has 3")
	}
	if n := strings.Count(raw[d2+1:], "."); n > 0 {
		if n == 3 {
			return nil, fail(ErrNotJWT, "token has 5 parts: encrypted tokens (JWE) are not supported")
		}
		return nil, fail(ErrNotJWT, "token has %d parts, a JWS has 3", n+3)
	}
	h, p, s := raw[:d1], raw[d1+1:d2], raw[d2+1:]
	if h == "" {
		return nil, fail(ErrNotJWT, "token has an empty header")
	}
	// An empty signature is left to the algorithm and signature checks, so
	// that an "alg":"none" token is reported as what it is.
	if hasLineBreak(raw) {
		return nil, fail(ErrNotJWT, "token contains a line break")
	}

	// One allocation holds a copy of raw (the signing input and the
	// base64 sources) followed by all decoded parts.
	n := len(raw)
	buf := make([]byte, n+b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	copy(buf, raw)
	src, out := buf[:n], buf[n:]
	hn, err := b64.Decode(out, src[:d1])
	if err != nil {
		return nil, fail(ErrNotJWT, "header is not base64url")
	}
	pn, perr := b64.Decode(out[hn:], src[d1+1:d2])
	if perr != nil {
		pn = 0
	}
	// Header and payload are adjacent in buf: one string conversion for
	// both, and the JSON decoder slices strings out of it without copying.
	decoded := string(out[:hn+pn])
	// The header is parsed before the payload's error is reported, so that
	// a token whose first part is not a JSON object gets ErrNotJWT whatever
	// its other parts hold.
	hdr, err := parseHeader(decoded[:hn])
	if err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, fail(ErrMalformed, "payload is not base64url")
	}
	out = out[hn+pn:]
	sn, err := b64.Decode(out, src[d2+1:])
	if err != nil {
		return nil, fail(ErrMalformed, "signature is not base64url")
	}
	payload := decoded[hn:]
	return &compactJWS{
		signingInput: src[:d2],
		header:       hdr,
		payload:      payload,
		payloadB64:   raw[d1+1 : d2],
		signature:    out[:sn],
	}, nil
}

// parseHeader decodes the protected header, keeping only the members the
// verifier acts on (without building a map: this runs on every request).
//
// Errors wrap ErrNotJWT only if js does not start, after JSON white space,
// with '{': such a token is no JWS and may be an opaque token that FirstOf
// hands on. Every other error wraps ErrMalformed: a header that opens a JSON
// object and then fails (a duplicate or case-folded member name, no "alg"
// string, a number out of range, invalid UTF-8, deep nesting, bytes after
// the object) belongs to a malformed or forged JWS, and handing it on would
// let introspection decide what the Verifier refused, at the cost of a
// request to the authorization server per forged token.
func parseHeader(js string) (jwsHeader, error) {
	var h jwsHeader
	var (
		hasAlg    bool
		badMember string
		err       error
	)
	if i := jsonsyntax.SkipSpace(js, 0); i >= len(js) || js[i] != '{' {
		return h, failWrap(ErrNotJWT, errJSONNotObject, "header")
	}
	d := jsonDecoder{b: []byte(js), s: js}
	obj := jsonsyntax.ReadObject(d.b, 0, 0)
	for err == nil && obj.Next() {
		var ok bool
		switch string(obj.Name()) {
		case "alg":
			h.alg, hasAlg, err = d.stringMember(&obj)
		case "kid":
			h.hasKid = true
			if h.kid, ok, err = d.stringMember(&obj); !ok && err == nil {
				badMember = `header "kid" is not a string`
			}
		case "typ":
			if h.typ, ok, err = d.stringMember(&obj); !ok && err == nil {
				badMember = `header "typ" is not a string`
			}
		case "crit":
			h.crit = true
		case "b64":
			// RFC 7797 unencoded payloads change what the signature covers;
			// they must be declared critical, which is rejected anyway, but
			// a bare b64 other than true is rejected here too.
			if v := obj.Value(); v != nil && string(v) != "true" {
				badMember = `header "b64" other than true is not supported`
			}
		default:
			// Everything else, including jwk, jku, x5u and x5c, is
			// ignored (keys come only from the key set), but decoded as a
			// claim's value is, so that the header is held to the claims'
			// rules: a number beyond float64's range, which other JOSE
			// libraries refuse, is refused here too.
			var end int
			if _, end, err = d.value(obj.ValueStart()); err == nil {
				obj.SkipTo(end)
			}
		}
	}
	if err == nil {
		err = obj.Done(true)
	}
	switch {
	case err != nil:
		return h, failWrap(ErrMalformed, err, "header")
	case !hasAlg:
		return h, fail(ErrMalformed, `header has no "alg" string`)
	case badMember != "":
		return h, fail(ErrMalformed, "%s", badMember)
	}
	return h, nil
}
