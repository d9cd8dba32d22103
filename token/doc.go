// Package token turns a bearer token into a trusted Principal (who called,
// through which client, with which SMART scopes and launch context), or into
// an error that says exactly what was wrong.
//
//	md, err := token.Discover(ctx, "https://idp.example.com") // {issuer}/.well-known/openid-configuration
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
// introspection; a JWT that fails verification is never handed on.
//
// # What a Verifier checks (RFC 7515, 7519, 8725, 9068, SMART App Launch)
//
//   - The raw token is at most 16 KiB (WithMaxTokenSize), checked before any
//     decoding; it is a JWS compact serialization in strict base64url.
//   - alg is on the allow-list, compared case-sensitively: by default RS256,
//     RS384, ES256 and ES384; PS256/PS384/PS512, RS512, ES512 and EdDSA are
//     opt-in (WithAlgorithms). "none" is never accepted; HS256/384/512 only
//     with WithSharedSecret, and then only with that secret, never with a
//     JWKS key. A key is used only for algorithms its type admits (and its
//     "alg", if the JWK declares one); JWKs without "alg" get theirs inferred
//     from key type and curve, never skipped silently.
//   - Keys come only from the configured key set: jwk, jku, x5u and x5c
//     headers are ignored and never fetched. kid is an opaque lookup key.
//     A token without kid is accepted only if exactly one key fits its alg.
//   - Any "crit" header is rejected (no extensions are supported); with
//     WithRequireATJWT, typ must be "at+jwt".
//   - iss equals the configured issuer exactly; aud (string or array)
//     contains the configured audience; exp is required; exp, nbf and iat
//     are checked with one leeway (default 60 s, WithLeeway).
//   - scope (a space-separated string) or scp (an array or a string) is
//     parsed with package scope in strict mode: one malformed scope rejects
//     the token (ErrScope). WithLenientScopes keeps the valid ones instead.
//     client_id falls back to azp; patient, encounter and fhirUser become
//     the launch context. Claims holds every claim.
//   - JSON with duplicate member names is rejected (no "last one wins").
//   - Sender-constrained tokens (a "cnf" claim: mTLS or DPoP bound) are
//     rejected: this package checks no proof of possession, and accepting
//     them as bearer tokens would undo the binding.
//
// # Keys
//
// A JWKS URL is fetched when the Verifier is built and refreshed in the
// background as its Cache-Control max-age says, within bounds (default
// 5 min to 24 h, WithRefreshBounds). A token with an unknown kid triggers a
// refetch, shared by all concurrent callers and rate-limited (default at
// most one per 10 s, WithRefetchInterval): a flood of random kids costs the
// identity provider at most one request per interval. When a fetch fails
// (error status, timeout, garbage, or a 200 without a usable key), the last
// good key set keeps serving; the failure is logged (slog) and counted
// (Verifier.Stats). Tokens with unknown kids then get ErrUnknownKey (401);
// only a Verifier that never loaded a key set answers ErrIssuerUnavailable
// (503). Close stops the background refresh.
//
// # Verified-token cache
//
// Successful verifications are cached by the exact token string: bounded
// by memory (default 64 MB, about 25,000 typical tokens; WithTokenCacheBytes)
// and by count (WithTokenCache), evicted by W-TinyLFU so that a working set
// larger than the cache still mostly hits, each entry valid at most 5 min and never
// past exp plus leeway, re-checked on every hit (WithTokenCache). Entries
// whose signing key has left the key set are dropped. Failures are never
// cached. A hit returns the same *Principal: Principals are shared and
// read-only.
//
// # Errors
//
// Every error from Authenticate wraps exactly one sentinel (ErrMalformed,
// ErrSignature, ErrUnknownKey, ErrExpired, ErrNotYetValid, ErrIssuer,
// ErrAudience, ErrAlgorithm, ErrInactive, ErrScope, ErrIssuerUnavailable);
// ErrNotJWT refines ErrMalformed. Error texts name what was wrong and never
// contain the token or its decoded parts. ErrIssuerUnavailable means 503;
// all others mean 401.
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
