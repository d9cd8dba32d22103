package fhirauth

import "testing"

// fhir.js (which SMART client-js exposes as client.api in browsers) writes
// a sort as _sort:asc=name or _sort:desc=name, the DSTU2 form that HAPI
// still reads (Constants.PARAM_SORT_ASC, PARAM_SORT_DESC). Those two
// modifiers mean what _sort=name and _sort=-name mean, and their values
// are vetted as _sort's; any other modifier on _sort stays refused.
func TestSortDirectionModifiers(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "_sort:asc under patient scopes", method: "GET", url: "/fhir/Observation?_sort:asc=status&_summary=count", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "_sort:desc under patient scopes", method: "GET", url: "/fhir/Observation?_sort:desc=date", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "_sort:asc under user scopes", method: "GET", url: "/fhir/Observation?_sort:asc=date", scopes: "user/Observation.rs", allow: true},
		{name: "_sort:desc through a chain", method: "GET", url: "/fhir/Observation?_sort:desc=performer:Patient.family", scopes: patientAll, patient: A, status: 400, reason: "chained parameter"},
		{name: "_sort:asc through a chain", method: "GET", url: "/fhir/Observation?_sort:asc=subject.name", scopes: "user/Observation.rs", status: 400, reason: "chained parameter"},
		{name: "_sort with another modifier", method: "GET", url: "/fhir/Observation?_sort:up=date", scopes: patientAll, patient: A, status: 400},
		{name: "_sort:ASC (case variant)", method: "GET", url: "/fhir/Observation?_sort:ASC=date", scopes: patientAll, patient: A, status: 400},
		{name: "_sort:asc in a conditional update", method: "PUT", url: "/fhir/Observation?identifier=x&_sort:asc=date", scopes: "user/Observation.cruds",
			body: `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, status: 400},
	})
}
