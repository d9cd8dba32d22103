package fhirauth

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// modelConditionalRefs is conditionalRefs over a document decoded by
// encoding/json: every string value, at any depth, of a member whose
// name folds to "reference", that holds a "?".
func modelConditionalRefs(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && jsonsyntax.FoldEqual(k, "reference") {
				if strings.Contains(s, "?") {
					out = append(out, s)
				}
				continue
			}
			out = modelConditionalRefs(val, out)
		}
	case []any:
		for _, e := range x {
			out = modelConditionalRefs(e, out)
		}
	}
	return out
}

// FuzzConditionalRefs holds conditionalRefs to the model on every
// document both read, and has it survive any other.
func FuzzConditionalRefs(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Observation","focus":[{"reference":"Patient?identifier=a|1"}]}`,
		`{"a":{"b":[{"Reference":"X?y"},{"reference":"Patient/1"}]},"reference":"?x"}`,
		`[{"op":"add","path":"/focus","value":{"reference":"Patient\u003fx"}}]`,
		`{"reference":{"reference":"P?x"}}`,
		`{"reference":["P?x"],"note":"a?b"}`,
		`{"re\u0066erence":"P?x"}`,
		`"x?"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		got, err := conditionalRefs([]byte(doc))
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return // bodies are valid JSON by the time they are decided
		}
		if err != nil {
			return // duplicate or case-variant names, invalid strings: refused
		}
		want := modelConditionalRefs(v, nil)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("scan %q, model %q", got, want)
		}
	})
}
