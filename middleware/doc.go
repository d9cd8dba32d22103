// Package middleware secures any Go FHIR server (any http.Handler) with
// SMART on FHIR scopes: one line around your router.
//
//	verifier, err := token.NewVerifier(ctx, token.Config{
//		Issuer: "https://idp.example", Audience: "https://fhir.example/fhir",
//		JWKSURL: "https://idp.example/jwks"})
//	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
//	secure, err := middleware.New(verifier, policy)
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /fhir/Patient/{id}", readPatient) // sees middleware.PrincipalFrom(r.Context())
//	http.ListenAndServe(":8080", secure.Wrap(mux))
//
// For every request the middleware:
//
//   - takes the bearer token from the Authorization header only (RFC 6750
//     section 2.1): exactly one header, scheme case-insensitive, size
//     checked before parsing; tokens in the query string are refused (400),
//     in a form body too unless WithFormBodyTokens;
//   - lets public endpoints through, matched exactly by method and escaped
//     path (GET {base}/metadata and GET {base}/.well-known/smart-configuration,
//     plus WithPublicEndpoint);
//   - authenticates the token (token.Authenticator) and decides the FHIR
//     request (fhirauth.Policy.Authorize);
//   - refuses with a FHIR OperationOutcome (application/fhir+json) and an
//     RFC 6750 challenge: 401 error="invalid_token" (no error code when no
//     token was sent), 403 error="insufficient_scope" with the scopes that
//     would do, 400 error="invalid_request"; 503 with Retry-After when the
//     identity provider cannot be reached. The token never appears in a
//     response, a log line or an audit record;
//   - otherwise calls the wrapped handler with the Principal and the
//     Decision in the request context (PrincipalFrom, DecisionFrom), after
//     doing what a server that knows nothing of fhirwarden cannot: narrowing
//     searches by rewriting the query (WithQueryNarrowing), checking the
//     stored version before writes and pinning them to it with If-Match
//     (WithStoredChecks), checking responses
//     (a resource outside the caller's compartment becomes 404 or 403, a
//     search Bundle loses the entries the caller may not see), and taking
//     batches apart (denied entries answered with entry-level errors, the
//     others sent on; an entry whose response is checked goes without
//     request.ifNoneMatch, ifModifiedSince and, but for a write, ifMatch,
//     as a checked request goes without If-None-Match and the like, and
//     under existence hiding an entry withheld, missing or gone is
//     answered with one not-found entry);
//   - writes one AuditRecord (WithAudit; log/slog by default).
//
// Responses that need no check stream straight through. A checked
// search-set Bundle streams too, checked entry by entry as it arrives
// (WithStreamedChecks); one whose check fails after output was sent is
// aborted, never completed. Other checked responses are buffered up to
// WithMaxResponseSize; one that cannot be checked (too large, compressed,
// not FHIR JSON, or in a charset other than UTF-8, which the client would
// decode into other text than was checked; fhirauth.MediaType reads the
// Content-Type, as it does for request bodies) is refused with 502: the
// middleware fails closed. Either
// way a checked response goes without the server's trailers (they would
// arrive after the check, unchecked), and a checked Bundle without its
// Location and Content-Location. A request whose response is checked
// (or a batch or transaction with an entry whose response is) that asks
// for Prefer: respond-async is refused before it reaches the server, with
// 400 not-supported: the result would be served from a polling URL the
// check never sees. The preference counts in every form RFC 7240 allows
// (several Prefer fields, a list, parameters after ";", any case) and
// where a lax server finds it (after ";", in a quoted string); a request
// whose response needs no check, such as a Bulk Data kick-off, keeps the
// header. An answer that holds nothing to check all the same (a 202
// Accepted the server chose itself, a redirect) is refused for a checked
// request, and for a batch or transaction with an entry whose response is
// checked.
//
// SMARTConfigurationHandler serves the SMART App Launch configuration
// document from configuration.
package middleware
