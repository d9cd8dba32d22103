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
//
// It holds its keys and state in memory and is meant for development and
// tests, not production.
package authserver
