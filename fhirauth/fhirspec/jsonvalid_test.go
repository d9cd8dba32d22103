package fhirspec

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

func jsonValidCases() []string {
	return []string{
		``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-1.0E-2`, `true`, `false`, `null`,
		`01`, `1.`, `.1`, `1e`, `+1`, `-`, `- 1`, `0x10`, `1_000`, `NaN`, `Infinity`, `tru`, `nul`, `truex`,
		`{"a":1}`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{"a" : [1, {"b": null}] }`, `{a:1}`, `{'a':1}`,
		`[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[1,,2]`, `{"a":1 "b":2}`, `{"a":1}}`, `[[]]]`, `[{]}`, `{[]}`,
		`"\u00e9\n\t\"\\\/\b\f\r"`, `"\x"`, `"\u12"`, `"\u12G4"`, `"a` + "\x01" + `b"`, `"a` + "\x7f" + `b"`,
		`"unterminated`, `"\`, `{"a":"b"} x`, `{} {}`, ` {"a" :"b" } `, "\t[\r\n]\n", "\u00a0{}",
		`"\ud800"`, `"\ud83d\ude00"`, "\"\xff\"", `[` + strings.Repeat(`[`, 9998) + strings.Repeat(`]`, 9999),
		strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001), `{"a":{"b":{"c":[true,false,null,-1.25e3]}}}`,
	}
}

func TestValidJSONSyntaxMatchesEncodingJSON(t *testing.T) {
	for _, doc := range jsonValidCases() {
		assert.Equal(t, json.Valid([]byte(doc)), validJSONSyntax([]byte(doc)), "%.80q", doc)
		checkSkipMembers(t, []byte(doc))
	}
}

// checkSkipMembers holds jsonsyntax.SkipMembers, on the members of a
// root object, to what Valid (and so encoding/json) says of the same
// bytes, for a filter that stops at nothing and one that stops at names
// of 1 and 4 bytes.
func checkSkipMembers(t *testing.T, data []byte) {
	t.Helper()
	start := jsonsyntax.SkipSpace(data, 0)
	if start >= len(data) || data[start] != '{' {
		return
	}
	valid := jsonsyntax.Valid(data)
	for _, lens := range []uint64{0, 1<<1 | 1<<4} {
		stop := jsonsyntax.SkipMembers(data, start+1, 1, lens)
		at, closed := stop.At, stop.Closed
		switch {
		case at < 0:
			// Only an invalid document, or an empty object (the
			// caller's to see first), stops SkipMembers with an error.
			if valid && data[jsonsyntax.SkipSpace(data, start+1)] != '}' {
				t.Fatalf("lens %b: SkipMembers -1 on a valid document", lens)
			}
		case closed:
			// It validated the whole object: exactly what Valid says
			// of it, and of the document when only space follows.
			if !jsonsyntax.Valid(data[:at]) {
				t.Fatalf("lens %b: closed at %d, but the object is not valid JSON", lens, at)
			}
			if rest := jsonsyntax.SkipSpace(data, at) == len(data); rest != valid {
				t.Fatalf("lens %b: closed at %d (only space after: %v), Valid %v", lens, at, rest, valid)
			}
		default:
			// It stopped at a member name the filter lets through, and
			// every member before it is valid JSON.
			end, plain := jsonsyntax.ScanStringPlain(data, at)
			if end < 0 || (plain && end-at-2 < 64 && lens&(1<<(end-at-2)) == 0) {
				t.Fatalf("lens %b: stopped at %d, not at a name the filter lets through", lens, at)
			}
			if end != stop.End || plain != stop.Plain {
				t.Fatalf("lens %b: stopped at %d with name end %d plain %v, ScanStringPlain says %d %v", lens, at, stop.End, stop.Plain, end, plain)
			}
			prefix := bytes.TrimRight(data[:at], " \t\r\n")
			switch last := prefix[len(prefix)-1]; last {
			case '{':
			case ',':
				if !jsonsyntax.Valid(append(prefix[:len(prefix)-1:len(prefix)-1], '}')) {
					t.Fatalf("lens %b: the members before %d are not valid JSON", lens, at)
				}
			default:
				t.Fatalf("lens %b: stopped at %d after %q, not after '{' or ','", lens, at, last)
			}
		}
	}
}

// FuzzValidJSONSyntax checks the fast validator against encoding/json,
// and jsonsyntax.SkipMembers against the validator.
func FuzzValidJSONSyntax(f *testing.F) {
	for _, doc := range jsonValidCases() {
		f.Add(doc)
	}
	f.Add(typicalObservation)
	f.Fuzz(func(t *testing.T, doc string) {
		if got, want := validJSONSyntax([]byte(doc)), json.Valid([]byte(doc)); got != want {
			t.Fatalf("validJSONSyntax %v, json.Valid %v", got, want)
		}
		checkSkipMembers(t, []byte(doc))
	})
}
