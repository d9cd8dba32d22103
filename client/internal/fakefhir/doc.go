// Package fakefhir is the FHIR server of the client's tests: an httptest
// server on 127.0.0.1 that answers with a handler and records every
// request it saw.
//
//	srv := fakefhir.New(t, func(w http.ResponseWriter, r *http.Request, n int) {
//		fakefhir.Write(w, http.StatusOK, `{"resourceType":"Patient","id":"1"}`) // n: 1 for the first request
//	})
//	c, _ := client.New(srv.URL, client.StaticToken("t"))
//	...
//	seen := srv.Seen() // method, path, query, headers and body of each request
//
// It imports nothing of package client, so that client's own tests can use it.
package fakefhir
