package fhirauth

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// HTTP/1.1 cannot carry a raw space in a request target, but HTTP/2 can,
// and Go's server keeps it in URL.RawQuery. A proxy passing the query on
// as written would write it into its HTTP/1.1 request line to the
// server ("GET /Observation?a=gt2000 x&_type=... HTTP/1.1"), which
// servers split each their own way: Node.js refuses it, a lenient one
// ends the target at the space, dropping the parameters after it. Such a
// query is refused; "+" and %20 still carry a space.
func TestAttackRawSpaceOverHTTP2(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/Practitioner.rs", "")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, d := p.Authorize(r.Context(), pr, r)
		fmt.Fprintf(w, "%s %d %s", r.Proto, d.Status, d.Reason)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for query, want := range map[string]string{
		"_lastUpdated=gt2000 HTTP/1.1&_type=Practitioner": "HTTP/2.0 400 fhirauth: invalid request: malformed query: a raw space",
		"_lastUpdated=gt2000&_type=Practitioner&name=a b": "HTTP/2.0 400 fhirauth: invalid request: malformed query: a raw space",
		"_lastUpdated=gt2000&_type=Practitioner&name=a+b": "HTTP/2.0 200 ",
		"_type=Practitioner&name=a%20b":                   "HTTP/2.0 200 ",
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/fhir", nil)
		require.NoError(t, err)
		req.URL.RawQuery = query
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		assert.Contains(t, string(got), want, "%q", query)
	}
}
