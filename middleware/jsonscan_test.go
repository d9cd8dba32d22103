package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validJSON is what the reader says of a whole document read as one value.
func validJSON(b []byte) bool {
	r := reader{b: b}
	return r.value() != nil && r.atEnd()
}

var jsonSyntaxCases = []string{
	``, ` `, `{}`, `[]`, ` { } `, `{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":}`, `{"a":1 "b":2}`,
	`[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[[[]]`, `[]]`, `{]`, `[}`, `{"a":[}]}`, `{"a":{"b":[1,{"c":null}]}}`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e`, `1e+`, `-1.5e-07`, `2.`, `1.5x`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `nullnull`, `"a"`, `"a`, `"\u00e9"`, `"\u00e"`, `"\x"`,
	`"\/\b\f\n\r\t\\\""`, "\"\x01\"", "\"\x7f\"", "\"\xff\"", "\"caf\xc3\xa9\"", `"a""b"`, `{"a":1}{}`, `{"a":1} x`,
	"\ufeff{}", "{\"a\":\t\n\r 1}", `{"a":"b",  "c" : [ 1 , 2 ] }`, `[1,{"a":[true,false,null]},"x"]`,
	`{"":0}`, `{1:2}`, `{"a":1,"a":2}`, `[` + strings.Repeat(`{"a":[`, 50) + strings.Repeat(`]}`, 50) + `]`,
}

func TestReaderSyntaxMatchesEncodingJSON(t *testing.T) {
	for _, c := range jsonSyntaxCases {
		assert.Equal(t, json.Valid([]byte(c)), validJSON([]byte(c)), "%q", c)
	}
	t.Run("nesting limit", func(t *testing.T) {
		for _, n := range []int{jsonsyntax.MaxDepth - 1, jsonsyntax.MaxDepth, jsonsyntax.MaxDepth + 1} {
			doc := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
			assert.Equal(t, json.Valid(doc), validJSON(doc), "depth %d", n)
			obj := []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
			assert.Equal(t, json.Valid(obj), validJSON(obj), "object depth %d", n)
		}
	})
}

// member reads a key as written when it is plain (ASCII without escapes)
// and decodes it otherwise, as encoding/json would, except that a key
// that is not valid UTF-8 once decoded is an error (jsonsyntax's rule),
// not U+FFFD.
func TestMemberKey(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		name string
	}{
		{`{"resourceType":1}`, "resourceType"},
		{"{\"a\x7fb\":1}", "a\x7fb"},
		{`{"\u0061":1}`, "a"},
		{`{"a\/b":1}`, "a/b"},
		{`{"café":1}`, "café"},
		{`{"\ufffd":1}`, "\ufffd"},
	} {
		r := reader{b: []byte(tc.doc)}
		require.True(t, r.open('{'), tc.doc)
		var keys foldSet
		k, ok := r.member(0, &keys)
		require.True(t, ok, tc.doc)
		assert.True(t, k.is(tc.name), "%s is %q", tc.doc, tc.name)
		assert.Equal(t, []byte("1"), r.value(), tc.doc)
		_, more := r.member(1, &keys)
		assert.False(t, more, tc.doc)
		assert.True(t, r.atEnd(), tc.doc)
	}
	for _, bad := range []string{`{"a\q":1}`, "{\"a\x01\":1}", `{"a`, `{"é`, `{a:1}`, "{\"\xff\":1}", `{"\ud800":1}`} {
		r := reader{b: []byte(bad)}
		require.True(t, r.open('{'), bad)
		var keys foldSet
		_, ok := r.member(0, &keys)
		assert.False(t, ok, bad)
		assert.True(t, r.bad, bad)
	}
}

func TestMemberIndexes(t *testing.T) {
	assert.Equal(t, "resource", entryMembers[entryResource])
	assert.Equal(t, "response", entryMembers[entryResponse])
	assert.Equal(t, "outcome", responseMembers[responseOutcome])
}

func TestStrictObjectKeys(t *testing.T) {
	for doc, dup := range map[string]bool{
		`{"a":1,"b":2}`:                  false,
		`{"a":1,"A":2}`:                  true,
		`{"subject":1,"s\u0075bject":2}`: true,
		`{"\u212a":1,"k":2}`:             true, // Kelvin sign folds to k
		`{"ſ":1,"S":2}`:                  true, // long s folds to s
		"{\"\xff\":1,\"\xfe\":2}":        true, // not UTF-8 (both U+FFFD to encoding/json)
		"{\"\xff\":1}":                   true, // not UTF-8
		`{"a":{"a":1}}`:                  false,
		`{"ab":1,"ba":2}`:                false,
	} {
		_, err := strictObject([]byte(doc))
		assert.Equal(t, dup, err != nil, "%s: %v", doc, err)
	}
	t.Run("many members", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{`)
		for i := range 100 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
		}
		ok := b.String() + "}"
		m, err := strictObject([]byte(ok))
		require.NoError(t, err)
		assert.Len(t, m, 100)
		_, err = strictObject([]byte(b.String() + `,"KXXXXX":2}`))
		assert.ErrorIs(t, err, errAmbiguousObject)
	})
}

func TestIsOperationOutcome(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"resourceType":"OperationOutcome","issue":[]}`:                  true,
		`{"resourceType":"OperationOutc\u006fme","issue":[]}`:             true,
		`{"resourceType":"OperationOutcome","contained":[],"issue":[]}`:   false,
		`{"resourceType":"OperationOutcome","Contained":[{}],"issue":[]}`: false,
		`{"resourceType":"Patient","RESOURCETYPE":"OperationOutcome"}`:    false,
		`{"RESOURCETYPE":"OperationOutcome"}`:                             false,
		`{"resourceType":"OperationOutcome"} {}`:                          false,
		`{"resourceType":"OperationOutcome","issue":[}`:                   false,
		`["OperationOutcome"]`:                                            false,
	} {
		assert.Equal(t, want, isOperationOutcome([]byte(doc)), doc)
	}
}

// FuzzScanJSON: the reader's syntax check accepts exactly what
// encoding/json does.
func FuzzScanJSON(f *testing.F) {
	for _, c := range jsonSyntaxCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("reader says %v, encoding/json %v: %q", got, want, b)
		}
	})
}

// checkStrictAgainstReference holds strictObject and isOperationOutcome to
// their encoding/json reference implementations.
func checkStrictAgainstReference(t *testing.T, body []byte) {
	got, err := strictObject(body)
	want, refErr := refStrictObject(body)
	if err != nil && refErr == nil && errors.Is(err, jsonsyntax.ErrInvalidString) && hasReplacedName(want) {
		// encoding/json turned a name that is not valid UTF-8 into
		// U+FFFD; jsonsyntax refuses it (fail closed).
		return
	}
	if (err == nil) != (refErr == nil) {
		t.Fatalf("strictObject error %v, reference %v: %q", err, refErr, body)
	}
	if err == nil {
		if len(got) != len(want) {
			t.Fatalf("members %d, reference %d: %q", len(got), len(want), body)
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(v), got[k]) {
				t.Fatalf("member %q is %q, reference %q", k, got[k], v)
			}
		}
	}
	oo, refOO := isOperationOutcome(body), refIsOperationOutcome(body)
	if oo && !refOO {
		t.Fatalf("isOperationOutcome accepts what the reference refuses: %q", body)
	}
	if !oo && refOO && !hasCaseVariant(want, "contained") {
		t.Fatalf("isOperationOutcome refuses what the reference accepts: %q", body)
	}
}

// hasReplacedName reports whether m has a name holding U+FFFD, what
// encoding/json makes of invalid UTF-8 and lone surrogates.
func hasReplacedName(m map[string]json.RawMessage) bool {
	for k := range m {
		if strings.ContainsRune(k, utf8.RuneError) {
			return true
		}
	}
	return false
}

// hasCaseVariant reports whether m has a key that folds to name without
// being name.
func hasCaseVariant(m map[string]json.RawMessage, name string) bool {
	for k := range m {
		if k != name && strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func TestStrictAgainstReference(t *testing.T) {
	bob := `{"resourceType":"Patient","id":"p2"}`
	for _, body := range []string{
		`{"resourceType":"Bundle","type":"searchset","total":3,"entry":[{"fullUrl":"x","resource":{"resourceType":"Observation","id":"1"},"search":{"mode":"match"},"extra":1}]}`,
		`{"resourceType":"Bundle","entry":[{"resource":null},{"resource":5},{"resource":{"a":1,"A":2}},{"response":null},{"response":{"status":"200","location":"x","outcome":null,"x":1}}]}`,
		`{"resourceType":"Bundle","entry":[{"response":{"status":"200","outcome":` + bob + `}},{"response":{"outcome":{"resourceType":"OperationOutcome","contained":[` + bob + `]}}}]}`,
		`{"resourceType":"Bundle","entry":null}`, `{"resourceType":"Bundle","entry":5}`, `{"resourceType":"Bundle","entry":[]}`,
		`{"resourceType":"Bundle","entry":[1,"x",[],{}]}`, `{"resourceType":"Bundl\u0065","entr\u0079":[{"r\u0065source":` + bob + `}]}`,
		`{"resourceType":"Bundle","entry":[{"resource":` + bob + `,"resource":` + bob + `}]}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"OperationOutcome","Contained":[` + bob + `]}}]}`,
		`{"resourceType":"Patient"}`, `{"resourceType":"Bundle","resourceType":"Bundle"}`, `{"resourceType":"Bundle"} {}`,
		`{"resourceType":"Bundle","entry":[{"resource":{}}]`, `{"resourceType":"Bundle","meta":{"a":1,"a":2},"entry":[{"search":{"mode":"match","mode":"x"}}]}`,
	} {
		checkStrictAgainstReference(t, []byte(body))
	}
}
