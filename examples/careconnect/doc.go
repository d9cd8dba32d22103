// Command careconnect runs a Care Connect style FHIR server (STU3 by
// default, R4 with -fhir-version R4) with sample data, secured by
// fhirwarden, with an embedded development OAuth2 authorization server and
// a "Security scopes" page. It prints the base URL, the demo clients and a
// copy-and-paste curl sequence at start, and shuts down gracefully on
// SIGINT or SIGTERM.
//
//	go run ./examples/careconnect                       # http://127.0.0.1:8080
//	go run ./examples/careconnect -addr 127.0.0.1:9090 -fhir-version R4
//	go run ./examples/careconnect -clients clients.json  # your own clients
//	go run ./examples/careconnect -issuer https://idp.example.org -audience https://fhir.example.org/fhir
//	go run ./examples/careconnect -issuer https://login.microsoftonline.com/TENANT/v2.0 \
//		-profile https://login.microsoftonline.com/TENANT/v2.0=entra -audience api://fhir-app-id
//
// Flags:
//
//	-addr host:port       listen address (default 127.0.0.1:8080; port 0 picks a free one)
//	-issuer URL           trust this external OAuth2/OpenID issuer (JWKS discovered through
//	                      {issuer}/.well-known/openid-configuration) instead of the embedded one;
//	                      repeat to trust several (a token's iss must match one exactly)
//	-audience URL         accepted "aud" of access tokens; repeatable (default: the server's FHIR base URL)
//	-profile ISSUER=NAME  claim mapping of an -issuer: smart (default), entra, okta, keycloak,
//	                      auth0, ping, or a JSON file (see token.ClaimMapping)
//	-clients FILE         JSON array of clients for the embedded issuer (default: built-in demo clients)
//	-fhir-version V       STU3 (default) or R4
//	-public-url URL       externally visible root URL (default: http:// + the listen address);
//	                      its host is also a name the server answers to
//	-backend-key FILE     where to write the demo backend-service client's private JWK
//	                      (default: in the temporary directory)
//
// A -clients file element: {"client_id": "patient-access", "client_secret":
// "s3cret", "scope": "user/Patient.read", "patient": "1"}; a client with
// "jwks" (public keys) and no secret authenticates with private_key_jwt
// (SMART Backend Services). The file is checked at start against the
// server's policy: a patient/ scope without "patient", an unknown resource
// type, or a scope that grants nothing here is an error naming the client,
// its entry and its line.
//
// Paths: FHIR base /fhir (GET /fhir/metadata and GET
// /fhir/.well-known/smart-configuration are public); the embedded issuer's
// /oauth2/token (client credentials, client authenticated by HTTP Basic),
// /oauth2/jwks and /.well-known/openid-configuration; the scopes page at /,
// which shows each token's claims beside what it may do, in words (GET
// /explain with the token, Bearer or DPoP with its proof, answers
// fhirauth.Policy.Explain as JSON).
// Tokens last 90 minutes. The embedded issuer's tokens are trusted only
// with typ at+jwt and a lifetime of at most 90 minutes plus the clock
// leeway, and a token revoked at /oauth2/revoke is refused (401) from the
// next request on.
//
// Bulk Data export (FHIR Bulk Data Access IG) for system/ scopes: GET
// /fhir/$export, /fhir/Patient/$export or /fhir/Group/{id}/$export with
// Prefer: respond-async (_type, _since) answers 202 with the status URL
// (/bulk/{job}) in Content-Location; polling it answers 202 with
// X-Progress and Retry-After, then the manifest; DELETE cancels. Status
// and files answer only the client that started the export.
//
// The server answers only requests whose Host is an IP address,
// localhost or the -public-url host (others get 421 Misdirected Request),
// so that a web page whose name its owner points at 127.0.0.1 (DNS
// rebinding) cannot read the scopes page, get tokens or read records;
// /healthz and /readyz answer any name. Every answer behind a token
// carries Cache-Control: no-store and X-Content-Type-Options: nosniff.
// The server sends no CORS headers, and its CapabilityStatement says so
// (security.cors false).
//
// The demo backend-service key file is removed on shutdown, and the
// startup text warns when the demo clients' fixed secrets are served on
// a non-loopback address. The exit status is 2 for a usage error, 1 for
// any other failure.
package main
