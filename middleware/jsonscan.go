package middleware

import (
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// The response checks read JSON with jsonsyntax's ObjectReader: one pass
// over the bytes validates the syntax (the documents encoding/json
// accepts, nested at most jsonsyntax.MaxDepth deep) while the caller
// reads the members it cares about, and refuses names a JSON parser
// could take for one (equal once unquoted, or equal under the Unicode
// case folding Go's encoding/json matches them by). What the middleware
// adds is which members it reads and what it withholds.

// resourceID reads the resourceType and id of a checked resource ("" when
// they cannot be read unambiguously).
func resourceID(body []byte) (rt, id string) {
	obj := jsonsyntax.ReadObject(body, 0, 0)
	for obj.Next() {
		switch string(obj.Name()) {
		case "resourceType":
			rt, _ = stringValue(obj.Value())
		case "id":
			id, _ = stringValue(obj.Value())
		}
	}
	if obj.Done(true) != nil {
		return "", ""
	}
	return rt, id
}

// nameIndex returns the position of name in names, or -1.
func nameIndex(name []byte, names []string) int {
	for i, n := range names {
		if string(name) == n {
			return i
		}
	}
	return -1
}

// isString reports whether v (a valid JSON value) is the string s.
func isString(v []byte, s string) bool {
	if len(v) < 2 || v[0] != '"' {
		return false
	}
	if len(v) == len(s)+2 && string(v[1:len(v)-1]) == s {
		// Equal bytes: equal strings unless v holds escapes, which
		// change the length, or s itself holds a backslash or quote.
		return true
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c >= utf8.RuneSelf {
			d, err := jsonsyntax.Unquote(v)
			return err == nil && d == s
		}
	}
	return false
}

// stringValue returns the string v (a valid JSON value) holds, and false
// when it is not a string, or not one that unquotes to valid UTF-8.
func stringValue(v []byte) (string, bool) {
	s, err := jsonsyntax.Unquote(v)
	return s, err == nil
}

func isNullValue(v []byte) bool { return string(v) == "null" }
