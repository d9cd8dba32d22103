package middleware

// strictObject, isOperationOutcome and sanitizeEntry built on
// encoding/json's Decoder, as simply as they can be: the reference the
// fuzz tests hold the one-pass readers to. strictObject itself (below) is
// jsonsyntax's object reader into a map, the form the tests compare.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

func refStrictObject(raw []byte) (map[string]json.RawMessage, error) {
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
		for k := range seen {
			if strings.EqualFold(k, key) {
				return nil, errAmbiguousObject
			}
		}
		seen[key] = struct{}{}
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

func refIsOperationOutcome(body []byte) bool {
	m, err := refStrictObject(body)
	if err != nil {
		return false
	}
	rt, _ := stringMember(m, "resourceType")
	_, contained := m["contained"]
	return rt == "OperationOutcome" && !contained
}

// refSanitizeEntry is sanitizeEntry's rules on a map: the members it
// keeps, the response's as a map of its own.
func refSanitizeEntry(raw []byte) (entry, response map[string]json.RawMessage, kept bool) {
	entry, err := refStrictObject(raw)
	if err != nil {
		return nil, nil, false
	}
	keepOnly(entry, entryMembers)
	if res, ok := entry["resource"]; ok && !isNull(res) {
		m, err := refStrictObject(res)
		if err != nil {
			return nil, nil, false
		}
		rt, _ := stringMember(m, "resourceType")
		for k := range m {
			if rt == "OperationOutcome" && strings.EqualFold(k, "contained") {
				return nil, nil, false
			}
		}
	}
	if resp, ok := entry["response"]; ok {
		if response, err = refStrictObject(resp); err != nil {
			return nil, nil, false
		}
		keepOnly(response, responseMembers)
		if o, ok := response["outcome"]; ok && !isNull(o) && !refIsOperationOutcome(o) {
			return nil, nil, false
		}
	}
	return entry, response, true
}

// keepOnly deletes the members of m not named in names.
func keepOnly(m map[string]json.RawMessage, names []string) {
	for k := range m {
		if !slices.Contains(names, k) {
			delete(m, k)
		}
	}
}

func isNull(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "null"
}

// errAmbiguousObject is returned by strictObject for objects that JSON
// parsers read differently.
var errAmbiguousObject = errors.New("middleware: JSON object with duplicate or case-variant keys")

// strictObject decodes the members of one JSON object (and nothing after
// it) with jsonsyntax's object reader. Names that parsers may take for
// one (jsonsyntax.ErrDuplicateName: equal, escaped or not, or equal under
// the Unicode case folding Go's encoding/json matches keys by) and names
// that are not valid UTF-8 are errAmbiguousObject: whatever the
// middleware checked might not be what a client reads. The values share
// raw's memory.
func strictObject(raw []byte) (map[string]json.RawMessage, error) {
	members := make(map[string]json.RawMessage)
	obj := jsonsyntax.ReadObject(raw, 0, 0)
	for obj.Next() {
		name := string(obj.Name())
		members[name] = obj.Value()
	}
	switch err := obj.Done(true); {
	case errors.Is(err, jsonsyntax.ErrDuplicateName), errors.Is(err, jsonsyntax.ErrInvalidString):
		return nil, fmt.Errorf("%w: %w", errAmbiguousObject, err)
	case err != nil:
		return nil, fmt.Errorf("middleware: malformed JSON object: %w", err)
	}
	return members, nil
}

// stringMember returns the string value of member key ("" and false when
// it is absent or not a string).
func stringMember(m map[string]json.RawMessage, key string) (string, bool) {
	return stringValue(m[key])
}
