// Package authserver is a development OAuth2 authorization server: the
// embedded issuer of examples/careconnect and the engine of token/tokentest.
//
//	clients, err := authserver.LoadClients(file) // the -clients JSON format
//	if err != nil { ... }
//	as, err := authserver.New(authserver.Config{
//		Issuer:   "http://127.0.0.1:8080",
//		Audience: "http://127.0.0.1:8080/fhir",
//		Clients:  clients,
//	})
//	if err != nil { ... }
//	mux.Handle("/oauth2/", as.Handler())
//	mux.Handle("/.well-known/openid-configuration", as.Handler())
//
// It implements the client_credentials grant only, with the client
// authenticated by HTTP Basic (client_secret_basic, the Care Connect
// default), client_secret_post, or private_key_jwt (SMART Backend Services:
// RS384 or ES384 assertions, iss = sub = client_id, aud = the token URL, exp
// at most 5 minutes ahead, jti never reused). Exactly one method per request.
// Requested scopes are intersected with the client's allowed scopes
// (invalid_scope when nothing is left). Access tokens are RS256 JWTs (typ
// at+jwt, RFC 9068 claims plus scope, client_id, patient and fhirUser),
// lasting 90 minutes by default. It also serves the JWKS, OpenID discovery,
// a SMART configuration, RFC 7662 introspection and RFC 7009 revocation.
// With Config.DPoP, a token request with a DPoP proof gets a token bound
// to its key; a proof without a current server nonce, when the verifier
// requires one, is answered 400 use_dpop_nonce with a DPoP-Nonce header,
// and a replay store that cannot record a proof 503
// temporarily_unavailable (RFC 9449 sections 5 and 8).
//
// It holds its keys and state in memory and is meant for development and
// tests, not production.
package authserver
