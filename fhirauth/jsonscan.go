package fhirauth

import (
	"errors"
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// fhirauth reads the few Bundle and resource elements a decision needs
// from JSON that has already passed jsonsyntax.Valid, with jsonsyntax's
// object reader instead of encoding/json's struct decoding: encoding/json
// matches keys case-insensitively and lets the last of duplicate keys
// win, so {"type":"batch","TYPE":"transaction"} would decode as a
// transaction here while a stricter server saw a batch. The reader
// refuses duplicate and case-variant names in every object read; on top of
// it fhirauth refuses names written with escapes (no FHIR element name
// needs one) and case variants of the element names it looks for even
// when alone (memberSet), so that no server reads an element fhirauth
// did not.

var errAmbiguousJSON = errors.New("duplicate, escaped or case-variant key")

// eachMember calls fn for every member of the object d (valid JSON, any
// surrounding space allowed) with the key and the raw value.
func eachMember(d []byte, fn func(key string, val []byte) error) error {
	obj := jsonsyntax.ReadValidObject(d, 0)
	for obj.Next() {
		if obj.Escaped() {
			return errAmbiguousJSON
		}
		if err := fn(jsonsyntax.View(obj.Name()), obj.Value()); err != nil {
			return err
		}
	}
	switch err := obj.Err(); {
	case errors.Is(err, jsonsyntax.ErrDuplicateName), errors.Is(err, jsonsyntax.ErrInvalidString):
		return fmt.Errorf("%w: %w", errAmbiguousJSON, err)
	case err != nil:
		return errNotObject
	}
	return nil
}

var errNotObject = errors.New("not a JSON object")
var errNotArray = errors.New("not a JSON array")

// eachElement calls fn for every element of the array d (valid JSON).
func eachElement(d []byte, fn func(i int, val []byte) error) error {
	arr := jsonsyntax.ReadValidArray(d, 0)
	for n := 0; arr.Next(); n++ {
		if err := fn(n, arr.Value()); err != nil {
			return err
		}
	}
	if arr.Err() != nil {
		return errNotArray
	}
	return nil
}

// jsonString decodes a raw JSON string value; ok is false when raw is not
// a string, or not one that unquotes to valid UTF-8.
func jsonString(raw []byte) (string, bool) {
	s, err := jsonsyntax.Unquote(raw)
	return s, err == nil
}

// jsonStringView is jsonString without a copy for plain strings (ASCII
// without escapes): the result views raw, so the caller must not keep it
// beyond the life of raw's contents.
func jsonStringView(raw []byte) (string, bool) {
	if end, plain := jsonsyntax.ScanStringPlain(raw, 0); plain && end == len(raw) {
		return jsonsyntax.View(raw[1 : end-1]), true
	}
	return jsonString(raw)
}

// memberSet is the list of element names an object is read for: a case
// variant of one of them is refused even when the name itself is absent,
// since a case-insensitive server would read it as that element.
// (Duplicates are eachMember's reader's to refuse.)
type memberSet struct {
	names []string
}

// index returns the position of key in names, -1 for an unrelated key, or
// an error for a case variant.
func (m *memberSet) index(key string) (int, error) {
	for i, n := range m.names {
		if key == n {
			return i, nil
		}
		if jsonsyntax.FoldEqual(key, n) {
			return -1, errAmbiguousJSON
		}
	}
	return -1, nil
}

// eachKnownMember calls fn for every member of the object d (valid JSON)
// named in names, with the name's position in names and the raw value; a
// case variant of one of names is errAmbiguousJSON (memberSet), and other
// members are read (and checked by eachMember's reader) but not passed.
func eachKnownMember(d []byte, names []string, fn func(i int, val []byte) error) error {
	ms := memberSet{names: names}
	return eachMember(d, func(key string, val []byte) error {
		i, err := ms.index(key)
		if err != nil || i < 0 {
			return err
		}
		return fn(i, val)
	})
}

// bodyID returns the top-level id of a resource (valid JSON), "" when
// absent, as a view of its bytes when it can: resourceHeader's id
// without its allocations, for a test that runs on every create.
func bodyID(d []byte) (string, error) {
	var id string
	err := eachKnownMember(d, headerMembers, func(i int, val []byte) error {
		if i != 1 {
			return nil
		}
		s, ok := jsonStringView(val)
		if !ok {
			return errors.New("id is not a string")
		}
		id = s
		return nil
	})
	return id, err
}

// headerMembers are the root members resourceHeader reads.
var headerMembers = []string{"resourceType", "id"}

// resourceHeader reads the top-level resourceType and id of a resource
// (valid JSON); id is "" when absent.
func resourceHeader(d []byte) (rt, id string, err error) {
	err = eachKnownMember(d, headerMembers, func(i int, val []byte) error {
		s, ok := jsonString(val)
		if !ok {
			return fmt.Errorf("%s is not a string", headerMembers[i])
		}
		if i == 0 {
			rt = s
		} else {
			id = s
		}
		return nil
	})
	if err == nil && rt == "" {
		err = errors.New("no resourceType")
	}
	return rt, id, err
}
