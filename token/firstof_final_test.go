package token_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// acceptAll is a second Authenticator that admits whatever reaches it:
// what FirstOf hands on, it decides.
type acceptAll struct{ calls int }

func (a *acceptAll) Authenticate(context.Context, string) (*token.Principal, error) {
	a.calls++
	return &token.Principal{Subject: "second"}, nil
}

// TestFirstOfFailureWithANotJWTCauseIsFinal: a JWT refused for a reason of
// its own (here: the revocation status is unknown, a fail-closed 503)
// whose error merely carries a not-a-JWT error as its cause (one the
// RevocationChecker met while it worked) is still a JWT refused: FirstOf
// must not hand it on.
func TestFirstOfFailureWithANotJWTCauseIsFinal(t *testing.T) {
	ctx := context.Background()
	_, inner := staticVerifier(t, token.Config{})
	rc := token.RevocationFunc(func(ctx context.Context, _ string, p *token.Principal) (bool, error) {
		// A checker that asks another Authenticator about a token it
		// looked up, and got none back.
		if _, err := inner.Authenticate(ctx, ""); err != nil {
			return false, fmt.Errorf("revocation list: %w", err)
		}
		return false, nil
	})
	rk, v := staticVerifier(t, token.Config{}, token.WithRevocation(rc))
	raw := signAs(t, "RS256", "rsa-1", rk, claimsWith(t, nil))
	_, err := v.Authenticate(ctx, raw)
	require.ErrorIs(t, err, token.ErrIssuerUnavailable, "the Verifier alone fails closed")

	second := &acceptAll{}
	p, err := token.FirstOf(v, second).Authenticate(ctx, raw)
	require.Nil(t, p)
	require.ErrorIs(t, err, token.ErrIssuerUnavailable)
	bp, err := token.FirstOf(v, second).(token.BoundAuthenticator).AuthenticateBound(ctx, raw)
	require.Nil(t, bp)
	require.ErrorIs(t, err, token.ErrIssuerUnavailable)
	require.Zero(t, second.calls, "a JWT the first Authenticator refused reached the second")

	// An opaque token still goes on, also through a caller's wrapping.
	wrapped := wrapErr{v}
	p, err = token.FirstOf(wrapped, second).Authenticate(ctx, "opaque-token")
	require.NoError(t, err)
	require.Equal(t, "second", p.Subject)
}

// wrapErr is a caller's Authenticator that annotates the errors of another.
type wrapErr struct{ token.Authenticator }

func (w wrapErr) Authenticate(ctx context.Context, raw string) (*token.Principal, error) {
	p, err := w.Authenticator.Authenticate(ctx, raw)
	if err != nil {
		return nil, errors.Join(errors.New("tenant gateway"), err)
	}
	return p, nil
}
