package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// historyOf is a history Bundle of the given versions.
func historyOf(resources ...string) []byte {
	b := `{"resourceType":"Bundle","type":"history","entry":[`
	for i, r := range resources {
		if i > 0 {
			b += ","
		}
		b += `{"resource":` + r + `,"request":{"method":"PUT","url":"Observation/1"},"response":{"status":"200"}}`
	}
	return []byte(b + `]}`)
}

// Every version an instance history or vread returns is held to the
// constraints and the compartment, as a read is: an earlier version may
// have had another category or belonged to another patient. Type and
// system history cannot be narrowed and are refused.
func TestAttackConstrainedHistory(t *testing.T) {
	p := testPolicy(t, WithExistenceHiding(false))
	for _, c := range []struct{ scopes, patient string }{
		{"user/Observation.rs?category=laboratory", ""},
		{"patient/Observation.rs?category=laboratory", "123"},
		{"launch/patient patient/Observation.rs", "123"},
	} {
		pr := principal(t, c.scopes, c.patient)
		for _, target := range []string{"/fhir/Observation/_history", "/fhir/_history", "/fhir/Observation/_history?_since=2020-01-01&_count=5"} {
			_, d := authorize(t, p, pr, "GET", target, "", nil)
			assert.False(t, d.Allowed, "%s %s", c.scopes, target)
		}
		other := vitalOf123
		if c.scopes == "launch/patient patient/Observation.rs" {
			other = obsOf456
		}
		for _, q := range []string{"", "?_since=2020-01-01", "?_at=2020-01-01", "?_count=1&_offset=1", "?_page=2"} {
			_, d := authorize(t, p, pr, "GET", "/fhir/Observation/1/_history"+q, "", nil)
			require.True(t, d.Allowed, d.Reason)
			_, _, err := d.CheckResponse(http.StatusOK, historyOf(obsOf123, other))
			assert.Error(t, err, "%s history%s", c.scopes, q)
		}
		_, d := authorize(t, p, pr, "GET", "/fhir/Observation/1/_history/2", "", nil)
		require.True(t, d.Allowed, d.Reason)
		_, _, err := d.CheckResponse(http.StatusOK, []byte(other))
		assert.Error(t, err, "%s vread", c.scopes)
	}
}

// _page is not a FHIR parameter and goes to the server unread, which may
// take it for an opaque paging token replaying another search (another
// type, another patient): a history with _page is checked entry by entry,
// as a search with _page is, also where the history alone needs no check.
func TestAttackHistoryPageToken(t *testing.T) {
	p := testPolicy(t, WithExistenceHiding(false))
	replay := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + patient456 + `}]}`
	for _, c := range []struct{ scopes, patient, target string }{
		{"user/Observation.rs", "", "/fhir/Observation/_history?_page=abc"},
		{"user/Observation.rs", "", "/fhir/Observation/1/_history?_page=abc"},
		{"launch/patient patient/*.rs", "123", "/fhir/Patient/123/_history?_page=abc"},
		{"launch/patient patient/*.rs", "123", "/fhir/Practitioner/9/_history?_page=abc"},
	} {
		_, d := authorize(t, p, principal(t, c.scopes, c.patient), "GET", c.target, "", nil)
		if !d.Allowed {
			continue
		}
		out, removed, err := d.CheckResponse(http.StatusOK, []byte(replay))
		if err == nil {
			assert.Equal(t, 1, removed, "%s %s: %s", c.scopes, c.target, out)
		}
	}
}
