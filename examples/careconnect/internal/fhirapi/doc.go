// Package fhirapi is the FHIR REST API of the careconnect example: an
// http.Handler over a store.Store serving read, vread, create (and
// conditional create), update (and update-as-create, conditional update),
// JSON Patch, delete, instance history, search (GET and POST _search) with
// _include/_revinclude and paging, compartment search, Patient $everything,
// batch and transaction Bundles, and the CapabilityStatement with the SMART
// security extension.
//
//	v, _ := store.NewValidator(fhirversion.STU3)
//	s, _ := store.New(v)
//	api, err := fhirapi.New(s,
//		fhirapi.WithBasePath("/fhir"),
//		fhirapi.WithSecurity(fhirapi.Security{TokenURL: "http://127.0.0.1:8080/oauth2/token"}),
//		fhirapi.WithAccess(accessFromDecision)) // honour the authorization decision natively
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("/fhir/", api)
//
// Authorization is not this package's job: the middleware decides, and the
// handler honours the decision's Access (search filtering inside the store
// query, checks on reads, and checks on both the stored and the new version
// of every write).
package fhirapi
