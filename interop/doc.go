// Package interop runs fhirwarden's programs against software nobody here
// wrote: panva's oidc-provider (OpenID Certified, pinned in package.json)
// issues the tokens; examples/careconnect (with -issuer) must accept them and
// enforce their scopes, and examples/fhirctl must obtain them with both client
// authentication methods. token.Introspector asks its RFC 7662 endpoint about
// opaque tokens, which the peer grants for a resource server of their own.
//
//	(cd interop && npm ci)          # the peer: Node.js and oidc-provider
//	go test -v ./interop
//	CI=true go test ./interop        # a missing peer fails instead of skipping
//
// The tests need Node.js and the npm packages of this folder (npm ci). Outside
// CI they are skipped when those are missing; in CI (CI=true) a missing peer is
// a failure, never a silent pass. start.sh starts the same provider by hand.
//
// Without a peer to start, auditevent_test.go has google/fhir's R4 parser
// validate the AuditEvents middleware writes. It sits here rather than in
// middleware so that middleware's benchmarks run with a heap of what they
// measure: google/fhir's message descriptors are 18 MB of live heap that
// the garbage collector marks in every cycle.
//
// The package has no API: it is its tests and this documentation.
package interop
