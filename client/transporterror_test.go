package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
)

// TestTransportErrorsLeaveQueryOut: search parameters (a patient's
// identifier, a name) are kept out of error messages, which end up in
// logs, also when no answer came and net/http's *url.Error names the URL.
func TestTransportErrorsLeaveQueryOut(t *testing.T) {
	const secret = "9000000009"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fhir/Observation" && r.URL.Query().Get("hop") == "" {
			http.Redirect(w, r, r.URL.Path+"?hop=1&identifier="+secret, http.StatusFound)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // no answer
		}
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL+"/fhir", client.StaticToken("t"), client.WithRetry(client.RetryPolicy{}))
	require.NoError(t, err)

	// Patient: the first request gets no answer; Observation: the
	// request the server redirects to gets none.
	for _, typ := range []string{"Patient", "Observation"} {
		_, err = c.SearchAll(context.Background(), typ, url.Values{"identifier": {"https://fhir.nhs.uk/Id/nhs-number|" + secret}})
		require.Error(t, err)
		var ue *url.Error
		require.True(t, errors.As(err, &ue), "still a *url.Error for callers telling network errors apart")
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("%s: the error message carries the query: %v", typ, err)
		}
	}
}
