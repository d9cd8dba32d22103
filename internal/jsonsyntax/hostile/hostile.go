package hostile

import "strings"

// Case is one document and the verdict on it. (A name written with
// escapes and no twist, such as "\u0069d" alone, is not a case: fhirauth
// and fhirspec refuse it by a FHIR rule of their own, no element name
// needing one, while the token decoder and the middleware read it as
// the name it spells, as every JSON parser does.)
type Case struct {
	Name string
	// Doc is an Observation of Patient/123 (or a Patient 123), but for
	// the twist the case is named for.
	Doc string
	// Refused is the verdict: no reader may accept the document.
	Refused bool
}

const obs = `"resourceType":"Observation","subject":{"reference":"Patient/123"}`

// Objects are the cases.
var Objects = []Case{
	{"plain", `{` + obs + `}`, false},
	{"exact duplicate", `{` + obs + `,"subject":{"reference":"Patient/456"}}`, true},
	{"escaped duplicate", `{` + obs + `,"\u0072esourceType":"Patient"}`, true},
	{"escaped duplicate, escape first", `{"\u0073ubject":{"reference":"Patient/456"},` + obs + `}`, true},
	{"case variant of an element no check reads", `{` + obs + `,"status":"final","STATUS":"cancelled"}`, true},
	{"long s variant of an element no check reads", `{` + obs + `,"status":"final","ſtatus":"cancelled"}`, true},
	{"ASCII case variant", `{` + obs + `,"SUBJECT":{"reference":"Patient/456"}}`, true},
	{"long s (U+017F) variant", `{` + obs + `,"ſubject":{"reference":"Patient/456"}}`, true},
	{"long s variant of the type", `{` + obs + `,"reſourceType":"Patient"}`, true},
	{"Kelvin sign (U+212A) variant", `{"resourceType":"Patient","id":"123","link":[],"lin\u212a":[{"other":{"reference":"Patient/456"}}]}`, true},
	{"dotted capital I is not i", `{` + obs + `,"İd":"a","id":"b"}`, false},
	{"dotless i is not i", `{` + obs + `,"ıd":"a","id":"b"}`, false},
	{"invalid UTF-8 in a name", "{" + obs + ",\"subject\xff\":{\"reference\":\"Patient/456\"}}", true},
	{"two invalid names", "{" + obs + ",\"\xff\":1,\"\xfe\":2}", true},
	{"lone high surrogate in a name", `{` + obs + `,"\ud800":1}`, true},
	{"lone low surrogate in a name", `{` + obs + `,"\udc00":1}`, true},
	{"non-ASCII name", `{` + obs + `,"😀":1}`, false},
	{"nested beyond the limit", `{` + obs + `,"extension":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}`, true},
	{"trailing data", `{` + obs + `}{}`, true},
}

// FoldVariants reports whether an object in v (as encoding/json decodes
// into an any) holds two different names that strings.EqualFold takes
// for one: the one case in which the library's readers refuse what
// encoding/json v2 accepts. Differential tests use it as their oracle.
func FoldVariants(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		var names []string
		for k, e := range v {
			for _, n := range names {
				if strings.EqualFold(n, k) {
					return true
				}
			}
			names = append(names, k)
			if FoldVariants(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if FoldVariants(e) {
				return true
			}
		}
	}
	return false
}
