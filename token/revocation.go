package token

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// RevocationChecker says whether a token that verified has been revoked
// since it was issued. A Verifier given one (WithRevocation) asks it on
// every use of a token, cache hits included, and refuses a revoked token
// with ErrInactive; when the checker returns an error the token is refused
// with ErrIssuerUnavailable (fail closed: 503).
//
// It is given the raw token as well as its Principal: a checker keyed by
// jti (p.TokenID, p.Issuer, p.ExpiresAt) needs only the Principal, but
// RFC 7662 introspection asks about the token itself.
type RevocationChecker interface {
	Revoked(ctx context.Context, raw string, p *Principal) (bool, error)
}

// RevocationFunc adapts a function to RevocationChecker (e.g. an
// in-process authorization server's revocation list).
type RevocationFunc func(ctx context.Context, raw string, p *Principal) (bool, error)

// Revoked implements RevocationChecker.
func (f RevocationFunc) Revoked(ctx context.Context, raw string, p *Principal) (bool, error) {
	return f(ctx, raw, p)
}

// WithRevocation makes the Verifier ask rc whether each token it accepts
// has been revoked. The verified-token cache still saves the signature
// check; rc decides how fresh its own answers are.
func WithRevocation(rc RevocationChecker) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if rc == nil {
			return errors.New("WithRevocation: nil RevocationChecker")
		}
		c.revocation = rc
		return nil
	})
}

// Revocation-check defaults.
const (
	defaultRevocationCacheTTL  = 30 * time.Second
	defaultRevocationCacheSize = 10000
)

// RevocationIntrospectorConfig configures a RevocationIntrospector.
type RevocationIntrospectorConfig struct {
	// Endpoint is the RFC 7662 introspection endpoint. Required.
	Endpoint string
	// ClientID and ClientSecret authenticate this resource server to the
	// endpoint with HTTP Basic. Required.
	ClientID     string
	ClientSecret string
	// CacheTTL is how long an "active" answer is trusted before the token
	// is introspected again: a revoked token stops working at most this
	// long after its revocation (default 30 s; at most 10 min). A "not
	// active" answer is kept until the token expires.
	CacheTTL time.Duration
	// StaleWindow is how much longer than CacheTTL an "active" answer is
	// still used while the endpoint cannot be reached. Past it, or for a
	// token never introspected, the token is refused (default 0: no stale
	// answers; at most 1 h).
	StaleWindow time.Duration
	// CacheSize bounds the answers kept (default 10,000).
	CacheSize int
}

// RevocationIntrospector is a RevocationChecker that asks an RFC 7662
// introspection endpoint whether a verified JWT is still active, with a
// short, bounded cache of the answers. It is safe for concurrent use.
type RevocationIntrospector struct {
	in    introspection
	cfg   RevocationIntrospectorConfig
	now   func() time.Time
	log   *slog.Logger
	mu    sync.Mutex
	cache map[[sha256.Size]byte]revocationEntry
}

type revocationEntry struct {
	checked time.Time // when the endpoint answered
	revoked bool
	expires time.Time // the token's exp: the entry is useless after it
}

// NewRevocationIntrospector validates cfg. It does no I/O. Of the options,
// those for HTTP, the clock and the logger apply; one that configures
// token validation (WithLeeway, WithLenientScopes, WithMaxTokenSize,
// WithTokenCache, WithAnswersWithoutAudience, WithAllowedClients) is
// refused with ErrConfig, since the Verifier validates and CacheTTL bounds
// this checker's cache.
func NewRevocationIntrospector(cfg RevocationIntrospectorConfig, opts ...IntrospectorOption) (*RevocationIntrospector, error) {
	c, err := newIntrospectorConfig(opts)
	if err != nil {
		return nil, err
	}
	if c.leeway != DefaultLeeway || c.lenient || c.maxTokenSize != DefaultMaxTokenSize || c.cacheSet || c.withoutAudience || c.clients != nil {
		return nil, fmt.Errorf("%w: a RevocationIntrospector takes only the HTTP, clock and logger options", ErrConfig)
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = defaultRevocationCacheTTL
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = defaultRevocationCacheSize
	}
	ic, errs := newIntrospection(cfg.Endpoint, cfg.ClientID, cfg.ClientSecret, &c.httpConfig)
	if cfg.CacheTTL < 0 || cfg.CacheTTL > 10*time.Minute {
		errs = append(errs, fmt.Errorf("CacheTTL %v is outside (0, 10m]", cfg.CacheTTL))
	}
	if cfg.StaleWindow < 0 || cfg.StaleWindow > time.Hour {
		errs = append(errs, fmt.Errorf("StaleWindow %v is outside [0, 1h]", cfg.StaleWindow))
	}
	if cfg.CacheSize < 0 || cfg.CacheSize > 10_000_000 {
		errs = append(errs, fmt.Errorf("CacheSize %d is outside [1, 10000000]", cfg.CacheSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &RevocationIntrospector{
		in:    ic,
		cfg:   cfg,
		now:   c.clock,
		log:   c.logger,
		cache: make(map[[sha256.Size]byte]revocationEntry),
	}, nil
}

// Revoked implements RevocationChecker.
func (r *RevocationIntrospector) Revoked(ctx context.Context, raw string, p *Principal) (bool, error) {
	key := sha256.Sum256([]byte(raw))
	now := r.now()
	r.mu.Lock()
	e, known := r.cache[key]
	r.mu.Unlock()
	if known && (e.revoked || e.fresh(now, r.cfg.CacheTTL)) {
		return e.revoked, nil
	}
	claims, _, err := r.in.introspect(ctx, raw)
	if err != nil {
		if known && e.fresh(now, r.cfg.CacheTTL+r.cfg.StaleWindow) {
			r.log.Warn("token: introspection endpoint unreachable; using a stale revocation answer", "endpoint", r.cfg.Endpoint, "age", now.Sub(e.checked), "error", err)
			return false, nil
		}
		return false, err
	}
	active, _ := claims["active"].(bool)
	r.store(key, revocationEntry{checked: now, revoked: !active, expires: p.ExpiresAt}, now)
	return !active, nil
}

// fresh reports whether the answer is younger than ttl at now. An answer
// from the future (the clock stepped back since) is not: its age is
// unknown, and trusting it would keep a revoked token working for as long
// as the step, not at most ttl.
func (e *revocationEntry) fresh(now time.Time, ttl time.Duration) bool {
	age := now.Sub(e.checked)
	return age >= 0 && age < ttl
}

// store keeps an answer. When the cache is full it drops the entries that
// can no longer be used and, if that leaves it above seven eighths of
// CacheSize, arbitrary ones down to that: a cache kept full by many
// distinct tokens then sweeps its entries, under the lock every Revoked
// call takes, once per CacheSize/8 new answers, not on every one. Dropping
// a "revoked" answer only costs asking again (and refusing if the
// endpoint cannot be asked).
func (r *RevocationIntrospector) store(key [sha256.Size]byte, e revocationEntry, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[key]; !ok && len(r.cache) >= r.cfg.CacheSize {
		for k, old := range r.cache {
			if (!old.expires.IsZero() && now.After(old.expires)) || (!old.revoked && !old.fresh(now, r.cfg.CacheTTL+r.cfg.StaleWindow)) {
				delete(r.cache, k)
			}
		}
		low := r.cfg.CacheSize - max(r.cfg.CacheSize/8, 1)
		for k := range r.cache {
			if len(r.cache) <= low {
				break
			}
			delete(r.cache, k)
		}
	}
	r.cache[key] = e
}
