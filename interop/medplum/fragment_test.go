package medplum

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fragmentQueries sends queries with a raw "#". Go's server keeps it in
// the query; medplum (WHATWG's URL parser) starts a fragment there and
// drops the rest of the query, as its own answer shows: the gateway must
// refuse them (400) rather than pass on a request other than the one
// judged. Without the refusal a user/Practitioner.rs token had a system
// search run without its _type (medplum answers "No types specified";
// a server that searches every type then answers with all of them). It
// returns the requests made.
func fragmentQueries(ctx context.Context, t *testing.T, e *env) int {
	status, body := sendQuery(ctx, t, e.upstream, "Observation", "_lastUpdated=gt2000#&_id=obs-p1-1", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Greater(t, len(keys(t, body)), 1, "medplum ends the query at the \"#\", so _id=obs-p1-1 is not applied: %s", body)
	cases := []struct{ path, query, scope, patient string }{
		{"", "_lastUpdated=gt2000#&_type=Practitioner", "user/Practitioner.rs", ""},
		{"Observation", "_lastUpdated=gt2000#&_id=obs-p1-1", "system/*.rs", ""},
		{"Observation", "_lastUpdated=gt2000#&patient=Patient/" + contextPatient, "patient/*.rs", contextPatient},
	}
	for _, c := range cases {
		t.Run(c.scope+" "+c.path+"?"+c.query, func(t *testing.T) {
			status, body := sendQuery(ctx, t, e.gateway, c.path, c.query, e.token(c.scope, c.patient))
			assert.Equal(t, http.StatusBadRequest, status, "%s", body)
			assert.Contains(t, string(body), "fragment", "the gateway's refusal, not the upstream's answer")
		})
	}
	return len(cases) + 1
}

// sendQuery is a GET of path below base with the raw query as written,
// "#" included (a URL given to net/http would lose it as a fragment).
func sendQuery(ctx context.Context, t *testing.T, base, path, query, token string) (int, []byte) {
	t.Helper()
	u := base
	if path != "" {
		u += "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(t, err)
	req.URL.RawQuery = query
	req.Header.Set("Accept", "application/fhir+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b
}
