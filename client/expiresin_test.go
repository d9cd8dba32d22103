package client

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExpiresInNegativeNotReused: a token whose expires_in is negative has
// expired by the server's own account. Every token source treats it as
// x/oauth2 does: the call that fetched it gets it, and it is never
// reused; it is not kept as if it had no expiry.
func TestExpiresInNegativeNotReused(t *testing.T) {
	for _, expiresIn := range []string{`-5`, `"-5"`, `-0.5`, `-9223372036854775808`, `-1e300`} {
		as := newFakeTokenServer(t)
		answerRaw(as, `{"access_token":"tok-1","token_type":"Bearer","expires_in":`+expiresIn+`}`)
		for name, ts := range tokenSources(t, as.URL, nil) {
			tok := mustToken(t, ts)
			assert.False(t, tok.Valid(), "%s, expires_in %s: the token says it has expired", name, expiresIn)
			mustToken(t, ts)
		}
		assert.Equal(t, 4, len(as.Requests()), "expires_in %s: each source asks again", expiresIn)
	}
}

// TestExpiresInAccepted pins what expires_in values mean: seconds as a
// JSON number or a numeric string (PayPal-style), fractions cut, and no
// expiry (the token is kept until the FHIR server refuses it with
// invalid_token) when it is absent, null, zero, not a number, or beyond
// 2^31 seconds, so that no lifetime overflows a time.Duration.
func TestExpiresInAccepted(t *testing.T) {
	for expiresIn, want := range map[string]int64{
		`3600`: 3600, `"3600"`: 3600, `3599.9`: 3599, `"3599.9"`: 3599, `2147483648`: 1 << 31,
		`0`: 0, `null`: 0, `"soon"`: 0, `true`: 0, `{}`: 0, `2147483649`: 0, `1e300`: 0, `"NaN"`: 0, `"Inf"`: 0,
	} {
		tok, err := parseTokenResponse(200, []byte(`{"access_token":"a","token_type":"Bearer","expires_in":`+expiresIn+`}`))
		require.NoError(t, err, expiresIn)
		assert.Equal(t, want, tok.ExpiresIn, expiresIn)
		assert.Equal(t, want == 0, tok.Expiry.IsZero(), expiresIn)
	}
}
