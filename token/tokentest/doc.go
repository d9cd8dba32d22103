// Package tokentest provides an in-process OAuth2 issuer for tests, as
// net/http/httptest provides servers: discovery, JWKS (RSA and EC keys), a
// client_credentials token endpoint, introspection, token minting, key
// rotation, fault injection and request recording.
//
//	iss := tokentest.NewIssuer(tokentest.WithClient("app", "s3cret", "user/Patient.read"))
//	defer iss.Close()
//
//	tok := iss.Mint(map[string]any{"sub": "app", "scope": "user/Patient.read"})
//	// verify tok against iss.JWKSURL() / iss.DiscoveryURL(), issuer iss.URL,
//	// audience iss.Audience() (tokentest.DefaultAudience)
//
//	iss.FailJWKS(http.StatusInternalServerError) // the IdP is down
//	iss.RotateKeys(true)                         // new keys, old ones retired
//	n := iss.JWKSFetches()                       // how often verifiers asked
//
// Endpoints below the issuer URL: /oauth2/token (grant_type
// client_credentials; clients authenticate with HTTP Basic,
// client_secret_post or private_key_jwt), /oauth2/jwks, /oauth2/introspect
// (RFC 7662, a registered client's credentials), /oauth2/revoke (RFC 7009),
// /.well-known/openid-configuration and /.well-known/smart-configuration.
// Tokens are RS256 JWTs (typ at+jwt) lasting 90 minutes unless configured
// otherwise.
//
// Helpers that cannot fail in a correct test (Mint, MintWith, AddClient, ...)
// panic on misuse instead of returning errors, as httptest.NewServer does.
package tokentest
