package fhirauth

import (
	"encoding/json"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/fhirauth/internal/outcomemodel"
)

// The templates (outcome_gen.go) must answer what google/fhir/go marshals,
// for every issue code of each version and no other: byte for byte for
// plain diagnostics, as the same JSON for diagnostics that need escaping
// (the two escape some characters differently).
func TestOperationOutcomeMatchesDirectMarshal(t *testing.T) {
	tables := map[fhirspec.Version]map[string]outcomeTemplate{fhirspec.STU3: stu3Outcomes, fhirspec.R4: r4Outcomes}
	for v, table := range tables {
		for _, diag := range []string{"plain words", "", `scope "user/Patient.read" <does> & not`, "line\nbreak \u00e9\u2028", "\x00\x1f"} {
			docs, err := outcomemodel.Outcomes(v, diag)
			require.NoError(t, err)
			require.Len(t, table, len(docs), "%v: go generate ./fhirauth after upgrading google/fhir/go", v)
			for code, want := range docs {
				got := OperationOutcome(v, code, diag)
				if diag == "plain words" {
					assert.Equal(t, string(want), string(got), "%v %s", v, code)
				} else {
					assert.JSONEq(t, string(want), string(got), "%v %s %q", v, code, diag)
				}
			}
		}
	}
}

func TestOperationOutcomeParses(t *testing.T) {
	for v, fv := range map[fhirspec.Version]fhirversion.Version{fhirspec.STU3: fhirversion.STU3, fhirspec.R4: fhirversion.R4} {
		body := OperationOutcome(v, "forbidden", "nope \"quoted\"")
		um, err := jsonformat.NewUnmarshaller("UTC", fv)
		require.NoError(t, err)
		_, err = um.Unmarshal(body)
		require.NoError(t, err, "%v: %s", v, body)
		var doc struct {
			Issue []struct{ Code, Severity, Diagnostics string }
		}
		require.NoError(t, json.Unmarshal(body, &doc))
		require.Len(t, doc.Issue, 1)
		assert.Equal(t, "forbidden", doc.Issue[0].Code)
		assert.Equal(t, "error", doc.Issue[0].Severity)
		assert.Equal(t, `nope "quoted"`, doc.Issue[0].Diagnostics)
	}
}

func TestOperationOutcomeUnknownCode(t *testing.T) {
	assert.Contains(t, string(OperationOutcome(fhirspec.R4, "no-such-code", "x")), `"code":"processing"`)
	assert.Nil(t, OperationOutcome(fhirspec.Version(0), "forbidden", "x"))
}

func TestDecisionOperationOutcome(t *testing.T) {
	p := testPolicy(t)
	_, d := authorize(t, p, principal(t, "user/Patient.read", ""), "GET", "/fhir/Observation?code=1", "", nil)
	require.False(t, d.Allowed)
	assert.Contains(t, string(d.OperationOutcome()), "needs user/Observation.s")
}
