package fhirauth

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckResponse drives the one response-check sequence with what a
// hostile or careless server might answer, for a read and a search under
// patient context, with and without existence hiding.
func TestCheckResponse(t *testing.T) {
	const (
		outcome          = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`
		outcomeContained = `{"resourceType":"OperationOutcome","issue":[],"contained":[` + patient456 + `]}`
		outcomeCaseDup   = `{"resourceType":"OperationOutcome","issue":[],"Issue":[]}`
		bundleMixed      = `{"resourceType":"Bundle","type":"searchset","total":2,"entry":[{"resource":` + obsOf123 + `},{"resource":` + obsOf456 + `}]}`
	)
	pr := principal(t, "patient/*.rs", "123")
	hide, show := testPolicy(t), testPolicy(t, WithExistenceHiding(false))
	_, readHide := authorize(t, hide, pr, "GET", "/fhir/Observation/1", "", nil)
	_, readShow := authorize(t, show, pr, "GET", "/fhir/Observation/1", "", nil)
	_, search := authorize(t, hide, pr, "GET", "/fhir/Observation?code=x&_include=Observation:subject", "", nil)
	require.True(t, readHide.Allowed && readHide.NeedsResponseCheck() && !readHide.ResponseIsBundle())
	require.True(t, search.Allowed && search.ResponseIsBundle())

	cases := []struct {
		name    string
		d       *Decision
		status  int
		body    string
		want    error // nil: passes
		removed int
	}{
		{"own resource", readHide, 200, obsOf123, nil, 0},
		{"other patient's resource", readHide, 200, obsOf456, ErrOutsideCompartment, 0},
		{"other patient's resource, no hiding", readShow, 200, obsOf456, ErrOutsideCompartment, 0},
		{"404 under hiding reads as withheld", readHide, 404, outcome, ErrHidden, 0},
		{"410 under hiding reads as withheld", readHide, 410, outcome, ErrHidden, 0},
		{"404 without hiding passes", readShow, 404, outcome, nil, 0},
		{"302 under hiding reads as withheld", readHide, 302, "", ErrHidden, 0},
		{"304 under hiding reads as withheld", readHide, 304, "", ErrHidden, 0},
		{"100 under hiding reads as withheld", readHide, 100, "", ErrHidden, 0},
		{"307 with an outcome under hiding reads as withheld", readHide, 307, outcome, ErrHidden, 0},
		{"302 without hiding cannot be checked", readShow, 302, "", ErrNotJSON, 0},
		{"search redirected cannot be checked", search, 303, "", ErrNotJSON, 0},
		{"search 304 cannot be checked", search, 304, "", ErrNotJSON, 0},
		{"empty 204 under hiding reads as withheld", readHide, 204, "", ErrHidden, 0},
		{"empty 200 without hiding cannot be checked", readShow, 200, "", ErrNotJSON, 0},
		{"500 carrying another patient", readShow, 500, patient456, ErrNotJSON, 0},
		{"400 outcome smuggling a contained resource", readShow, 400, outcomeContained, ErrNotJSON, 0},
		{"400 outcome with case-variant keys", readShow, 400, outcomeCaseDup, ErrNotJSON, 0},
		{"400 not JSON", readShow, 400, "<html>", ErrNotJSON, 0},
		{"search filtered", search, 200, bundleMixed, nil, 1},
		{"search 404 is not hidden", search, 404, outcome, nil, 0},
		{"search answered with a single resource", search, 200, obsOf123, ErrNotJSON, 0},
		{"read answered with a Bundle", readHide, 200, bundleMixed, ErrConstraint, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, removed, err := c.d.CheckResponse(c.status, []byte(c.body))
			if c.want != nil {
				assert.ErrorIs(t, err, c.want)
				assert.Nil(t, out)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.removed, removed)
			if c.d.ResponseIsBundle() && c.status == 200 {
				assert.NotContains(t, string(out), "Patient/456")
				assert.NotContains(t, string(out), `"total"`, "a total may count what was removed")
			} else {
				assert.Equal(t, c.body, string(out))
			}
		})
	}
}

// TestCheckResponseAgreesWithCheckResult holds the two public checks to one
// rule: a read's resource passes CheckResponse exactly when it passes
// CheckResult, and a search result resource passes CheckResult exactly
// when CheckResponse keeps it in a one-entry Bundle.
func TestCheckResponseAgreesWithCheckResult(t *testing.T) {
	pr := principal(t, "patient/*.rs", "123")
	p := testPolicy(t)
	_, read := authorize(t, p, pr, "GET", "/fhir/Observation/1", "", nil)
	_, search := authorize(t, p, pr, "GET", "/fhir/Observation?code=x&_include=Observation:subject", "", nil)
	for _, res := range []string{obsOf123, obsOf456, vitalOf123, obsBoth, patient123, patient456, practBody, orgBody,
		`{"resourceType":"OperationOutcome","issue":[]}`, `{"resourceType":"OperationOutcome","issue":[],"contained":[]}`} {
		_, _, err := read.CheckResponse(200, []byte(res))
		assert.Equal(t, err == nil, read.CheckResult([]byte(res)) == nil, "read: %s", res)

		out, removed, err := search.CheckResponse(200, []byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":`+res+`}]}`))
		require.NoError(t, err)
		kept := removed == 0 && strings.Contains(string(out), `"resource"`)
		assert.Equal(t, kept, search.CheckResult([]byte(res)) == nil, "search: %s", res)
	}
}

// TestCheckResultWithoutCheck: a decision without a response check passes
// whatever it is given, as CheckResponse does.
func TestCheckResultWithoutCheck(t *testing.T) {
	_, d := authorize(t, testPolicy(t), principal(t, "user/*.rs", ""), "GET", "/fhir/Observation/1", "", nil)
	require.False(t, d.NeedsResponseCheck())
	assert.NoError(t, d.CheckResult([]byte("not json")))
	out, _, err := d.CheckResponse(500, []byte("not json"))
	assert.NoError(t, err)
	assert.Equal(t, "not json", string(out))
	assert.False(t, errors.Is(err, ErrHidden))
}
