// Package origin compares URLs by origin (RFC 6454): scheme, host and
// port, an absent port being the scheme's default.
//
//	if !origin.Same(fhirBase, tokenEndpoint) {
//		return errForeign // a shared secret does not go there
//	}
//
// It is the one rule for where credentials may go: the token package
// follows a discovery or key-set redirect only within an origin, and the
// client sends a shared secret only to a discovered token endpoint on the
// FHIR server's own origin, and its access token only there (paging
// links, Client.Authorize).
package origin
