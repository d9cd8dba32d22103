package token

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/stretchr/testify/require"
)

func TestDecodeJSONObject(t *testing.T) {
	valid := []string{
		`{}`,
		` { "a" : 1 } `,
		`{"s":"plain","e":"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00","u":"héllo ✓"}`,
		`{"n":[0,-0,1,-1,1.5,-2.25e3,1E-2,123456789012345,1234567890123456789,1e308]}`,
		`{"nested":{"a":[{"b":[true,false,null]}]},"empty":[],"eo":{}}`,
		`{"iss":"https://idp.example","aud":["a","b"],"exp":1900000000}`,
		`{"a":"","b":[""]}`,
	}
	for _, s := range valid {
		got, err := decodeJSONObject(s)
		require.NoError(t, err, s)
		var want map[string]any
		require.NoError(t, json.Unmarshal([]byte(s), &want))
		require.Equal(t, want, got, s)
	}

	invalid := map[string]string{
		"empty":               ``,
		"array":               `[]`,
		"string":              `"x"`,
		"trailing garbage":    `{} x`,
		"two objects":         `{}{}`,
		"unterminated":        `{"a":1`,
		"trailing comma":      `{"a":1,}`,
		"missing colon":       `{"a" 1}`,
		"bare key":            `{a:1}`,
		"single quotes":       `{'a':1}`,
		"duplicate key":       `{"alg":"RS256","alg":"none"}`,
		"nested duplicate":    `{"a":{"b":1,"b":2}}`,
		"escaped duplicate":   `{"alg":"RS256","\u0061lg":"none"}`,
		"case variant":        `{"exp":1900000000,"EXP":1}`,
		"long s variant":      `{"iss":"https://idp.example","iſs":"https://evil.example"}`,
		"kelvin variant":      `{"kid":"a","\u212aid":"b"}`,
		"invalid utf8 name":   "{\"\xff\":1}",
		"lone surrogate name": `{"\ud800":1}`,
		"leading zero":        `{"a":01}`,
		"plus sign":           `{"a":+1}`,
		"bare dot":            `{"a":1.}`,
		"bare exponent":       `{"a":1e}`,
		"NaN":                 `{"a":NaN}`,
		"overflow":            `{"a":1e400}`,
		"control char":        "{\"a\":\"x\ny\"}",
		"bad escape":          `{"a":"\x"}`,
		"short unicode":       `{"a":"\u12"}`,
		"lone high surrogate": `{"a":"\ud83d"}`,
		"lone low surrogate":  `{"a":"\ude00"}`,
		"invalid utf8":        "{\"a\":\"\xff\"}",
		"truncated literal":   `{"a":tru}`,
		"literal prefix":      `{"a":nullx}`,
		"deep nesting":        strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40),
		"deep arrays":         `{"a":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`,
	}
	for name, s := range invalid {
		_, err := decodeJSONObject(s)
		require.Error(t, err, name)
	}
}

// FuzzDecodeJSONObject: the decoder never panics, and whatever it accepts
// encoding/json accepts with the same result.
func FuzzDecodeJSONObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `{"exp":1.5e9,"x":-0}`, `{"a":"\ud83d\ude00"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeJSONObject(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8: %q", s)
		}
		var want map[string]any
		if jerr := json.Unmarshal([]byte(s), &want); jerr != nil {
			t.Fatalf("accepted %q, encoding/json says %v", s, jerr)
		}
		require.Equal(t, want, got)
	})
}

// FuzzDecodeJSONObjectMatchesV2 holds the decoder to encoding/json v2's
// defaults (go-json-experiment/json), which refuse duplicate names and
// invalid UTF-8 as the decoder does, in both directions: what the decoder
// accepts, v2 decodes to the same values; what v2 decodes as an object,
// the decoder accepts with the same values, except for its deliberate
// refusals (the package doc's list): two names that fold alike, and
// nesting deeper than maxJSONDepth.
func FuzzDecodeJSONObjectMatchesV2(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `{"exp":1.5e9,"x":-0}`, `{"a":"\ud83d\ude00"}`, `{"a":1,"A":2}`,
		`{"a":1,"\u0061":2}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":1e400}`, `{"iss":1,"iſs":2}`, ` {"a" : [ ] } `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeJSONObject(s)
		var want map[string]any
		v2Err := jsonv2.Unmarshal([]byte(s), &want)
		if err == nil {
			if v2Err != nil {
				t.Fatalf("decoder accepts %q, v2 refuses: %v", s, v2Err)
			}
			require.Equal(t, want, got)
			return
		}
		if v2Err != nil || want == nil {
			return
		}
		if errors.Is(err, jsonsyntax.ErrDuplicateName) && hostile.FoldVariants(want) || errors.Is(err, errJSONDepth) {
			return
		}
		t.Fatalf("v2 accepts %q, decoder refuses: %v", s, err)
	})
}
