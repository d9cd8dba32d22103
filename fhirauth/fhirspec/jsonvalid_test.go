package fhirspec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
	}
}

// FuzzValidJSONSyntax checks the fast validator against encoding/json.
func FuzzValidJSONSyntax(f *testing.F) {
	for _, doc := range jsonValidCases() {
		f.Add(doc)
	}
	f.Add(typicalObservation)
	f.Fuzz(func(t *testing.T, doc string) {
		if got, want := validJSONSyntax([]byte(doc)), json.Valid([]byte(doc)); got != want {
			t.Fatalf("validJSONSyntax %v, json.Valid %v", got, want)
		}
	})
}
