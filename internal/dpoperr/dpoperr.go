package dpoperr

import "errors"

var (
	// ErrNonce is token.ErrDPoPNonce.
	ErrNonce = errors.New("token: DPoP proof needs a fresh server nonce")
	// ErrReplayUnavailable is token.ErrReplayUnavailable.
	ErrReplayUnavailable = errors.New("token: DPoP replay cache unavailable")
)
