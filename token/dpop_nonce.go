package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// NonceSource issues and checks DPoP server nonces (RFC 9449 section 9).
type NonceSource interface {
	// Nonce is the nonce to hand out now (DPoP-Nonce header).
	Nonce(now time.Time) string
	// Valid reports whether a proof's nonce is still accepted.
	Valid(nonce string, now time.Time) bool
}

// NewNonceSource returns a stateless NonceSource: the nonce is an HMAC of
// the current period under secret, and the nonces of the current and the
// previous period are accepted. Replicas given the same secret accept each
// other's nonces. The secret must be at least 32 bytes; period at least a
// second.
func NewNonceSource(secret []byte, period time.Duration) (NonceSource, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("%w: DPoP nonce secret of %d bytes is shorter than 32", ErrConfig, len(secret))
	}
	if period < time.Second {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errors.New("DPoP nonce period is shorter than a second"))
	}
	return &hmacNonces{secret: append([]byte(nil), secret...), period: period}, nil
}

type hmacNonces struct {
	secret []byte
	period time.Duration
}

func (n *hmacNonces) Nonce(now time.Time) string {
	return n.forPeriod(now.UnixNano() / int64(n.period))
}

func (n *hmacNonces) Valid(nonce string, now time.Time) bool {
	p := now.UnixNano() / int64(n.period)
	return hmac.Equal([]byte(nonce), []byte(n.forPeriod(p))) || hmac.Equal([]byte(nonce), []byte(n.forPeriod(p-1)))
}

func (n *hmacNonces) forPeriod(p int64) string {
	mac := hmac.New(sha256.New, n.secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p))
	mac.Write(b[:])
	return b64.EncodeToString(mac.Sum(nil)[:18])
}
