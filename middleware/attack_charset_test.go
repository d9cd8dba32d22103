package middleware_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// A response is checked as UTF-8 bytes, but the client decodes it by the
// charset its Content-Type names: in UTF-7, "+ACI-" is a quote, so text
// the check read as a string value can become members of the resource.
// A checked response that names another charset (in any letter case,
// quoted or not, or twice) is refused with 502 and an OperationOutcome,
// and audited as refused; UTF-8 and US-ASCII pass, as for request bodies.
func TestAttackResponseCharset(t *testing.T) {
	// Checked as UTF-8: Alice's Observation with a note. Read as UTF-7:
	// the note ends, and a subject naming Bob follows.
	const utf7Obs = `{"resourceType":"Observation","id":"x","meta":{"versionId":"1"},"status":"final","code":{"text":"t"},"subject":{"reference":"Patient/p1"},` +
		`"note":[{"text":"ok+ACIAfQBdACwAIg-subject+ACI-:{+ACI-reference+ACI-:+ACI-Patient/p2+ACIAfQAs-x+ACI-:+AFsAew-text+ACI-:+ACI-"}]}`
	search := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + utf7Obs + `,"search":{"mode":"match"}}]}`
	alice := func(e *env) string { return e.token("launch/patient patient/*.cruds", naivefhir.Alice) }
	type call struct{ method, path, body string }
	calls := map[string]struct {
		call
		upstream string
		opts     []middleware.Option
	}{
		"read":            {call{"GET", "/fhir/Observation/x", ""}, utf7Obs, nil},
		"search streamed": {call{"GET", "/fhir/Observation?_include=Observation:performer", ""}, search, nil},
		"search buffered": {call{"GET", "/fhir/Observation?_include=Observation:performer", ""}, search, []middleware.Option{middleware.WithStreamedChecks(false)}},
		"stored version":  {call{"PUT", "/fhir/Observation/x", aliceObs}, utf7Obs, nil},
	}
	refused := []string{
		"application/fhir+json; charset=utf-7",
		"application/fhir+json;charset=UTF-7",
		`application/fhir+json; charset="utf-7"`,
		"application/json; charset=iso-8859-1",
		"application/fhir+json; CHARSET=ISO-8859-1",
		"application/fhir+json; charset=utf-16",
		"application/fhir+json; charset=windows-1252",
		"application/fhir+json; charset=utf-8; charset=utf-7",
		"application/fhir+json; charset=utf8",
		"application/fhir+json; charset=utf-7; charset*=utf-8''utf-8",
		"application/fhir+json; charset*0=utf; charset*1=-8; charset=utf-7",
	}
	passed := []string{
		"application/fhir+json",
		"application/fhir+json; charset=utf-8",
		"application/fhir+json;charset=UTF-8",
		`application/fhir+json; charset="utf-8"`,
		`application/json; charset="Utf-8"`,
		"application/fhir+json; charset=us-ascii",
	}
	for name, c := range calls {
		for _, ct := range append(refused, passed...) {
			a := upstreamAnswer{body: c.upstream, header: map[string][]string{"Content-Type": {ct}}}
			e := newEnv(t, withInner(a.handler()), withMW(c.opts...))
			hdr := http.Header{"Authorization": {"Bearer " + alice(e)}}
			if c.body != "" {
				hdr.Set("Content-Type", "application/fhir+json")
			}
			res, body := e.request(t, c.method, c.path, hdr, c.body)
			if !contains(passed, ct) {
				require.Equal(t, http.StatusBadGateway, res.StatusCode, "%s, %s: %s", name, ct, body)
				assert.Equal(t, "exception", parseOutcome(t, body).Issue[0].Code, "%s, %s", name, ct)
				assert.NotContains(t, string(body), "Patient/p2", "%s, %s", name, ct)
				assert.Empty(t, res.Header.Get("X-Upstream"), "%s, %s: the server's headers go", name, ct)
				rec := e.lastAudit(t)
				assert.Equal(t, http.StatusBadGateway, rec.Status, "%s, %s", name, ct)
				assert.Contains(t, rec.Reason, "charset", "%s, %s", name, ct)
				continue
			}
			assert.Less(t, res.StatusCode, 300, "%s, %s: %s", name, ct, body)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
