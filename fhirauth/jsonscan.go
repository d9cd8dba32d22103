package fhirauth

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// This file is a minimal reader for JSON that has already passed
// jsonsyntax.Valid (which accepts what encoding/json.Valid accepts).
// fhirauth reads the few Bundle and resource elements a decision needs
// with it instead of encoding/json's struct decoding,
// because encoding/json matches keys case-insensitively and lets the last
// of duplicate keys win: {"type":"batch","TYPE":"transaction"} would decode
// as a transaction here while a stricter server saw a batch. Security
// decisions must not depend on such parser differentials, so the reader
// hands every member to the caller, which rejects duplicates and
// case-variants of the keys it cares about (see memberSet).

var errAmbiguousJSON = errors.New("duplicate, escaped or case-variant key")

// skipValue returns the index just after the value starting at d[i]
// (i at the first non-space byte). d must be valid JSON.
func skipValue(d []byte, i int) int { return jsonsyntax.Skip(d, i) }

// eachMember calls fn for every member of the object d (valid JSON, any
// surrounding space allowed) with the raw key text (between the quotes)
// and the raw value. Keys containing escapes are reported as ambiguous: no
// FHIR element name needs one.
func eachMember(d []byte, fn func(key string, val []byte) error) error {
	i := jsonsyntax.SkipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return errNotObject
	}
	i = jsonsyntax.SkipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return nil
	}
	for i < len(d) {
		if d[i] != '"' {
			return errNotObject
		}
		end := jsonsyntax.Skip(d, i)
		rawKey := d[i+1 : end-1]
		for _, c := range rawKey {
			if c == '\\' {
				return errAmbiguousJSON
			}
		}
		i = jsonsyntax.SkipSpace(d, end)
		i = jsonsyntax.SkipSpace(d, i+1) // ':'
		vend := skipValue(d, i)
		if err := fn(bytesToString(rawKey), d[i:vend]); err != nil {
			return err
		}
		i = jsonsyntax.SkipSpace(d, vend)
		if i < len(d) && d[i] == ',' {
			i = jsonsyntax.SkipSpace(d, i+1)
			continue
		}
		return nil
	}
	return nil
}

var errNotObject = errors.New("not a JSON object")
var errNotArray = errors.New("not a JSON array")

// eachElement calls fn for every element of the array d (valid JSON).
func eachElement(d []byte, fn func(i int, val []byte) error) error {
	i := jsonsyntax.SkipSpace(d, 0)
	if i >= len(d) || d[i] != '[' {
		return errNotArray
	}
	i = jsonsyntax.SkipSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return nil
	}
	for n := 0; i < len(d); n++ {
		end := skipValue(d, i)
		if err := fn(n, d[i:end]); err != nil {
			return err
		}
		i = jsonsyntax.SkipSpace(d, end)
		if i < len(d) && d[i] == ',' {
			i = jsonsyntax.SkipSpace(d, i+1)
			continue
		}
		return nil
	}
	return nil
}

// jsonString decodes a raw JSON string value; ok is false when raw is not
// a string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' {
			simple = false
			break
		}
	}
	if simple {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// jsonStringView is jsonString without a copy for strings without
// escapes: the result views raw, so the caller must not keep it beyond the
// life of raw's contents (escaped strings are decoded into a new string).
func jsonStringView(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			return jsonString(raw)
		}
	}
	return bytesToString(inner), true
}

// memberSet tracks which of a fixed list of keys an object had, rejecting
// duplicates and case variants of them.
type memberSet struct {
	names []string
	seen  uint64
}

// index returns the position of key in names, -1 for an unrelated key, or
// an error for a duplicate or a case variant.
func (m *memberSet) index(key string) (int, error) {
	for i, n := range m.names {
		if key == n {
			if m.seen&(1<<i) != 0 {
				return -1, errAmbiguousJSON
			}
			m.seen |= 1 << i
			return i, nil
		}
		if len(key) == len(n) && strings.EqualFold(key, n) {
			return -1, errAmbiguousJSON
		}
	}
	return -1, nil
}

// resourceHeader reads the top-level resourceType and id of a resource
// (valid JSON); id is "" when absent.
func resourceHeader(d []byte) (rt, id string, err error) {
	ms := memberSet{names: []string{"resourceType", "id"}}
	err = eachMember(d, func(key string, val []byte) error {
		i, err := ms.index(key)
		if err != nil {
			return err
		}
		switch i {
		case 0:
			s, ok := jsonString(val)
			if !ok {
				return errors.New("resourceType is not a string")
			}
			rt = s
		case 1:
			s, ok := jsonString(val)
			if !ok {
				return errors.New("id is not a string")
			}
			id = s
		}
		return nil
	})
	if err == nil && rt == "" {
		err = errors.New("no resourceType")
	}
	return rt, id, err
}
