package store_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// FuzzParseQuery: parsing never panics, and a parsed query survives the
// round trip through the paging-link encoding unchanged (so a next link
// asks for exactly the same search).
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"patient=1&category=laboratory", "code=a%5C,b,c&_count=5&_offset=10", "_include=Observation:subject:Patient",
		"_revinclude=Observation:patient", "name:contains=jon", "subject:Patient=1", "_summary=count", "_id=1,2",
		"identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018", "code=", "_count=-1", "x=1", "_include=*",
	} {
		f.Add("Observation", s)
	}
	f.Fuzz(func(t *testing.T, typ, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := store.ParseQuery(typ, v)
		if err != nil {
			require.ErrorIs(t, err, store.ErrBadSearch)
			return
		}
		q2, err := store.ParseQuery(typ, q.Encode(q.Offset))
		require.NoError(t, err, "re-parse of %v", q.Encode(q.Offset))
		require.Equal(t, len(q.Criteria), len(q2.Criteria))
		for i := range q.Criteria {
			require.Equal(t, q.Criteria[i].Name, q2.Criteria[i].Name)
			require.Equal(t, q.Criteria[i].Values, q2.Criteria[i].Values)
		}
		require.Equal(t, q.Includes, q2.Includes)
		require.Equal(t, q.RevIncludes, q2.RevIncludes)
		require.Equal(t, q.Offset, q2.Offset)
		require.Equal(t, q.Count, q2.Count)
	})
}

// FuzzApplyPatch: patching never panics; a successful patch yields a JSON
// value, and a failed one wraps ErrInvalid.
func FuzzApplyPatch(f *testing.F) {
	doc := `{"resourceType":"Patient","id":"p1","name":[{"family":"Jones","given":["A","B"]}],"gender":"female"}`
	for _, p := range []string{
		`[{"op":"replace","path":"/gender","value":"male"}]`,
		`[{"op":"add","path":"/name/0/given/-","value":"C"}]`,
		`[{"op":"remove","path":"/name/0/given/1"}]`,
		`[{"op":"move","from":"/name/0/family","path":"/name/0/text"}]`,
		`[{"op":"copy","from":"/name/0","path":"/name/-"}]`,
		`[{"op":"test","path":"/gender","value":"female"}]`,
		`[{"op":"add","path":"/a~1b~0c","value":1}]`,
		`[{"op":"replace","path":"","value":{}}]`,
		`[]`, `{}`, `[{"op":"remove","path":"/name/01"}]`,
	} {
		f.Add(doc, p)
	}
	f.Fuzz(func(t *testing.T, docJSON, patch string) {
		dec := json.NewDecoder(bytes.NewReader([]byte(docJSON)))
		dec.UseNumber()
		var d any
		if dec.Decode(&d) != nil {
			return
		}
		out, err := store.ApplyPatch(d, []byte(patch))
		if err != nil {
			require.ErrorIs(t, err, store.ErrInvalid)
			return
		}
		_, err = json.Marshal(out)
		require.NoError(t, err)
	})
}
