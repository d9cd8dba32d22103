package fhirauth

// Attacks on the response and stored-version checks (checkRead,
// filterBundle, CheckStored) and on the denial text (OperationOutcome,
// reasons in logs and headers). The server behind the check is assumed to
// be naive or hostile: it returns whatever was asked, in any JSON shape.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
)

// decisionFor authorizes one GET for Patient/123 with patientAll scopes.
func decisionFor(t testing.TB, target string, scopes string) *Decision {
	t.Helper()
	_, d := authorize(t, testPolicy(t), principal(t, scopes, "123"), "GET", target, "", nil)
	require.True(t, d.Allowed, d.Reason)
	return d
}

func TestAttackCheckResource(t *testing.T) {
	d := decisionFor(t, "/fhir/Observation/1", patientAll)
	require.True(t, d.NeedsResponseCheck())
	for name, tc := range map[string]struct {
		body string
		err  error
	}{
		"B's Observation":                   {obsOf456, ErrOutsideCompartment},
		"A and B duplicate subject keys":    {`{"resourceType":"Observation","subject":{"reference":"Patient/123"},"subject":{"reference":"Patient/456"}}`, ErrNotJSON}, // names a parser may take for one: not FHIR JSON,
		"B first then A (last wins)":        {`{"resourceType":"Observation","subject":{"reference":"Patient/456"},"subject":{"reference":"Patient/123"}}`, ErrNotJSON}, // names a parser may take for one: not FHIR JSON,
		"case-variant subject":              {`{"resourceType":"Observation","Subject":{"reference":"Patient/456"},"subject":{"reference":"Patient/123"}}`, ErrNotJSON}, // names a parser may take for one: not FHIR JSON,
		"duplicate resourceType":            {`{"resourceType":"Observation","resourceType":"Patient","subject":{"reference":"Patient/123"}}`, ErrNotJSON},
		"resourceType mismatch (a Patient)": {patient123, ErrConstraint},
		"a Bundle instead of the resource":  {`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + obsOf456 + `}]}`, ErrConstraint},
		"an OperationOutcome":               {`{"resourceType":"OperationOutcome","issue":[]}`, ErrConstraint},
		"no resourceType":                   {`{"subject":{"reference":"Patient/123"}}`, ErrNotJSON},
		"resourceType not a string":         {`{"resourceType":["Observation"],"subject":{"reference":"Patient/123"}}`, ErrNotJSON},
		"escaped resourceType key":          {`{"resource\u0054ype":"Observation","subject":{"reference":"Patient/123"}}`, ErrNotJSON},
		"invalid UTF-8 in a reference":      {"{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/123\xff\"}}", ErrOutsideCompartment},
		"invalid UTF-8 in the type":         {"{\"resourceType\":\"Observ\xffation\",\"subject\":{\"reference\":\"Patient/123\"}}", ErrNotJSON}, // a string that is not UTF-8,
		"empty body":                        {``, ErrNotJSON},
		"XML":                               {`<Observation xmlns="http://hl7.org/fhir"/>`, ErrNotJSON},
		"trailing garbage":                  {obsOf123 + `{}`, ErrNotJSON},
		"a JSON array":                      {`[` + obsOf123 + `]`, ErrNotJSON},
		"reference to A on another server":  {`{"resourceType":"Observation","subject":{"reference":"http://evil.example/fhir/Patient/123"}}`, ErrOutsideCompartment},
		"A only in a contained resource":    {`{"resourceType":"Observation","contained":[{"resourceType":"Observation","id":"c","subject":{"reference":"Patient/123"}}],"subject":{"reference":"Patient/456"}}`, ErrOutsideCompartment},
		"A only in an extension":            {`{"resourceType":"Observation","extension":[{"url":"x","valueReference":{"reference":"Patient/123"}}],"subject":{"reference":"Patient/456"}}`, ErrOutsideCompartment},
		"A only in a display":               {`{"resourceType":"Observation","subject":{"reference":"Patient/456","display":"Patient/123"}}`, ErrOutsideCompartment},
		"huge number":                       {`{"resourceType":"Observation","valueQuantity":{"value":1e999999},"subject":{"reference":"Patient/456"}}`, ErrOutsideCompartment},
	} {
		t.Run(name, func(t *testing.T) {
			err := d.checkRead([]byte(tc.body))
			require.Error(t, err, "the check must refuse it")
			assert.ErrorIs(t, err, tc.err)
		})
	}
	assert.NoError(t, d.checkRead([]byte(obsOf123)))
	assert.NoError(t, d.checkRead([]byte(obsBoth)), "A's Observation performed by B is in A's compartment")
}

// Deeply nested documents must not blow the stack, in the compartment
// walker or in the constraint matcher (which recurses into codings).
func TestAttackDeepNesting(t *testing.T) {
	const depth = 4900 // two levels each: just below encoding/json's nesting limit of 10000
	nest := strings.Repeat(`{"coding":[`, depth) + `{"code":"laboratory"}` + strings.Repeat(`]}`, depth)
	body := `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"category":[` + nest + `]}`
	require.True(t, json.Valid([]byte(body)))
	arrays := `{"resourceType":"Observation","subject":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`

	d := decisionFor(t, "/fhir/Observation/1", labOnly)
	require.NotPanics(t, func() { _ = d.checkRead([]byte(body)) })
	require.NotPanics(t, func() { _ = d.checkRead([]byte(arrays)) })
	assert.Error(t, d.checkRead([]byte(arrays)))
	b := decisionFor(t, "/fhir/Observation?_include=*", patientAll)
	require.NotPanics(t, func() {
		_, _, _ = b.filterBundle([]byte(`{"resourceType":"Bundle","entry":[{"resource":` + body + `},{"resource":` + arrays + `}]}`))
	})
}

func TestAttackFilterBundle(t *testing.T) {
	d := decisionFor(t, "/fhir/Patient/123/$everything", patientAll)
	linkedB := `{"resourceType":"Patient","id":"456","link":[{"other":{"reference":"Patient/123"},"type":"seealso"}]}`
	org := `{"resourceType":"Organization","id":"7"}`
	oo := `{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational"}]}`
	cases := []struct {
		name    string
		entries []string
		kept    []string // substrings that must survive
		removed int
	}{
		{"B's resources are removed", []string{`{"resource":` + obsOf123 + `}`, `{"resource":` + obsOf456 + `}`, `{"resource":` + patient456 + `}`}, []string{`"Patient/123"`}, 2},
		{"a Patient that links to A is still not A", []string{`{"resource":` + patient123 + `}`, `{"resource":` + linkedB + `}`}, []string{`"id":"123"`}, 1},
		{"an unshared type", []string{`{"resource":` + org + `}`}, nil, 1},
		{"a shared type", []string{`{"resource":` + practBody + `}`}, []string{`"Practitioner"`}, 0},
		{"entries without a resource", []string{`{"fullUrl":"Observation/9"}`, `{"request":{"method":"DELETE","url":"Observation/9"}}`}, nil, 2},
		{"duplicate resource keys", []string{`{"resource":` + obsOf123 + `,"resource":` + obsOf456 + `}`}, nil, 1},
		{"case-variant resource key", []string{`{"resource":` + obsOf123 + `,"Resource":` + obsOf456 + `}`}, nil, 1},
		{"escaped resource key", []string{`{"resourc\u0065":` + obsOf456 + `}`}, nil, 1},
		{"entry that is not an object", []string{`"Patient/456"`, `[` + obsOf456 + `]`, `null`, `42`}, nil, 4},
		{"resource that is not an object", []string{`{"resource":[` + obsOf456 + `]}`, `{"resource":"x"}`}, nil, 2},
		{"search.mode include of B", []string{`{"resource":` + obsOf456 + `,"search":{"mode":"include"}}`}, nil, 1},
		{"OperationOutcome entries are kept", []string{`{"resource":` + oo + `,"search":{"mode":"outcome"}}`}, []string{`"OperationOutcome"`}, 0},
		{"nested Bundle of B", []string{`{"resource":{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + obsOf456 + `}]}}`}, nil, 1},
		{"invalid UTF-8 reference", []string{"{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/123\xff\"}}}"}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := `{"resourceType":"Bundle","type":"searchset","total":99,"link":[{"relation":"self","url":"x"}],"entry":[` + strings.Join(tc.entries, ",") + `]}`
			out, removed, err := d.filterBundle([]byte(in))
			require.NoError(t, err)
			assert.Equal(t, tc.removed, removed)
			assert.True(t, json.Valid(out), "output is JSON: %s", out)
			assert.NotContains(t, string(out), `"total"`)
			assert.NotContains(t, string(out), `456"`, "nothing of B survives")
			for _, k := range tc.kept {
				assert.Contains(t, string(out), k)
			}
		})
	}
	for name, body := range map[string]string{
		"not a Bundle":           obsOf456,
		"duplicate entry arrays": `{"resourceType":"Bundle","entry":[],"entry":[{"resource":` + obsOf456 + `}]}`,
		"case-variant entry":     `{"resourceType":"Bundle","entry":[],"Entry":[{"resource":` + obsOf456 + `}]}`,
		"entry not an array":     `{"resourceType":"Bundle","entry":{"resource":` + obsOf456 + `}}`,
		"duplicate resourceType": `{"resourceType":"Bundle","resourceType":"Observation","entry":[]}`,
		"not JSON":               `{"resourceType":"Bundle",`,
		"empty":                  ``,
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := d.filterBundle([]byte(body))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrNotJSON)
			assert.Nil(t, out)
		})
	}
}

// Response checks for user/ scopes: included types the token may not read.
func TestAttackFilterBundleUserScopes(t *testing.T) {
	d := decisionFor(t, "/fhir/Observation?_include=*", "user/Observation.rs user/Patient.rs user/*.s")
	require.False(t, d.NeedsResponseCheck(), "user/*.s may search every type: nothing to withhold")
	out, removed, err := d.filterBundle([]byte(`{"resourceType":"Bundle","entry":[{"resource":` + obsOf456 + `},{"resource":` + orgBody + `,"search":{"mode":"include"}}]}`))
	require.NoError(t, err)
	assert.Equal(t, 0, removed, "user/*.s covers search")
	assert.Contains(t, string(out), "Organization")

	c := decisionFor(t, "/fhir/Observation?_include=Observation:has-member:Observation&category=laboratory", "user/Observation.rs?category=laboratory")
	out, removed, err = c.filterBundle([]byte(`{"resourceType":"Bundle","entry":[{"resource":` + vitalOf123 + `},{"resource":` + patient456 + `},{"resource":` + obsOf456 + `}]}`))
	require.NoError(t, err)
	assert.Equal(t, 2, removed, "vital-signs and the unpermitted Patient go")
	assert.NotContains(t, string(out), "vital-signs")
	assert.NotContains(t, string(out), `"Patient","id"`)
}

func TestAttackCheckStored(t *testing.T) {
	_, d := authorize(t, testPolicy(t), principal(t, patientAll, "123"), "PUT", "/fhir/Observation/1", obsOf123, nil)
	require.True(t, d.Allowed, d.Reason)
	require.True(t, d.NeedsStoredCheck())
	for name, stored := range map[string]string{
		"B's":                              obsOf456,
		"A's and B's":                      obsBoth,
		"conditional reference to someone": `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"performer":[{"reference":"Patient?identifier=x|1"}]}`,
		"absolute reference to B":          `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"performer":[{"reference":"http://fhir.test/fhir/Patient/456"}]}`,
		"nobody's":                         `{"resourceType":"Observation","subject":{"reference":"Group/1"}}`,
		"duplicate subject":                `{"resourceType":"Observation","subject":{"reference":"Patient/456"},"subject":{"reference":"Patient/123"}}`,
		"another type":                     patient123,
		"not JSON":                         `<Observation/>`,
	} {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, d.CheckStored([]byte(stored)))
		})
	}
	assert.NoError(t, d.CheckStored([]byte(obsOf123)))
	assert.NoError(t, d.CheckStored(nil), "update-as-create with c")
	assert.NoError(t, d.CheckStored([]byte("  \n")), "blank is no stored version")
}

// Denials quote attacker-controlled text; it must stay one line and the
// OperationOutcome valid FHIR JSON.
func TestAttackDenialText(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/Observation.rs", "")
	hostile := []string{
		"/fhir/Observation?_include=Observation:a%0d%0aHTTP/1.1%20200%20OK",
		"/fhir/Observation?_include=Observation:%22%7D%2C%7B%22x%22%3A%22",
		"/fhir/Observation?_include=Observation:%3C%2Fscript%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
		"/fhir/Observation?_include=Observation:%ff%fe%00%1b%5B31m",
		"/fhir/Observation?_summary=%0a",
		"/fhir/Observation?_total=%E2%80%A8x",
		"/fhir/Observation?_count=%0d%0a1",
		"/fhir/Observation?_contained=%0d",
		"/fhir/Observation?_type=Patient%0a",
		"/fhir/Observation?subject.name%0a=x",
	}
	for _, target := range hostile {
		t.Run(target, func(t *testing.T) {
			_, d := authorize(t, p, pr, "GET", target, "", nil)
			require.False(t, d.Allowed)
			for _, c := range d.Reason {
				assert.False(t, c < 0x20 || c == 0x7f, "control character %q in reason %q", c, d.Reason)
			}
			assert.True(t, strings.ToValidUTF8(d.Reason, "") == d.Reason, "reason is valid UTF-8")
			for _, v := range []fhirspec.Version{fhirspec.STU3, fhirspec.R4} {
				oo := OperationOutcome(v, d.IssueCode, d.Reason)
				require.True(t, json.Valid(oo), "%s", oo)
				var doc struct {
					ResourceType string
					Issue        []struct{ Diagnostics string }
				}
				require.NoError(t, json.Unmarshal(oo, &doc))
				assert.Equal(t, "OperationOutcome", doc.ResourceType)
				require.Len(t, doc.Issue, 1)
				assert.Equal(t, d.Reason, doc.Issue[0].Diagnostics)
				assert.NotContains(t, string(oo), "<script", "HTML is escaped in the JSON")
			}
		})
	}
	// The user rule's error text is quoted too.
	hook := testPolicy(t, WithUserRule(func(context.Context, *tokenPrincipal, *Request) error {
		return errorString("no\r\nINFO admin logged in")
	}))
	_, d := authorize(t, hook, principal(t, "user/Patient.read", ""), "GET", "/fhir/Patient/1", "", nil)
	require.False(t, d.Allowed)
	assert.NotContains(t, d.Reason, "\n")
	assert.Contains(t, d.Reason, `\x0d\x0a`)
}

type errorString string

func (e errorString) Error() string { return string(e) }

// FuzzResponseCheck: the response checks never panic, the filtered Bundle
// is JSON, holds nothing outside filterBundle's allow-list, and every
// resource it keeps passes the single-resource check (filteredShape).
func FuzzResponseCheck(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","total":3,"entry":[{"resource":` + obsOf123 + `},{"resource":` + obsOf456 + `},{"resource":` + patient456 + `}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":` + obsOf123 + `,"resource":` + obsOf456 + `}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"456","link":[{"other":{"reference":"Patient/123"}}]}}]}`))
	f.Add([]byte(obsOf456))
	f.Add([]byte(`{"resourceType":"Observation","category":[{"coding":[{"coding":[{"code":"laboratory"}]}]}],"subject":{"reference":"Patient/123"}}`))
	f.Add([]byte(`{"resourceType":"Bundle","id":"1","meta":{"lastUpdated":"x","extension":[]},"type":"history","issues":` + ooB + `,"link":[{"relation":"next","url":"Patient/456"},{"relation":"self","url":"x"}],"entry":[{"fullUrl":"http://x/Observation/1","resource":` + obsOf123 + `,"search":{"mode":"match","score":1,"x":1},"request":{"method":"PUT","url":"Observation/1"},"response":{"status":"200","outcome":` + leakB + `}},{"resource":` + ooB + `},{"resource":` + plainOO + `}]}`))
	p := testPolicy(f)
	everything := p.Decide(context.Background(), principal(f, patientAll, "123"), mustClassify(f, p, "/fhir/Patient/123/$everything"))
	history := p.Decide(context.Background(), principal(f, patientAll, "123"), mustClassify(f, p, "/fhir/Observation/1/_history"))
	lab := p.Decide(context.Background(), principal(f, labOnly, "123"), mustClassify(f, p, "/fhir/Observation/1"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = lab.checkRead(body)
		for _, d := range []*Decision{everything, history} {
			out, _, err := d.filterBundle(body)
			if err != nil {
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("filtered Bundle is not JSON: %q", out)
			}
			if err := filteredShape(d, out, bytes.Contains(out, []byte(`"type":"history"`))); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			// Filtering is idempotent: the output is its own filtered form.
			again, removed, err := d.filterBundle(out)
			if err != nil || removed != 0 || string(again) != string(out) {
				t.Fatalf("filtering the output again changes it (%v, %d removed):\n%s\n%s", err, removed, out, again)
			}
		}
	})
}

func mustClassify(t testing.TB, p *Policy, target string) *Request {
	t.Helper()
	req, err := p.Classify(newRequest("GET", target, "", nil))
	require.NoError(t, err)
	return req
}

// A checked read, search or history answered with a success status and
// no body holds nothing to check, yet a server answers so only for what
// it has: under existence hiding it would tell another patient's resource
// from a missing one (as a 304 would, and as a batch entry without a
// resource would, which are withheld for that reason). It is answered as
// a missing resource under hiding, and cannot be checked otherwise. A
// write may answer without a body (Prefer: return=minimal): Decide gives
// no write a response check (the search of a conditional write cannot
// hold an _include), but CheckResponse lets such an answer to one pass.
func TestAttackBodilessSuccessOfCheckedRead(t *testing.T) {
	pr := principal(t, "patient/*.cruds", "123")
	hide, show := testPolicy(t), testPolicy(t, WithExistenceHiding(false))
	_, readHide := authorize(t, hide, pr, "GET", "/fhir/Observation/1", "", nil)
	_, readShow := authorize(t, show, pr, "GET", "/fhir/Observation/1", "", nil)
	_, history := authorize(t, hide, pr, "GET", "/fhir/Observation/1/_history", "", nil)
	_, search := authorize(t, hide, pr, "GET", "/fhir/Observation?code=x&_include=Observation:subject", "", nil)
	create := &Decision{Allowed: true, Status: http.StatusOK, policy: hide, request: &Request{Method: "POST", Interaction: Create, ResourceType: "Observation"},
		response: responseCheck{on: true, bundle: true, letters: scope.Search, compartment: true}}
	for _, d := range []*Decision{readHide, readShow, history, search, create} {
		require.True(t, d.Allowed && d.NeedsResponseCheck(), d.Reason)
	}
	for _, status := range []int{200, 202, 203, 204, 206} {
		for _, body := range []string{"", " \n"} {
			for name, c := range map[string]struct {
				d    *Decision
				want error
			}{
				"read under hiding":   {readHide, ErrHidden},
				"read without hiding": {readShow, ErrNotJSON},
				"instance history":    {history, ErrHidden},
				"search":              {search, ErrNotJSON},
			} {
				out, _, err := c.d.CheckResponse(status, []byte(body))
				assert.ErrorIs(t, err, c.want, "%s %d %q", name, status, body)
				assert.Nil(t, out, "%s %d %q", name, status, body)
			}
		}
		_, _, err := create.CheckResponse(status, nil)
		assert.NoError(t, err, "conditional create %d", status)
	}
}
