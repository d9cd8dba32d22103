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

// entryWith is a Bundle entry with the one member fullUrl, of value b:
// sanitizeEntry keeps it as it is, so what sanitizeEntry says of it is
// what the middleware's reader says of b as a value. (A b that is not one
// JSON value may add members, and refuse the entry for another reason.)
func entryWith(b []byte) []byte {
	return append(append([]byte(`{"fullUrl":`), b...), '}')
}

// checkEntrySyntax holds sanitizeEntry to encoding/json on the entry of
// value b: it never keeps an entry that is not JSON, and keeps, as it
// is, every entry whose value is one JSON value (json.Valid(b)) nested
// below the limit with the entry around it (json.Valid of [b]).
func checkEntrySyntax(t *testing.T, b []byte) {
	t.Helper()
	entry := entryWith(b)
	out, kept := sanitizeEntry(entry)
	if kept && !json.Valid(entry) {
		t.Fatalf("sanitizeEntry keeps an entry that is not JSON: %q", entry)
	}
	if json.Valid(b) && json.Valid(append(append([]byte("["), b...), ']')) {
		if !kept {
			t.Fatalf("sanitizeEntry removes an entry whose value is JSON: %q", entry)
		}
		if want := entryWith(bytes.Trim(b, " \t\r\n")); !bytes.Equal(out, want) {
			t.Fatalf("sanitizeEntry made %q of %q, want %q", out, entry, want)
		}
	}
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
		checkEntrySyntax(t, []byte(c))
	}
	t.Run("nesting limit", func(t *testing.T) {
		for _, n := range []int{jsonsyntax.MaxDepth - 2, jsonsyntax.MaxDepth - 1, jsonsyntax.MaxDepth} {
			doc := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
			_, kept := sanitizeEntry(entryWith(doc))
			assert.Equal(t, json.Valid(entryWith(doc)), kept, "depth %d", n)
			obj := []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
			_, kept = sanitizeEntry(entryWith(obj))
			assert.Equal(t, json.Valid(entryWith(obj)), kept, "object depth %d", n)
		}
	})
}

// Member names are read as encoding/json would decode them, except that
// a name that is not valid UTF-8 once decoded is refused (jsonsyntax's
// rule), not U+FFFD.
func TestMemberKey(t *testing.T) {
	for _, doc := range []string{
		`{"fullUrl":"x"}`, `{"f\u0075llUrl":"x"}`, `{"full\u0055rl":"x"}`, `{"\u0066\u0075\u006c\u006cUrl":"x"}`,
	} {
		out, kept := sanitizeEntry([]byte(doc))
		require.True(t, kept, doc)
		assert.Equal(t, `{"fullUrl":"x"}`, string(out), doc)
	}
	for _, doc := range []string{
		"{\"a\x7fb\":1}", `{"\u0061":1}`, `{"a\/b":1}`, `{"café":1}`, `{"\ufffd":1}`,
	} {
		out, kept := sanitizeEntry([]byte(doc))
		require.True(t, kept, doc)
		assert.Equal(t, `{}`, string(out), "%s: not an entry member", doc)
	}
	for _, bad := range []string{`{"a\q":1}`, "{\"a\x01\":1}", `{"a`, `{"é`, `{a:1}`, "{\"\xff\":1}", `{"\ud800":1}`} {
		_, kept := sanitizeEntry([]byte(bad))
		assert.False(t, kept, bad)
		_, kept = sanitizeEntry([]byte(`{"resource":` + bad + `}`))
		assert.False(t, kept, "resource %s", bad)
		rt, _ := resourceID([]byte(`{"resourceType":"Patient",` + bad[1:]))
		assert.Empty(t, rt, bad)
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
// encoding/json does (checkEntrySyntax).
func FuzzScanJSON(f *testing.F) {
	for _, c := range jsonSyntaxCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkEntrySyntax(t, b)
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
	checkSanitizeAgainstReference(t, body)
	oo, refOO := isOperationOutcome(body), refIsOperationOutcome(body)
	if oo && !refOO {
		t.Fatalf("isOperationOutcome accepts what the reference refuses: %q", body)
	}
	if !oo && refOO && !hasCaseVariant(want, "contained") {
		t.Fatalf("isOperationOutcome refuses what the reference accepts: %q", body)
	}
}

// checkSanitizeAgainstReference holds sanitizeEntry to refSanitizeEntry
// on body read as a Bundle entry: the same verdict, and the same members
// kept. jsonsyntax refuses what encoding/json reads as U+FFFD (invalid
// UTF-8, a lone surrogate escape), so only a body holding either may be
// refused where the reference keeps it.
func checkSanitizeAgainstReference(t *testing.T, body []byte) {
	out, kept := sanitizeEntry(body)
	want, wantResponse, refKept := refSanitizeEntry(body)
	if kept != refKept {
		if !kept && (!utf8.Valid(body) || bytes.Contains(bytes.ToLower(body), []byte(`\ud`))) {
			return
		}
		t.Fatalf("sanitizeEntry keeps %v, reference %v: %q", kept, refKept, body)
	}
	if !kept {
		return
	}
	got, err := refStrictObject(out)
	if err != nil {
		t.Fatalf("sanitizeEntry made %q of %q: %v", out, body, err)
	}
	if len(got) != len(want) {
		t.Fatalf("sanitizeEntry kept %d members of %q, reference %d", len(got), body, len(want))
	}
	for k, v := range want {
		if k == "response" {
			resp, err := refStrictObject(got[k])
			if err != nil || len(resp) != len(wantResponse) {
				t.Fatalf("response %q of %q, reference %v", got[k], body, wantResponse)
			}
			for rk, rv := range wantResponse {
				if !bytes.Equal(bytes.TrimSpace(rv), resp[rk]) {
					t.Fatalf("response member %q is %q, reference %q", rk, resp[rk], rv)
				}
			}
			continue
		}
		if !bytes.Equal(bytes.TrimSpace(v), got[k]) {
			t.Fatalf("member %q is %q, reference %q", k, got[k], v)
		}
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
	// Bundle entries, for sanitizeEntry.
	for _, body := range sanitizeEntryCases {
		checkStrictAgainstReference(t, []byte(body))
	}
}

// sanitizeEntryCases are Bundle entries of a batch response.
var sanitizeEntryCases = []string{
	`{"fullUrl":"x","resource":{"resourceType":"Patient","id":"1"},"search":{"mode":"match"},"extra":1,"response":{"status":"200 OK","x":[1]}}`,
	`{"resource":null}`, `{"resource":5}`, `{"resource":{"a":1,"A":2}}`, `{"response":null}`, `{"response":[]}`,
	`{"response":{"status":"200","location":"x","outcome":null,"x":1}}`,
	`{"response":{"outcome":{"resourceType":"OperationOutcome","issue":[]}}}`,
	`{"response":{"outcome":{"resourceType":"Patient","id":"2"}}}`,
	`{"response":{"outcome":{"resourceType":"OperationOutcome","contained":[{"resourceType":"Patient"}]}}}`,
	`{"resource":{"resourceType":"OperationOutcome","Contained":[{"resourceType":"Patient"}]}}`,
	`{"resource":{"resourceType":"Observation","contained":[{"resourceType":"Patient"}]}}`,
	`{"resource":{},"Resource":{}}`, `{"response":{"status":"200","STATUS":"500"}}`, `{"r\u0065source":{"id":"1"}}`,
	`{"resource":{"resourceType":"Patient","ſ":1,"S":2}}`, `{"link":[],"fullUrl":"a","fullUrl":"b"}`, `{"resource":{}} x`,
	`{"resource":{"resourceType":"OperationOutcome","issue":[{"a":1,"a":2}]}}`, `[]`, `{}`, `{"resource":{"\ud800":1}}`,
}
