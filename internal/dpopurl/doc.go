// Package dpopurl normalizes the URLs a DPoP proof's htu is compared with
// (RFC 9449 section 4.3, RFC 3986 section 6.2), so that two spellings of
// one URL compare equal and a URL with a query, a fragment, user
// information or no host is refused:
//
//	a, _ := dpopurl.Normalize("HTTPS://FHIR.example.org:443/fhir/Patient/%7e1")
//	b, _ := dpopurl.Normalize("https://fhir.example.org/fhir/Patient/~1")
//	a == b // true: "https://fhir.example.org/fhir/Patient/~1"
//	_, err := dpopurl.Normalize("https://fhir.example.org/fhir?x=1") // err != nil
//
// The token package compares a proof's htu with the request URL this
// way; the middleware checks its configured external URL with it.
package dpopurl
