package fhirauth

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A conditional create whose search matches answers 200 with the
// resource found, which nothing wrote. The policy narrows the search to
// the token's constraints and patient, but a server that matches
// differently finds more: medplum matches tokens without regard to
// letter case, so category=laboratory finds an Observation whose
// category is "Laboratory"; one that compared references as loosely
// would find, for patient=Patient/123, another patient's. The token
// holder then read, as the answer to a create, an Observation it may
// not read. The resource answered must pass the read check; the one the
// create wrote does.
func TestAttackConditionalCreateAnswersMatch(t *testing.T) {
	p := testPolicy(t)
	capital := strings.Replace(vitalOf123, `"vital-signs"`, `"Laboratory"`, 1)
	for _, tc := range []struct {
		name, scopes, patient string
		foreign               []string // matched resources the token may not read
	}{
		{"constrained user scope", "user/Observation.crs?category=laboratory", "", []string{vitalOf123, capital}},
		{"patient scope", "patient/Observation.crs", "123", []string{obsOf456, strings.Replace(obsOf123, "Patient/123", "Patient/l23", 1)}},
	} {
		pr := principal(t, tc.scopes, tc.patient)
		created := noID(obsOf123)
		decisions := map[string]*Decision{}
		_, d := authorize(t, p, pr, "POST", "/fhir/Observation", created, map[string]string{"If-None-Exist": "identifier=x"})
		decisions["header"] = d
		for _, typ := range []string{"batch", "transaction"} {
			_, d := authorize(t, p, pr, "POST", "/fhir", bundle(typ, `{"resource":`+created+`,"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=x"}}`), nil)
			require.True(t, d.Allowed, d.Reason)
			require.Len(t, d.Entries, 1)
			decisions[typ] = d.Entries[0]
		}
		for how, d := range decisions {
			t.Run(tc.name+" "+how, func(t *testing.T) {
				require.True(t, d.Allowed, d.Reason)
				for _, body := range tc.foreign {
					_, _, err := d.CheckResponse(http.StatusOK, []byte(body))
					assert.Error(t, err, "the answer %s passed", body)
					assert.True(t, errors.Is(err, ErrConstraint) || errors.Is(err, ErrOutsideCompartment), "%v", err)
				}
				for _, st := range []int{http.StatusOK, http.StatusCreated} {
					out, _, err := d.CheckResponse(st, []byte(obsOf123))
					assert.NoError(t, err)
					assert.Equal(t, obsOf123, string(out))
				}
				_, _, err := d.CheckResponse(http.StatusCreated, nil)
				assert.NoError(t, err, "Prefer: return=minimal")
				outcome := `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}`
				_, _, err = d.CheckResponse(http.StatusCreated, []byte(outcome))
				assert.NoError(t, err, "Prefer: return=OperationOutcome")
			})
		}
	}
}
