package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// delayedAuth authenticates tokens after moving the clock on by delay: a
// slow revocation endpoint, introspection or JWKS refetch.
type delayedAuth struct {
	*token.Verifier
	clk   *testClock
	delay time.Duration
}

func (d delayedAuth) AuthenticateBound(ctx context.Context, raw string) (*token.Principal, error) {
	d.clk.Advance(d.delay)
	return d.Verifier.AuthenticateBound(ctx, raw)
}

// slowDPoPWorld is a dpopWorld whose checker keeps its default replay
// cache, on the test clock (MaxAge 60 s, Leeway 5 s).
func slowDPoPWorld(t *testing.T) *dpopWorld {
	w := newDPoPWorld(t, token.DPoPConfig{})
	c, err := token.NewDPoPChecker(token.DPoPConfig{Clock: w.clk.Now})
	require.NoError(t, err)
	w.c, w.replays = c, nil
	return w
}

func (w *dpopWorld) authenticateSlowly(proof string, delay time.Duration) error {
	slow := delayedAuth{Verifier: w.v, clk: w.clk, delay: delay}
	_, err := w.c.Authenticate(context.Background(), slow, w.bound, proof, token.ProofRequest{Method: "GET", URL: dpopURL})
	return err
}

// TestDPoPReplayAcrossSlowAuthentication: a replay checked at iat + 58 s
// whose token check takes 8 s would be recorded after its first use's
// entry expired (iat + 65 s) and pass as new. It is refused.
func TestDPoPReplayAcrossSlowAuthentication(t *testing.T) {
	w := slowDPoPWorld(t)
	proof := w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now())
	_, err := w.authenticate(w.bound, proof, "GET", dpopURL)
	require.NoError(t, err)

	w.clk.Advance(58 * time.Second)
	err = w.authenticateSlowly(proof, 8*time.Second)
	require.ErrorIs(t, err, token.ErrDPoPProof)
	require.Contains(t, err.Error(), "expired while the token was checked")
}

// TestDPoPSlowYoungProof: a proof whose token check is slow is still
// accepted while its first use is remembered, and a replay of it is
// refused.
func TestDPoPSlowYoungProof(t *testing.T) {
	w := slowDPoPWorld(t)
	proof := w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now())
	require.NoError(t, w.authenticateSlowly(proof, 8*time.Second))
	err := w.authenticateSlowly(proof, 8*time.Second)
	require.ErrorIs(t, err, token.ErrDPoPProof)
	require.Contains(t, err.Error(), "replay")
}

// TestDPoPSlowProofBoundary: a proof of exactly MaxAge when checked is
// accepted if the token check ends before iat + MaxAge + Leeway, when its
// entry would expire, and refused at that instant.
func TestDPoPSlowProofBoundary(t *testing.T) {
	w := slowDPoPWorld(t)
	for _, tc := range []struct {
		delay time.Duration
		ok    bool
	}{
		{5*time.Second - time.Millisecond, true},
		{5 * time.Second, false},
	} {
		iat := w.clk.Now().Truncate(time.Second) // iat has whole seconds
		proof := w.signer.proof(t, "GET", dpopURL, w.bound, iat)
		w.clk.Advance(iat.Add(60 * time.Second).Sub(w.clk.Now())) // MaxAge: passes the first check
		err := w.authenticateSlowly(proof, tc.delay)
		if tc.ok {
			require.NoError(t, err, "delay %v", tc.delay)
			continue
		}
		require.ErrorIs(t, err, token.ErrDPoPProof, "delay %v", tc.delay)
		require.Contains(t, err.Error(), "expired while the token was checked")
	}
}

// TestDPoPDefaultReplayCacheUsesClock: the default replay cache expires
// entries on the checker's clock. On time.Now, with the checker's clock an
// hour behind, every entry was expired when stored and replays passed.
func TestDPoPDefaultReplayCacheUsesClock(t *testing.T) {
	w := slowDPoPWorld(t)
	w.clk.Advance(-time.Hour)
	w.bound = w.mint(map[string]any{"cnf": map[string]any{"jkt": w.signer.thumbprint(t)}})
	proof := w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now())
	_, err := w.authenticate(w.bound, proof, "GET", dpopURL)
	require.NoError(t, err)
	_, err = w.authenticate(w.bound, proof, "GET", dpopURL)
	require.ErrorIs(t, err, token.ErrDPoPProof)
}

// nobody is a BoundAuthenticator that breaks its contract: no Principal
// and no error.
type nobody struct{ token.Authenticator }

func (nobody) AuthenticateBound(context.Context, string) (*token.Principal, error) { return nil, nil }

// TestDPoPAuthenticatorWithoutPrincipal: a valid proof with an
// Authenticator that answers neither a Principal nor an error is refused
// as an inactive token, not a panic.
func TestDPoPAuthenticatorWithoutPrincipal(t *testing.T) {
	w := slowDPoPWorld(t)
	proof := w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now())
	p, err := w.c.Authenticate(context.Background(), nobody{w.v}, w.bound, proof, token.ProofRequest{Method: "GET", URL: dpopURL})
	require.ErrorIs(t, err, token.ErrInactive)
	require.Nil(t, p)
}
