package token

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

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
