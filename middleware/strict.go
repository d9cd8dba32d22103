package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
// the middleware checked might not be what a client reads.
func strictObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("middleware: not a JSON object")
	}
	members := make(map[string]json.RawMessage)
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("middleware: malformed JSON object")
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		fk := foldKey(key)
		if _, dup := seen[fk]; dup {
			return nil, errAmbiguousObject
		}
		seen[fk] = struct{}{}
		members[key] = val
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("middleware: data after the JSON object")
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
// OperationOutcome that carries no other resources (nothing contained):
// the only kind of body the middleware passes unchecked on error
// statuses.
func isOperationOutcome(body []byte) bool {
	m, err := strictObject(body)
	if err != nil {
		return false
	}
	rt, _ := stringMember(m, "resourceType")
	_, contained := m["contained"]
	return rt == "OperationOutcome" && !contained
}
