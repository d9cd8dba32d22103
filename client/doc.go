// Package client is a FHIR REST client that obtains and refreshes its own
// OAuth2 tokens: the other side of the wire from fhirwarden's middleware.
//
//	ts, err := client.ClientCredentials("https://auth.example/oauth2/token",
//		"patient-access", secret, client.WithScopes("user/Patient.read"))
//	if err != nil {
//		return err
//	}
//	c, err := client.New("https://fhir.example/fhir", ts, client.WithFHIRVersion(fhirspec.STU3))
//	if err != nil {
//		return err
//	}
//	res, err := c.Read(ctx, "Patient", "9000000009") // res.Body is the FHIR JSON
//
// # Tokens
//
// Any oauth2.TokenSource works. The package provides ClientCredentials
// (client authenticated by HTTP Basic, the Care Connect default, or with
// WithClientAuth(ClientSecretPost) in the form body), BackendServices (SMART
// Backend Services: a private_key_jwt client assertion signed RS384 or ES384,
// fresh for every token request) and StaticToken. The first two are
// TokenCaches: a token is reused until shortly before it expires
// (WithRefreshSkew), concurrent callers share one token request, and a 401
// answer with error="invalid_token" drops the token and retries the
// request once with a new one. token.DiscoverSMART reads
// {base}/.well-known/smart-configuration to find the token endpoint;
// ServerSupports checks the server offers the chosen grant and client
// authentication, and DiscoveredTokenURL takes the endpoint from it. A
// client secret goes only to a token endpoint the caller vouched for:
// one given to ClientCredentials directly, or one discovered on the FHIR
// base's origin. DiscoveredTokenURL refuses a discovered endpoint on
// another origin for ClientSecretBasic and ClientSecretPost with an error
// wrapping ErrForeignTokenEndpoint, before anything is sent (a client
// assertion names its endpoint, so PrivateKeyJWT takes it from any
// origin). Token requests never follow redirects: a token endpoint
// answering 3xx is an error wrapping ErrUnexpectedResponse, so credentials,
// client assertions and DPoP proofs reach no other URL (a client given to
// WithTokenHTTPClient is copied, not changed).
//
// Both token caches ask for a JSON answer and read it with one parser:
// whatever its Content-Type, a body that is not one JSON object (a
// form-encoded one included), or whose object names a member twice
// (escaped or in another letter case included), is refused with an
// *OAuthError wrapping ErrUnexpectedResponse, and one over 1 MiB with one
// wrapping ErrResponseTooLarge. A token whose expires_in is absent or not
// a positive number of seconds (a numeric string counts) is kept until a
// 401 drops it; one whose expires_in is negative is never reused.
//
// Every token is held to one token_type rule before it is cached or
// sent, whatever source it comes from (a source the caller built, such as
// an x/oauth2 authorization code source, included). Without a DPoP key
// the client sends Bearer tokens: token_type Bearer in any letter case,
// or none (RFC 6749 requires it, but servers in use omit it, and a client
// that sent no proof can only have been issued a bearer token). With a
// key (WithDPoP) it sends DPoP tokens only, and any other type is refused
// with an error wrapping ErrDPoPNotBound. Anything else (DPoP without a
// key, mac, N_A, ...) is refused with an *OAuthError wrapping
// ErrUnexpectedResponse that names the token_type, and nothing is sent to
// the FHIR server. So is an access token that an Authorization header
// cannot carry as it is: one with a byte outside visible ASCII (spaces,
// CR, LF and other control characters, non-ASCII) or over 64 KiB.
//
// # FHIR interactions
//
// Read, VRead, Search (an iterator over pages following next links that stay
// under the base URL, bounded by a page limit), Create (conditional with
// IfNoneExist), Update (IfMatch), Patch (JSON Patch), Delete, Batch,
// Transaction, Capabilities and Operation. Bodies are raw FHIR JSON.
//
// Package client/typed reads and creates resources as google/fhir/go protos
// of the configured version (STU3 or R4): typed.Read, typed.Create, and
// typed.Codec to convert. It is a separate package because google/fhir/go's
// jsonformat builds about 16 MB of live heap when it is initialised: only
// programs that import client/typed pay for it.
//
// Arguments are validated before anything is sent (resource types, ids,
// header values), so a hostile id cannot change the request path.
//
// # Errors
//
// A non-2xx answer is an *Error with the status and the server's
// OperationOutcome; errors.Is matches it against ErrNotFound, ErrForbidden,
// ErrPreconditionFailed, ... A token endpoint refusal is an *OAuthError
// (errors.Is: ErrInvalidClient, ErrInvalidScope, ...). A response over the
// size limit is a *ResponseTooLargeError.
//
// # Retries
//
// 429 and 503 answers are retried with exponential backoff and jitter,
// waiting what Retry-After asks (seconds or HTTP-date) up to a bound
// (RetryPolicy). POST and PATCH (create, transaction, operations) are never
// retried unless WithRetryNonIdempotent is set; searches are. Every call
// takes a context and stops when it is cancelled.
package client
