package fhirapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fhirJSON = "application/fhir+json"

func TestCapabilityStatement(t *testing.T) {
	for _, v := range []fhirversion.Version{fhirversion.STU3, fhirversion.R4} {
		t.Run(v.String(), func(t *testing.T) {
			a := newAPI(t, v)
			res := a.get("/fhir/metadata")
			require.Equal(t, http.StatusOK, res.status)
			a.requireValid(res)
			body := string(res.body)
			assert.Contains(t, body, `"code":"SMART-on-FHIR"`)
			assert.Contains(t, body, `"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"`)
			assert.Contains(t, body, `{"url":"token","valueUri":"http://fhir.test/oauth2/token"}`)
			for _, typ := range []string{"Patient", "Observation", "Immunization", "MedicationStatement"} {
				assert.Contains(t, body, `"type":"`+typ+`"`)
			}
		})
	}
}

func TestReadVReadAndHeaders(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	res := a.get("/fhir/Patient/1")
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, `W/"1"`, res.header.Get("ETag"))
	assert.NotEmpty(t, res.header.Get("Last-Modified"))
	assert.Equal(t, "Patient", res.doc["resourceType"])
	assert.Contains(t, string(res.body), "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Patient-1")

	res = a.get("/fhir/Patient/1/_history/1")
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, `W/"1"`, res.header.Get("ETag"))

	for path, want := range map[string]int{
		"/fhir/Patient/404":             http.StatusNotFound,
		"/fhir/Patient/1/_history/9":    http.StatusNotFound,
		"/fhir/Patient/1/_history/x":    http.StatusNotFound,
		"/fhir/patient/1":               http.StatusNotFound,
		"/fhir/PATIENT/1":               http.StatusNotFound,
		"/fhir/Widget/1":                http.StatusNotFound,
		"/fhir/Patient/bad%20id":        http.StatusBadRequest,
		"/fhir/Patient/..%2F2":          http.StatusBadRequest,
		"/fhir/Patient/%2e%2e":          http.StatusBadRequest,
		"/fhir/Patient//1":              http.StatusBadRequest,
		"/fhir/Patient/1;jsessionid=x":  http.StatusBadRequest,
		"/fhir/Patient/1/$everything/x": http.StatusBadRequest,
		"/fhir/$export":                 http.StatusBadRequest,
		"/fhir/_history":                http.StatusBadRequest,
		"/fhir/Patient/_history":        http.StatusBadRequest,
		"/fhir/Patient/1/$meta":         http.StatusBadRequest,
		"/fhir/Observation/1/Encounter": http.StatusBadRequest,
		"/fhirPatient/1":                http.StatusBadRequest,
	} {
		t.Run(path, func(t *testing.T) {
			res := a.get(path)
			assert.Equal(t, want, res.status, string(res.body))
			assert.Equal(t, "OperationOutcome", res.doc["resourceType"])
		})
	}

	res = a.do(http.MethodGet, "/fhir/Patient/1", "", "", "Accept", "application/fhir+xml")
	assert.Equal(t, http.StatusNotAcceptable, res.status)
	res = a.do(http.MethodGet, "/fhir/Patient/1", "", "", "Accept", "application/fhir+xml, application/fhir+json;q=0.5")
	assert.Equal(t, http.StatusOK, res.status)
}

const newObservation = `{"resourceType":"Observation","status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/1"}}`

func TestCreate(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	res := a.do(http.MethodPost, "/fhir/Observation", fhirJSON, newObservation)
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	id := res.doc["id"].(string)
	assert.Equal(t, base+"/Observation/"+id+"/_history/1", res.header.Get("Location"))
	assert.Equal(t, `W/"1"`, res.header.Get("ETag"))
	assert.Equal(t, http.StatusOK, a.get("/fhir/Observation/"+id).status)

	res = a.do(http.MethodPost, "/fhir/Observation", fhirJSON, newObservation, "Prefer", "return=minimal")
	require.Equal(t, http.StatusCreated, res.status)
	assert.Empty(t, res.body)
	assert.NotEmpty(t, res.header.Get("Location"))

	before := a.get("/fhir/Observation?_summary=count").doc["total"]
	for name, body := range map[string]string{
		"unknown element": `{"resourceType":"Observation","status":"final","code":{"text":"x"},"colour":"red"}`,
		"bad status":      `{"resourceType":"Observation","status":"done","code":{"text":"x"}}`,
		"type mismatch":   `{"resourceType":"Patient"}`,
		"not json":        `{`,
	} {
		t.Run(name, func(t *testing.T) {
			res := a.do(http.MethodPost, "/fhir/Observation", fhirJSON, body)
			assert.Equal(t, http.StatusBadRequest, res.status)
			assert.Equal(t, "OperationOutcome", res.doc["resourceType"])
			a.requireValid(res)
		})
	}
	assert.Equal(t, before, a.get("/fhir/Observation?_summary=count").doc["total"], "nothing stored")

	res = a.do(http.MethodPost, "/fhir/Observation", "text/plain", newObservation)
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)
	res = a.do(http.MethodPost, "/fhir/Observation", "", newObservation)
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)
}

func TestConditionalCreate(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	body := `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000042"}]}`
	cond := "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000042"
	res := a.do(http.MethodPost, "/fhir/Patient", fhirJSON, body, "If-None-Exist", cond)
	require.Equal(t, http.StatusCreated, res.status)
	first := res.doc["id"]
	res = a.do(http.MethodPost, "/fhir/Patient", fhirJSON, body, "If-None-Exist", cond)
	require.Equal(t, http.StatusOK, res.status, "an existing match is returned, not duplicated")
	assert.Equal(t, first, res.doc["id"])
	assert.Equal(t, float64(1), a.get("/fhir/Patient?" + cond + "&_summary=count").doc["total"])

	res = a.do(http.MethodPost, "/fhir/Patient", fhirJSON, body, "If-None-Exist", "gender=female")
	assert.Equal(t, http.StatusPreconditionFailed, res.status, "several matches")
	res = a.do(http.MethodPost, "/fhir/Patient", fhirJSON, body, "If-None-Exist", "favourite=blue")
	assert.Equal(t, http.StatusBadRequest, res.status)
}

func TestUpdate(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	res := a.get("/fhir/Patient/2")
	body := strings.Replace(string(res.body), `"gender":"male"`, `"gender":"other"`, 1)
	res = a.do(http.MethodPut, "/fhir/Patient/2", fhirJSON, body, "If-Match", `W/"1"`)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, `W/"2"`, res.header.Get("ETag"))
	assert.Equal(t, "other", res.doc["gender"])

	res = a.do(http.MethodPut, "/fhir/Patient/2", fhirJSON, body, "If-Match", `W/"1"`)
	assert.Equal(t, http.StatusPreconditionFailed, res.status, "stale version")
	res = a.do(http.MethodPut, "/fhir/Patient/2", fhirJSON, body, "If-Match", `nonsense`)
	assert.Equal(t, http.StatusBadRequest, res.status)
	res = a.do(http.MethodPut, "/fhir/Patient/3", fhirJSON, body)
	assert.Equal(t, http.StatusBadRequest, res.status, "id mismatch")

	res = a.do(http.MethodPut, "/fhir/Patient/new-1", fhirJSON, `{"resourceType":"Patient","id":"new-1"}`)
	assert.Equal(t, http.StatusCreated, res.status, "update as create")
	assert.Equal(t, base+"/Patient/new-1/_history/1", res.header.Get("Location"))

	// Conditional update: one match updates it, no match creates.
	res = a.do(http.MethodPut, "/fhir/Patient?identifier=9990000034", fhirJSON, `{"resourceType":"Patient","gender":"unknown"}`)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, "3", res.doc["id"])
	res = a.do(http.MethodPut, "/fhir/Patient?identifier=0000000000", fhirJSON, `{"resourceType":"Patient","gender":"unknown"}`)
	assert.Equal(t, http.StatusCreated, res.status)
	res = a.do(http.MethodPut, "/fhir/Patient?gender=unknown", fhirJSON, `{"resourceType":"Patient"}`)
	assert.Equal(t, http.StatusPreconditionFailed, res.status)
}

func TestPatchDeleteHistory(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	patch := `[{"op":"replace","path":"/status","value":"amended"}]`
	res := a.do(http.MethodPatch, "/fhir/Observation/obs-lab-1", "application/json-patch+json", patch)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, "amended", res.doc["status"])
	assert.Equal(t, `W/"2"`, res.header.Get("ETag"))

	res = a.do(http.MethodPatch, "/fhir/Observation/obs-lab-1", fhirJSON, patch)
	assert.Equal(t, http.StatusUnsupportedMediaType, res.status)
	res = a.do(http.MethodPatch, "/fhir/Observation/obs-lab-1", "application/json-patch+json",
		`[{"op":"replace","path":"/status","value":"bogus"}]`)
	assert.Equal(t, http.StatusBadRequest, res.status, "patched result must be valid FHIR")
	res = a.do(http.MethodPatch, "/fhir/Observation/obs-lab-1", "application/json-patch+json", patch, "If-Match", `W/"1"`)
	assert.Equal(t, http.StatusPreconditionFailed, res.status)

	res = a.do(http.MethodDelete, "/fhir/Observation/obs-lab-1", "", "")
	require.Equal(t, http.StatusNoContent, res.status)
	assert.Equal(t, http.StatusGone, a.get("/fhir/Observation/obs-lab-1").status)
	assert.Equal(t, http.StatusNotFound, a.do(http.MethodDelete, "/fhir/Observation/nothing", "", "").status)

	res = a.get("/fhir/Observation/obs-lab-1/_history")
	require.Equal(t, http.StatusOK, res.status)
	a.requireValid(res)
	assert.Equal(t, "history", res.doc["type"])
	es := entries(res)
	require.Len(t, es, 3)
	assert.Equal(t, "DELETE", es[0]["request"].(map[string]any)["method"])
	assert.Equal(t, "amended", es[1]["resource"].(map[string]any)["status"])
	assert.Equal(t, "final", es[2]["resource"].(map[string]any)["status"])

	res = a.do(http.MethodDelete, "/fhir/Observation?code=1019071000000109", "", "")
	assert.Equal(t, http.StatusNoContent, res.status, "conditional delete with no (live) match")
	res = a.do(http.MethodDelete, "/fhir/Observation?category=laboratory", "", "")
	assert.Equal(t, http.StatusPreconditionFailed, res.status, "conditional delete with several matches")
}

func TestSearchBundlesAndPaging(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	res := a.get("/fhir/Observation?_count=2")
	require.Equal(t, http.StatusOK, res.status)
	a.requireValid(res)
	assert.Equal(t, "searchset", res.doc["type"])
	assert.Equal(t, float64(6), res.doc["total"])
	assert.Len(t, entries(res), 2)
	var all []string
	all = append(all, entryRefs(res)...)
	for next := link(res, "next"); next != ""; next = link(res, "next") {
		require.True(t, strings.HasPrefix(next, base+"/Observation?"), next)
		res = a.get(strings.TrimPrefix(next, "http://fhir.test"))
		require.Equal(t, http.StatusOK, res.status)
		all = append(all, entryRefs(res)...)
	}
	assert.Len(t, all, 6)
	assert.NotEmpty(t, link(res, "previous"))

	res = a.get("/fhir/Observation?patient=1&category=laboratory")
	assert.Equal(t, []string{"Observation/obs-lab-1"}, entryRefs(res))
	assert.Equal(t, base+"/Observation/obs-lab-1", entries(res)[0]["fullUrl"])

	res = a.get("/fhir/Observation?category=vital-signs&_summary=count")
	assert.Equal(t, float64(3), res.doc["total"])
	assert.Empty(t, entries(res))

	res = a.get("/fhir/Observation?patient=2&_include=Observation:patient")
	assert.ElementsMatch(t, []string{"Observation/obs-lab-2", "Observation/obs-vital-2", "Patient/2"}, entryRefs(res))
	modes := map[string]int{}
	for _, e := range entries(res) {
		modes[e["search"].(map[string]any)["mode"].(string)]++
	}
	assert.Equal(t, map[string]int{"match": 2, "include": 1}, modes)

	res = a.get("/fhir/Patient?_id=3&_revinclude=Immunization:patient&_revinclude=Condition:patient")
	assert.ElementsMatch(t, []string{"Patient/3", "Immunization/imm-3", "Condition/cond-3"}, entryRefs(res))

	res = a.get("/fhir/Patient?name=pat")
	assert.Equal(t, []string{"Patient/3"}, entryRefs(res))
	res = a.get("/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000026")
	assert.Equal(t, []string{"Patient/2"}, entryRefs(res))
	res = a.get("/fhir/Condition?code=http://snomed.info/sct|195967001")
	assert.Equal(t, []string{"Condition/cond-3"}, entryRefs(res))
	res = a.get("/fhir/MedicationRequest?status=active&subject=Patient/1")
	assert.Equal(t, []string{"MedicationRequest/medreq-1"}, entryRefs(res))

	res = a.get("/fhir/Observation?colour=red")
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Contains(t, diag(res), `"colour"`)

	res = a.do(http.MethodPost, "/fhir/Observation/_search?patient=3", "application/x-www-form-urlencoded", "category=laboratory")
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, []string{"Observation/obs-lab-3"}, entryRefs(res))
}

func TestCompartmentAndEverything(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	res := a.get("/fhir/Patient/2/Observation")
	require.Equal(t, http.StatusOK, res.status)
	assert.ElementsMatch(t, []string{"Observation/obs-lab-2", "Observation/obs-vital-2"}, entryRefs(res))
	res = a.get("/fhir/Patient/2/Observation?category=vital-signs")
	assert.Equal(t, []string{"Observation/obs-vital-2"}, entryRefs(res))
	assert.True(t, strings.HasPrefix(link(res, "self"), base+"/Patient/2/Observation?"))
	assert.NotContains(t, link(res, "self"), "patient=")
	res = a.get("/fhir/Patient/2/Observation?patient=1")
	assert.Equal(t, http.StatusBadRequest, res.status, "the compartment cannot be overridden")
	res = a.get("/fhir/Patient/2/Observation?patient=Patient/2,Patient/1")
	assert.Equal(t, http.StatusBadRequest, res.status, "nor widened by an OR-list")
	res = a.get("/fhir/Patient/2/Observation?patient=Patient/2&category=laboratory")
	assert.Equal(t, []string{"Observation/obs-lab-2"}, entryRefs(res), "repeating the compartment patient is harmless")
	res = a.get("/fhir/Patient/2/Practitioner")
	assert.Equal(t, http.StatusBadRequest, res.status)

	res = a.get("/fhir/Patient/1/$everything")
	require.Equal(t, http.StatusOK, res.status)
	a.requireValid(res)
	refs := entryRefs(res)
	assert.Equal(t, "Patient/1", refs[0])
	assert.Len(t, refs, 10)
	for _, r := range refs[1:] {
		assert.True(t, strings.HasSuffix(r, "-1"), "only patient 1's resources: %s", r)
	}
	assert.Equal(t, http.StatusNotFound, a.get("/fhir/Patient/9/$everything").status)
}

func TestR4(t *testing.T) {
	a := newAPI(t, fhirversion.R4)
	res := a.get("/fhir/Condition?clinical-status=active&patient=1")
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	a.requireValid(res)
	assert.Equal(t, []string{"Condition/cond-1"}, entryRefs(res))
	res = a.get("/fhir/Observation?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory")
	assert.Len(t, entryRefs(res), 3)
	res = a.get("/fhir/Immunization/imm-2")
	assert.Contains(t, string(res.body), "UKCore-Immunization")
	res = a.do(http.MethodPost, "/fhir/MedicationStatement", fhirJSON,
		`{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"x"},"subject":{"reference":"Patient/1"},"taken":"y"}`)
	assert.Equal(t, http.StatusBadRequest, res.status, "STU3-only element rejected in R4")
}

func TestBodyLimits(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	huge := `{"resourceType":"Patient","name":[{"text":"` + strings.Repeat("a", 9<<20) + `"}]}`
	res := a.do(http.MethodPost, "/fhir/Patient", fhirJSON, huge)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
	res = a.do(http.MethodGet, "/fhir/Patient?name=%zz", "", "")
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, http.StatusMethodNotAllowed, a.do(http.MethodPost, "/fhir/metadata", fhirJSON, "{}").status)
	assert.Equal(t, http.StatusMethodNotAllowed, a.do(http.MethodGet, "/fhir", "", "").status)
	_ = fmt.Sprint
}
