// Package naivefhir is a deliberately naive in-memory FHIR JSON server for
// tests: it returns whatever is asked, ignores authorization and every
// search parameter it does not understand. It is the kind of server a
// gateway must protect, which makes it the right opponent for tests of
// middleware and examples/gateway: whatever private data reaches a client
// through them was stopped by nothing but fhirwarden.
//
//	fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
//	srv := httptest.NewServer(fhir)
//	defer srv.Close()
//
//	res, _ := http.Get(srv.URL + "/fhir/Observation?patient=p1")
//	// a searchset Bundle with p1's Observations, and
//	// http.Get(srv.URL + "/fhir/Observation") returns everyone's.
//	for _, r := range fhir.Requests() { // what the server was asked
//		fmt.Println(r.Method, r.URL)
//	}
//
// Supported: GET [base]/metadata, read, vread (any version is the current
// one), type search (GET and POST _search) with _id, patient, subject,
// performer, category, code, _include, _revinclude, _count and _offset
// (with absolute next/self links built from the request's Host),
// compartment search Patient/id/Type, create, update, delete, batch and
// transaction (not atomic).
//
// The package is internal: Attacks and Leaks are fixtures of this module's
// own tests, tied to Sample's patients, not an API that users should build on.
package naivefhir
