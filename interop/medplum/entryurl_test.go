package medplum

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entryURLs sends, directly and through the gateway with the
// patient/*.rs token, Bundle entries that search by POST. medplum reads
// such an entry's parameters from its resource and drops request.url's
// query, so the entry, however the gateway narrows its query, returns
// every patient's Observations: the gateway must refuse it. It returns
// the requests made.
func entryURLs(ctx context.Context, t *testing.T, e *env, patientToken string) int {
	n := 0
	for _, u := range []string{"Observation/_search", "Observation/_search?subject=Patient/p1"} {
		for _, kind := range []string{"batch", "transaction"} {
			b := `{"resourceType":"Bundle","type":"` + kind + `","entry":[{"request":{"method":"POST","url":"` + u + `"}}]}`
			t.Run(kind+"/"+u, func(t *testing.T) {
				_, up := send(ctx, t, http.MethodPost, e.upstream, "", "", b)
				require.Contains(t, string(up), marker("p2"), "medplum answers POST %s in a %s with every patient's Observations", u, kind)
				status, body := send(ctx, t, http.MethodPost, e.gateway, "", patientToken, b)
				n += 2
				for _, p := range patients[1:] {
					require.NotContains(t, string(body), marker(p), "LEAK: POST %s in a %s returned %s's data (status %d): %s", u, kind, p, status, body)
				}
				assert.Equal(t, http.StatusBadRequest, status, "%s", body)
				assert.Contains(t, string(body), "cannot search by POST")
			})
		}
	}
	return n
}
