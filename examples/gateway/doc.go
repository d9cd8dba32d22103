// Command gateway secures a FHIR server you did not write: a reverse proxy
// with fhirwarden's middleware in front of any FHIR server (HAPI, a cloud
// FHIR store, ...).
//
//	go run ./examples/gateway -upstream http://hapi:8080/fhir \
//		-issuer https://idp.example -audience http://127.0.0.1:8081/fhir
//
// Every request needs a bearer token from the issuer, for the audience; the
// gateway decides it with the token's SMART scopes, narrows searches to what
// the caller may see by rewriting the query, checks responses (a resource
// of another patient becomes 404, a search Bundle loses such entries),
// takes batches apart, checks the stored version before patient-context
// writes, and rewrites paging links so that following them goes through
// the gateway, and so is authorized again. The caller's Authorization
// header is not forwarded upstream unless -forward-authorization is given.
//
// Flags:
//
//	-upstream URL            FHIR base URL of the server to protect (required)
//	-issuer URL              OAuth2/OpenID issuer (discovery at {issuer}/.well-known/openid-configuration;
//	                         required; repeat to trust several, matched exactly against a token's iss)
//	-audience URL            accepted "aud" of access tokens (required; repeatable; usually the
//	                         gateway's FHIR base URL)
//	-profile ISSUER=NAME     claim mapping of an -issuer: smart (default), entra, okta, keycloak,
//	                         auth0, ping, or a JSON file (see token.ClaimMapping)
//	-addr host:port          listen address (default 127.0.0.1:8081)
//	-fhir-version STU3|R4    FHIR version of the upstream (default R4)
//	-base /fhir              the gateway's FHIR base path (default /fhir)
//	-shared-types T1,T2      non-patient types patient/ scopes may read (e.g. Practitioner,Organization)
//	-forward-authorization   also send the caller's Authorization header upstream
//	-max-response BYTES      largest upstream response that can be checked (default 16 MiB)
package main
