// Package token turns a bearer token into a trusted Principal (who called,
// through which client, with which SMART scopes and launch context), or into
// an error that says exactly what was wrong.
//
//	md, err := token.DiscoverOpenID(ctx, "https://idp.example.com") // {issuer}/.well-known/openid-configuration
//	if err != nil {
//		return err
//	}
//	v, err := token.NewVerifier(ctx, token.Config{Issuer: md.Issuer, Audience: "https://fhir.example.com/fhir", JWKSURL: md.JWKSURI})
//	if err != nil {
//		return err
//	}
//	defer v.Close()
//	p, err := v.Authenticate(ctx, raw) // errors.Is(err, token.ErrExpired), token.ErrIssuerUnavailable (503), ...
//	ok := err == nil && p.Scopes.Permits(scope.Patient, "Observation", scope.Read) != scope.Denied
//
// # Authenticators
//
// [Authenticator] has two implementations: [Verifier] checks JWT access
// tokens against the issuer's JWKS; [Introspector] asks an RFC 7662
// introspection endpoint (for opaque tokens). [FirstOf] composes them: JWTs
// are verified locally and only tokens that are not JWTs at all go to
// introspection (ErrNotJWT: not three parts, or a first part that is not
// base64url of a JSON object); a JWT that fails verification, its header
// included, is never handed on. An introspection answer must name the
// audience: one without "aud" is refused (ErrAudience), since an
// authorization server that serves several resource servers answers
// "active" for a token meant for any of them; WithAnswersWithoutAudience
// accepts such answers from a server whose tokens are all meant for this
// resource server.
//
// # Several issuers, claim mappings, revocation
//
// [Issuers] trusts several issuers, each through its own Verifier (its own
// key set, algorithms, audiences and [ClaimMapping]); the token's iss
// selects the Verifier before any key is looked up, and an iss that is not
// exactly a trusted issuer is ErrIssuer without a request to anyone.
// Config.Audiences accepts further audiences. A ClaimMapping says where an
// identity provider puts scopes, client id and launch context; [Profile]
// names those of SMART (the default), Microsoft Entra ID, Okta, Keycloak,
// Auth0 and PingFederate, and ParseClaimMapping reads one from JSON.
// WithMaxTokenLifetime refuses tokens valid for longer than the issuer
// issues them. WithRevocation consults a [RevocationChecker] on every use
// of a token; [RevocationIntrospector] asks an RFC 7662 endpoint, with a
// short cache and a bounded stale window, and fails closed past it; an
// answer cached at a time the clock has since stepped back before is not
// used (asked again), so a revocation still takes effect within CacheTTL.
//
//	staff, _ := token.NewVerifier(ctx, token.Config{Issuer: entraIssuer, Audience: aud, JWKSURL: entraJWKS, Claims: token.EntraClaims})
//	portal, _ := token.NewVerifier(ctx, token.Config{Issuer: oktaIssuer, Audience: aud, JWKSURL: oktaJWKS, Claims: token.OktaClaims})
//	auth, _ := token.NewIssuers(staff, portal)
//
// # What a Verifier checks (RFC 7515, 7519, 8725, 9068, SMART App Launch)
//
//   - The raw token is at most 16 KiB (WithMaxTokenSize), checked before any
//     decoding; it is a JWS compact serialization in strict base64url.
//   - alg is on the allow-list, compared case-sensitively: by default RS256,
//     RS384, PS256, PS384, PS512 (FAPI profiles sign with PS256), ES256 and
//     ES384; RS512, ES512 and EdDSA are opt-in (WithAlgorithms). "none" is never accepted; HS256/384/512 only
//     with WithSharedSecret, and then only with that secret, never with a
//     JWKS key. A key is used only for algorithms its type admits (and its
//     "alg", if the JWK declares one); JWKs without "alg" get theirs inferred
//     from key type and curve, never skipped silently.
//   - Keys come only from the configured key set: jwk, jku, x5u and x5c
//     headers are ignored and never fetched. kid is an opaque lookup key.
//     A token without kid is accepted only if exactly one key fits its alg.
//   - Any "crit" header is rejected (no extensions are supported); with
//     WithRequireATJWT, typ must be "at+jwt". Whatever the option, a typ
//     that names another kind of JWT ("logout+jwt", "secevent+jwt",
//     "token-introspection+jwt", any "+jwt" type but at+jwt, RFC 8725
//     3.11) is rejected: the issuer may sign those with the same keys and
//     address them to this server, and their typ says they are no access
//     tokens.
//   - exp is required; exp, nbf and iat are checked with one leeway
//     (default 60 s, WithLeeway).
//   - iss equals the configured issuer exactly; aud (string or array)
//     contains the configured audience or one of Config.Audiences. With
//     WithMaxTokenLifetime, exp - iat (exp - now without iat) is bounded.
//     With WithAllowedClients, the client id (below) is exactly one of
//     the listed ones, byte for byte; a token without one, or with
//     another, is refused (ErrClient) before it is cached.
//   - The scopes are the first present claim of the ClaimMapping's
//     ScopeClaims (SMART: scope, then scp), a space-separated string or an
//     array as the mapping allows, renamed by its ScopeNames rule and
//     parsed with package scope in strict mode: one malformed scope rejects
//     the token (ErrScope). WithLenientScopes keeps the valid ones instead.
//     Whatever the mapping, only a single space separates scopes (RFC 6749
//     3.3): a tab, a no-break space or any other byte outside the
//     scope-token characters is part of a malformed scope, and a doubled
//     space an empty one, never a separator; an array element that is
//     empty or holds a space rejects the token even in lenient mode.
//     Claims the mapping does not name (roles, permissions, ...) are never
//     read, and its AppOnlyScopeClaims (Entra ID: roles) only from an
//     app-only token (idtyp "app", or without idtyp, oid equal to sub):
//     in a user's token such a claim, read for lack of scp, refuses the
//     token (ErrScope). The client id is the first present of its
//     ClientIDClaims (SMART: client_id, then azp); patient, encounter and
//     fhirUser (or the mapping's claims for them) become the launch
//     context. Principal.Claims decodes every claim on demand from the
//     verified bytes (the token's payload segment), which a Principal
//     keeps instead of a decoded copy.
//   - Header and claims are read more strictly than encoding/json reads
//     them (v1 and v2): duplicate member names are rejected (no "last one
//     wins"), and so are names that differ only by Unicode case folding
//     ("exp" and "EXP", "iss" and "iſs" with U+017F), which a
//     case-insensitive reader would take for one; invalid UTF-8 and lone
//     surrogate escapes are rejected, not replaced by U+FFFD; nesting
//     deeper than 32 levels is rejected. Otherwise a claim set decodes to
//     the values encoding/json gives (FuzzDecodeJSONObjectMatchesV2).
//   - Sender-constrained tokens (a "cnf" claim: DPoP or mTLS bound) are
//     refused by Authenticate (ErrSenderConstrained): accepting them as
//     bearer tokens would undo the binding. DPoPChecker admits DPoP-bound
//     ones with a valid proof (see DPoP below).
//
// # DPoP
//
// DPoPChecker checks DPoP proofs (RFC 9449) and the binding of tokens to
// them. Its Authenticate takes the token, the DPoP header and the request
// (method and the URL the client addressed) and checks, every time, even
// when the verified-token cache answers for the token: typ dpop+jwt; an
// asymmetric alg from the allow-list (DefaultDPoPAlgorithms); a jwk header
// holding a public key only, which verifies the signature; htm; htu after
// RFC 3986 normalization (no query, fragment or user information); iat
// within MaxAge (default 60 s) and Leeway (5 s); ath, the hash of the
// token; the key's RFC 7638 thumbprint against the token's cnf.jkt; a
// server nonce when NonceSource is set; and the jti, recorded in a
// ReplayCache (in memory by default, on the checker's Clock; module
// dpopredis shares one across replicas) until iat + MaxAge + Leeway. The
// jti is recorded after the token is authenticated, so that only proofs
// for valid tokens fill the store; the proof's age is checked again then,
// and a proof that reached iat + MaxAge + Leeway during a slow token check
// is refused, since its first use may already be forgotten. A token
// without cnf.jkt is refused unless AllowUnbound.
// Introspection answers with cnf.jkt are bound the same way.
//
// AuthenticateMTLS admits tokens bound to a TLS client certificate (RFC
// 8705, cnf x5t#S256) over a connection with that certificate.
//
// # Where it refuses what jwx and golang-jwt accept
//
// The header and claim logic is checked differentially against jwx v3's
// jwt.Parse and golang-jwt v5 configured alike (FuzzDifferentialJWT,
// FuzzDifferentialJWTMember): on every token they must agree on accept or
// refuse, and on sub, iss, aud, exp and scope when they accept. The only
// disagreements allowed are these choices, each failing closed:
//
//   - duplicate member names in the header or the claims (both libraries
//     keep the last one), and names equal under Unicode case folding;
//   - nesting deeper than 32 levels;
//   - a "crit" header, whatever its value, and a "b64" header other than
//     true;
//   - a "typ" naming another kind of JWT than an access token;
//   - a "cnf" claim (sender-constrained tokens need a proof of possession);
//   - a scope claim that is not SMART scopes in the shape the issuer's
//     ClaimMapping allows;
//   - client_id, azp, patient, encounter, fhirUser or jti present but not
//     a string;
//   - exp, nbf or iat negative or after 9999-12-31;
//   - invalid UTF-8, or an escaped lone UTF-16 surrogate, in a string
//     (encoding/json replaces either with U+FFFD).
//
// # Keys
//
// Only signing keys are used: a JWK with "use" other than "sig", key_ops
// without "verify", or kty "oct" is skipped (and logged). So is a fetched
// JWK that carries private key material (d, p, q, dp, dq, qi, oth or k;
// jwx reads RSA primes without d as a public key): a published private key
// lets anyone sign tokens. A fetched key set is read with the strict rules
// of the header and claims first: one with a member named twice, or under
// two case variants ("use":"enc" and "use":"sig", "kid" and "KID", which
// jwx resolves by keeping the last), is a failed fetch. A key published
// only as an X.509 certificate ("x5c" without "n"/"e" or "x"/"y", as some
// identity providers do) is used through the public key of its leaf
// certificate; whenever a JWK has "x5c", the leaf's key must be the JWK's
// key and an "x5t#S256" must be the leaf's SHA-256 thumbprint, or the key
// is skipped with that reason. The chain is not validated: the key set is
// trusted as a whole through the TLS connection it came over.
//
// A JWKS URL is fetched when the Verifier is built and refreshed in the
// background as its Cache-Control max-age says, within bounds (default
// 5 min to 24 h, WithRefreshBounds). A token with an unknown kid triggers a
// refetch (sent with "Cache-Control: no-cache", so that no cache on the way
// answers with the stale set), shared by all concurrent callers and rate-limited (default at
// most one per 10 s, WithRefetchInterval): a flood of random kids costs the
// identity provider at most one request per interval. When a fetch fails
// (error status, timeout, garbage, or a 200 without a usable key), the last
// good key set keeps serving; the failure is logged (slog) and counted
// (Verifier.Stats). Tokens with unknown kids then get ErrUnknownKey (401).
// The last good set serves for a bounded time only (WithMaxKeySetAge,
// default twice the upper refresh bound: 48 h): an identity provider
// withdraws a leaked key by removing it from its JWKS, and whoever can cut
// the verifier off from the JWKS must not keep that key trusted. A
// Verifier that never loaded a key set, or whose set is older than that,
// answers ErrIssuerUnavailable (503), cached tokens included, and
// Stats.KeysLoaded is 0. Close stops the background refresh.
//
// # Verified-token cache
//
// Successful verifications are cached by the exact token string: bounded
// by memory (default 64 MB, about 40,000 typical RS256 tokens of ~1.1 KB;
// WithTokenCacheBytes) and by count (WithTokenCache), evicted by W-TinyLFU
// so that a working set larger than the cache still mostly hits, each
// entry valid at most 5 min and never past exp plus leeway, re-checked on
// every hit (WithTokenCache). A hit also re-checks nbf and iat with the
// leeway, so that after the clock steps back a token not yet valid is
// refused (ErrNotYetValid) as a fresh verification would. Entries
// whose signing key has left the key set are dropped. Failures are never
// cached. A hit returns the same *Principal: Principals are shared and
// read-only.
//
// # Errors
//
// Every error from Authenticate wraps exactly one sentinel (ErrMalformed,
// ErrSignature, ErrUnknownKey, ErrExpired, ErrNotYetValid, ErrIssuer,
// ErrAudience, ErrAlgorithm, ErrInactive, ErrScope, ErrClient,
// ErrIssuerUnavailable); ErrNotJWT refines ErrMalformed. Error texts name
// what was wrong and never contain the token or its decoded parts (a
// client id that is not allowed is named, clipped).
// ErrIssuerUnavailable means 503; all others mean 401.
//
// # Performance
//
// The signature check is done with crypto/rsa, crypto/ecdsa and
// crypto/ed25519 on keys extracted once per JWKS load (jwx parses and
// validates the JWKS; its jws/jwt packages are not on the request path), and
// header and claims are decoded by a small strict JSON decoder, so an
// uncached verification costs little more than the signature check itself
// (see BenchmarkVerify). A cache hit takes well under a microsecond and
// allocates nothing.
package token
