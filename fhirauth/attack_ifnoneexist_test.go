package fhirauth

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An If-None-Exist query with a second "?" ("Observation?identifier=x?&
// category=laboratory") is read by FHIR URL parsers that end the query
// there (medplum's parseSearchRequest of the string keeps the text
// between the first two "?") as identifier=x alone: the policy judged a
// search holding the token's category=laboratory constraint, added no
// narrowing, and a server reading the header or request.ifNoneExist
// itself searched every category for the conditional create. Such a
// value is refused, in a header and in a Bundle entry alike; a "?" in a
// value is written %3F. A raw "#" ends the query for a URL parser as
// well (it starts a fragment) and is refused alike; it is written %23.
func TestAttackIfNoneExistQuestionMark(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/Observation.crs?category=laboratory", "")
	body := noID(obsOf123)
	for _, tc := range []struct {
		ine     string
		allowed bool
	}{
		{"Observation?identifier=x?&category=laboratory", false},
		{"?identifier=x?&category=laboratory", false},
		{"http://fhir.test/fhir/Observation?identifier=x?&category=laboratory", false},
		{"Observation?category=laboratory&identifier=x?", false},
		{"Observation?identifier=x%3F&category=laboratory", true},
		{"identifier=x%3F&category=laboratory", true},
		{"?identifier=x&category=laboratory", true},
		{"Observation?identifier=x#&category=laboratory", false},
		{"identifier=x#&category=laboratory", false},
		{"identifier=x%23&category=laboratory", true},
	} {
		t.Run("header "+tc.ine, func(t *testing.T) {
			_, d := authorize(t, p, pr, "POST", "/fhir/Observation", body, map[string]string{"If-None-Exist": tc.ine})
			checkIfNoneExistDecision(t, d, tc.allowed)
		})
		for _, typ := range []string{"batch", "transaction"} {
			t.Run(typ+" "+tc.ine, func(t *testing.T) {
				ine, err := json.Marshal(tc.ine)
				require.NoError(t, err)
				b := bundle(typ, `{"resource":`+body+`,"request":{"method":"POST","url":"Observation","ifNoneExist":`+string(ine)+`}}`)
				_, d := authorize(t, p, pr, "POST", "/fhir", b, nil)
				checkIfNoneExistDecision(t, d, tc.allowed)
			})
		}
	}
}

func checkIfNoneExistDecision(t *testing.T, d *Decision, allowed bool) {
	t.Helper()
	if allowed {
		assert.True(t, d.Allowed, d.Reason)
		for _, e := range d.Entries {
			assert.True(t, e.Allowed, e.Reason)
		}
		return
	}
	assert.False(t, d.Allowed)
	assert.Equal(t, http.StatusBadRequest, d.Status)
	assert.Regexp(t, `"\?"|"#"`, d.Reason)
}
