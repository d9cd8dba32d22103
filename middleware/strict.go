package middleware

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// errAmbiguousObject is returned by strictObject for objects that JSON
// parsers read differently.
var errAmbiguousObject = errors.New("middleware: JSON object with duplicate or case-variant keys")

// strictObject decodes the members of one JSON object (and nothing after
// it). Keys that are equal, or equal under Unicode case folding, are an
// error: parsers disagree on which duplicate wins, and some (Go's
// encoding/json among them) match keys case-insensitively, so whatever
// the middleware checked might not be what a client reads. The values
// share raw's memory.
func strictObject(raw []byte) (map[string]json.RawMessage, error) {
	r := reader{b: raw}
	if !r.open('{') {
		return nil, errors.New("middleware: not a JSON object")
	}
	var keys foldSet
	members := make(map[string]json.RawMessage)
	for n := 0; ; n++ {
		k, more := r.member(n, &keys)
		if !more {
			break
		}
		if k.dup {
			return nil, errAmbiguousObject
		}
		v := r.value()
		if v == nil {
			break
		}
		name := k.decoded
		if k.plain {
			name = string(k.quoted[1 : len(k.quoted)-1])
		}
		members[name] = v
	}
	if !r.atEnd() {
		return nil, errors.New("middleware: malformed JSON object, or data after it")
	}
	return members, nil
}

// foldKey maps s to one representative of its Unicode simple case-folding
// class, so that two keys strings.EqualFold considers equal map to the
// same string.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b.WriteRune(m)
	}
	return strings.ToLower(b.String())
}

// stringMember returns the string value of member key ("" and false when
// it is absent or not a string).
func stringMember(m map[string]json.RawMessage, key string) (string, bool) {
	raw, ok := m[key]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// isOperationOutcome reports whether body is unambiguously an
// OperationOutcome that carries no other resources (nothing contained,
// under any case of the name): the only kind of body the middleware passes
// unchecked on error statuses.
func isOperationOutcome(body []byte) bool {
	r := reader{b: body}
	if !r.open('{') {
		return false
	}
	var keys foldSet
	oo := false
	for n := 0; ; n++ {
		k, more := r.member(n, &keys)
		if !more {
			break
		}
		if k.dup || k.folds("contained") {
			return false
		}
		v := r.value()
		if k.is("resourceType") {
			oo = isString(v, "OperationOutcome")
		}
	}
	return oo && r.atEnd()
}
