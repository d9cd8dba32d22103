package token_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// TestExplicitlyTypedOtherJWTsAreRefused: a JWT whose typ says it is
// another kind of token (RFC 8725 3.11: a logout token, a security event,
// a JWT introspection answer addressed to this server, a DPoP proof) is
// not an access token, even when the issuer signed it with its access
// tokens' key and it carries this server's audience; the untyped and
// generic typ values issuers put on access tokens are accepted.
func TestExplicitlyTypedOtherJWTsAreRefused(t *testing.T) {
	rk, _, v := fixedKeys(t)
	ctx := context.Background()
	sign := func(typ any) string {
		h := map[string]any{"alg": "RS256", "kid": "rsa-1"}
		if typ != nil {
			h["typ"] = typ
		}
		return signCompact(mustJSON(t, h), fuzzClaims(), "RS256", rk)
	}
	for _, typ := range []string{
		"logout+jwt", "secevent+jwt", "token-introspection+jwt", "dpop+jwt",
		"application/logout+jwt", "Application/SecEvent+JWT", "LOGOUT+JWT", "x+jwt",
	} {
		raw := sign(typ)
		_, err := v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrMalformed, raw)
		require.Contains(t, err.Error(), "another kind of JWT", typ)
	}
	for _, typ := range []any{nil, "JWT", "jwt", "application/jwt", "at+jwt", "AT+JWT", "application/at+jwt", "JOSE"} {
		_, err := v.Authenticate(ctx, sign(typ))
		require.NoError(t, err, "typ %v", typ)
	}
}
