package fhirapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func statuses(res result) []string {
	var out []string
	for _, e := range entries(res) {
		out = append(out, e["response"].(map[string]any)["status"].(string))
	}
	return out
}

func TestBatchEntriesSucceedOrFailAlone(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	batch := `{"resourceType":"Bundle","type":"batch","entry":[
 {"request":{"method":"GET","url":"Patient/1"}},
 {"request":{"method":"GET","url":"Patient/404"}},
 {"resource":` + newObservation + `,"request":{"method":"POST","url":"Observation"}},
 {"resource":{"resourceType":"Observation","status":"nope","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}},
 {"request":{"method":"GET","url":"Observation?patient=3&category=laboratory"}},
 {"request":{"method":"DELETE","url":"Immunization/imm-3"}},
 {"request":{"method":"GET","url":"http://evil.example/fhir/Patient/1"}},
 {"request":{"method":"GET","url":"Patient/../Observation/obs-lab-2"}},
 {"request":{"method":"PATCH","url":"Patient/1"}},
 {"resource":{"resourceType":"Bundle","type":"batch"},"request":{"method":"POST","url":"Bundle"}}
]}`
	res := a.do(http.MethodPost, "/fhir", fhirJSON, batch)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	a.requireValid(res)
	assert.Equal(t, "batch-response", res.doc["type"])
	assert.Equal(t, []string{"200 OK", "404 Not Found", "201 Created", "400 Bad Request", "200 OK", "204 No Content",
		"400 Bad Request", "400 Bad Request", "400 Bad Request", "400 Bad Request"}, statuses(res))
	es := entries(res)
	assert.Equal(t, "Patient", es[0]["resource"].(map[string]any)["resourceType"])
	assert.Equal(t, "searchset", es[4]["resource"].(map[string]any)["type"])
	assert.NotEmpty(t, es[2]["response"].(map[string]any)["location"])
	assert.Equal(t, "OperationOutcome", es[1]["response"].(map[string]any)["outcome"].(map[string]any)["resourceType"])
	assert.Equal(t, http.StatusGone, a.get("/fhir/Immunization/imm-3").status, "batch entries are applied independently")
}

func TestTransactionResolvesPlaceholders(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059"}},"request":{"method":"POST","url":"Observation"}},
 {"fullUrl":"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059","resource":{"resourceType":"Patient","id":"ignored","gender":"female"},"request":{"method":"POST","url":"Patient"}},
 {"request":{"method":"GET","url":"Patient/1"}},
 {"request":{"method":"DELETE","url":"Procedure/proc-1"}},
 {"resource":{"resourceType":"Patient","id":"2","gender":"other"},"request":{"method":"PUT","url":"Patient/2"}}
]}`
	res := a.do(http.MethodPost, "/fhir", fhirJSON, tx)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	a.requireValid(res)
	assert.Equal(t, "transaction-response", res.doc["type"])
	assert.Equal(t, []string{"201 Created", "201 Created", "200 OK", "204 No Content", "200 OK"}, statuses(res),
		"responses are in entry order")
	es := entries(res)
	obs := es[0]["resource"].(map[string]any)
	pat := es[1]["resource"].(map[string]any)
	assert.NotEqual(t, "ignored", pat["id"])
	assert.Equal(t, "Patient/"+pat["id"].(string), obs["subject"].(map[string]any)["reference"], "urn reference rewritten")
	assert.Equal(t, http.StatusOK, a.get("/fhir/Patient/"+pat["id"].(string)).status)
}

func TestTransactionIsAllOrNothing(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	before := a.get("/fhir/Observation?_summary=count").doc["total"]
	cases := map[string]string{
		"invalid resource": `{"resource":{"resourceType":"Observation","status":"nope","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}`,
		"missing target":   `{"request":{"method":"GET","url":"Patient/404"}}`,
		"stale if-match":   `{"resource":{"resourceType":"Patient","id":"3"},"request":{"method":"PUT","url":"Patient/3","ifMatch":"W/\"7\""}}`,
		"absolute url":     `{"request":{"method":"GET","url":"https://other.example/fhir/Patient/1"}}`,
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			tx := `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":` + newObservation + `,"request":{"method":"POST","url":"Observation"}},
 {"request":{"method":"DELETE","url":"Encounter/enc-2"}},
 {"resource":{"resourceType":"Patient","id":"1","gender":"other"},"request":{"method":"PUT","url":"Patient/1"}},
 ` + bad + `]}`
			res := a.do(http.MethodPost, "/fhir", fhirJSON, tx)
			assert.GreaterOrEqual(t, res.status, 400)
			assert.Equal(t, "OperationOutcome", res.doc["resourceType"])
			assert.Contains(t, diag(res), "entry 3")
			assert.Equal(t, before, a.get("/fhir/Observation?_summary=count").doc["total"], "create rolled back")
			assert.Equal(t, http.StatusOK, a.get("/fhir/Encounter/enc-2").status, "delete rolled back")
			p := a.get("/fhir/Patient/1")
			assert.Equal(t, "female", p.doc["gender"], "update rolled back")
			assert.Equal(t, `W/"1"`, p.header.Get("ETag"))
		})
	}
}

func TestBundleRejects(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	for name, body := range map[string]string{
		"not a bundle":       `{"resourceType":"Patient"}`,
		"collection":         `{"resourceType":"Bundle","type":"collection"}`,
		"entry not an array": `{"resourceType":"Bundle","type":"batch","entry":{}}`,
		"garbage":            `[[[`,
		"too many entries":   `{"resourceType":"Bundle","type":"batch","entry":[` + strings.TrimSuffix(strings.Repeat(`{"request":{"method":"GET","url":"Patient/1"}},`, 1001), ",") + `]}`,
		"duplicate fullUrls": `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			res := a.do(http.MethodPost, "/fhir", fhirJSON, body)
			assert.Equal(t, http.StatusBadRequest, res.status, string(res.body))
		})
	}
}

// A transaction POST of an unknown type with a urn fullUrl is refused with
// 404 naming the entry, and the id assignment ends (a FuzzHandler input).
func TestTransactionUnknownTypeDoesNotHang(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	done := make(chan result, 1)
	go func() {
		done <- a.do(http.MethodPost, "/fhir", fhirJSON, `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Widget"},"request":{"method":"POST","url":"Widget"}}]}`)
	}()
	select {
	case res := <-done:
		assert.Equal(t, http.StatusNotFound, res.status)
		assert.Contains(t, diag(res), "entry 0")
	case <-time.After(10 * time.Second):
		t.Fatal("transaction with an unknown type hangs")
	}
}

// A conditional create under a urn fullUrl is answered as one without:
// a search that matches several resources fails the transaction with
// 412, and one that is no search with 400, rather than creating.
func TestTransactionConditionalCreateWithPlaceholder(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	before := a.get("/fhir/Observation?_summary=count").doc["total"]
	for cond, want := range map[string]int{"category=laboratory": http.StatusPreconditionFailed, "&": http.StatusBadRequest} {
		for _, fullURL := range []string{"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", ""} {
			tx := `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"` + fullURL + `","resource":` + newObservation + `,"request":{"method":"POST","url":"Observation","ifNoneExist":"` + cond + `"}},
 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"related":[{"target":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}}]},"request":{"method":"POST","url":"Observation"}}]}`
			res := a.do(http.MethodPost, "/fhir", fhirJSON, tx)
			assert.Equal(t, want, res.status, "ifNoneExist %q, fullUrl %q: %s", cond, fullURL, res.body)
			assert.Equal(t, before, a.get("/fhir/Observation?_summary=count").doc["total"], "nothing created")
		}
	}
}
