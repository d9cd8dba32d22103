// Package dpoperr defines the DPoP errors that package token exports as
// token.ErrDPoPNonce and token.ErrReplayUnavailable:
//
//	if errors.Is(err, dpoperr.ErrNonce) { // err is a token.ErrDPoPNonce
//		// answer use_dpop_nonce with a DPoP-Nonce header
//	}
//
// The development authorization server (internal/authserver), which
// token's own tests run through token/tokentest, tells them apart this
// way: importing token would make an import cycle.
package dpoperr
