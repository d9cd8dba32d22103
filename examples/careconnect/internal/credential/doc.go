// Package credential authenticates the requests careconnect answers
// beside the fhirwarden middleware (the Bulk Data status and file
// endpoints, GET /explain) exactly as the middleware authenticates FHIR
// requests:
//
//	dpop := middleware.DPoPConfig{DPoPConfig: token.DPoPConfig{Replay: replay}, ExternalURL: origin}
//	creds, err := credential.New(auth, &dpop) // and middleware.WithDPoP(dpop)
//	...
//	p, refused := creds.Authenticate(r)
//	if refused != nil {
//		creds.Challenge(w.Header(), "bulk", refused) // then answer refused.Status
//	}
//
// A bearer token is read by middleware.BearerToken; with the
// middleware's DPoP scheme, a DPoP-bound token is read by
// middleware.DPoPToken and its proof checked for the request's own URL
// (middleware.DPoPConfig.ProofURL) and method, against the replay cache
// and nonces the middleware uses, so that a proof is spent once for
// every URL of the server. A token bound to a DPoP key is never taken as
// a bearer token.
package credential
