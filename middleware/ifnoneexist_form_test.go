package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// fhirauth accepts If-None-Exist as "query", "?query", "Type?query" and
// with the absolute URL of the type's endpoint before the "?" (the form
// HAPI's Java client sends): the narrowed header the server gets
// holds the parameters fhirauth judged, under their own names, plus the
// narrowing, whichever spelling the client used.
func TestNarrowedIfNoneExistSpellings(t *testing.T) {
	for _, ine := range []string{"code=8867-4", "?code=8867-4", "Observation?code=8867-4", " Observation?code=8867-4 ",
		"http://gw.example/fhir/Observation?code=8867-4", "https://gw.example:8443/base/R4/Observation?code=8867-4"} {
		t.Run(ine, func(t *testing.T) {
			e, res, body := createWithIfNoneExist(t, ine)
			require.Equal(t, 201, res.StatusCode, "body: %s", body)
			got, err := url.ParseQuery(lastUpstream(t, e).Header.Get("If-None-Exist"))
			require.NoError(t, err)
			assert.Equal(t, url.Values{"code": {"8867-4"}, "patient": {"Patient/p1"}}, got)
		})
	}
}

// The same for the request.ifNoneExist of a Bundle entry.
func TestNarrowedEntryIfNoneExistSpellings(t *testing.T) {
	for _, ine := range []string{"code=8867-4", "?code=8867-4", "Observation?code=8867-4"} {
		t.Run(ine, func(t *testing.T) {
			e := newEnv(t)
			h := bearer(e.token("patient/Observation.crs", naivefhir.Alice))
			h.Set("Content-Type", "application/fhir+json")
			bundle := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":"Observation","ifNoneExist":"` + ine + `"},` +
				`"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}]}`
			res, body := e.request(t, http.MethodPost, "/fhir", h, bundle)
			require.Equal(t, 200, res.StatusCode, "body: %s", body)
			var sent struct {
				Entry []struct {
					Request struct {
						IfNoneExist string `json:"ifNoneExist"`
					} `json:"request"`
				} `json:"entry"`
			}
			require.NoError(t, json.Unmarshal(lastUpstream(t, e).Body, &sent))
			require.Len(t, sent.Entry, 1)
			got, err := url.ParseQuery(sent.Entry[0].Request.IfNoneExist)
			require.NoError(t, err)
			assert.Equal(t, url.Values{"code": {"8867-4"}, "patient": {"Patient/p1"}}, got)
		})
	}
}

// Only the endpoint of the create's own type, as a plain http(s) URL,
// may stand before the query.
func TestIfNoneExistURLRefused(t *testing.T) {
	for _, ine := range []string{
		"http://gw.example/fhir/Patient?code=8867-4",
		"http://gw.example/fhir/XObservation?code=8867-4",
		"ftp://gw.example/fhir/Observation?code=8867-4",
		"http://user@gw.example/fhir/Observation?code=8867-4",
		"http://gw.example/fhir/%4Fbservation?code=8867-4",
		"http:///fhir/Observation?code=8867-4",
		"http://gw.example/fhir/Observation#x?code=8867-4",
	} {
		t.Run(ine, func(t *testing.T) {
			_, res, body := createWithIfNoneExist(t, ine)
			assert.Equal(t, 400, res.StatusCode, "body: %s", body)
		})
	}
}

// createWithIfNoneExist sends Alice's conditional create of an Observation
// with the If-None-Exist header ine.
func createWithIfNoneExist(t *testing.T, ine string) (*env, *http.Response, []byte) {
	t.Helper()
	e := newEnv(t)
	h := bearer(e.token("patient/Observation.crs", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	h.Set("If-None-Exist", ine)
	res, body := e.request(t, http.MethodPost, "/fhir/Observation", h,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
	return e, res, body
}
