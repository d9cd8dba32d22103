package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// fetchFunc obtains a fresh token from a token endpoint, every time it is
// called.
type fetchFunc func(ctx context.Context) (*oauth2.Token, error)

// TokenCache is an oauth2.TokenSource that caches the token its token
// endpoint returns and fetches a new one shortly before it expires. Concurrent
// callers share one fetch. The token sources of this package
// (ClientCredentials, BackendServices) are TokenCaches.
//
// A Client that gets a 401 with error="invalid_token" calls Invalidate and
// retries once with a fresh token.
type TokenCache struct {
	fetch        fetchFunc
	now          func() time.Time
	skew         time.Duration
	fetchTimeout time.Duration
	dpop         *DPoPKey // WithDPoP: the key tokens are bound to

	mu       sync.Mutex
	tok      *oauth2.Token
	refresh  time.Time // when to fetch again; zero: never (no expiry)
	inflight *tokenFetch
}

// tokenFetch is one fetch shared by every caller waiting for it.
type tokenFetch struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func newTokenCache(fetch fetchFunc, cfg *tokenConfig) *TokenCache {
	return &TokenCache{fetch: fetch, now: cfg.now, skew: cfg.skew, fetchTimeout: cfg.fetchTimeout, dpop: cfg.dpop}
}

// Token returns the cached token, or fetches a new one. It implements
// oauth2.TokenSource; prefer TokenContext, which can be cancelled.
func (c *TokenCache) Token() (*oauth2.Token, error) {
	return c.TokenContext(context.Background())
}

// TokenContext returns the cached token while it is fresh, else waits for a
// fetch (started by this call or shared with a concurrent one). Cancelling
// ctx stops the wait; a fetch in progress completes (bounded by the fetch
// timeout) and its token is cached for the next caller.
func (c *TokenCache) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	if c.tok != nil && (c.refresh.IsZero() || c.now().Before(c.refresh)) {
		tok := c.tok
		c.mu.Unlock()
		return tok, nil
	}
	f := c.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		c.inflight = f
		go c.run(context.WithoutCancel(ctx), f)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("client: waiting for token: %w", ctx.Err())
	}
}

// run performs one fetch and publishes its result.
func (c *TokenCache) run(ctx context.Context, f *tokenFetch) {
	ctx, cancel := context.WithTimeout(ctx, c.fetchTimeout)
	defer cancel()
	start := c.now()
	tok, err := c.fetch(ctx)
	if err == nil {
		err = checkToken(tok, c.dpop != nil, 0)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight = nil
	if err != nil {
		f.err = err
		close(f.done)
		return
	}
	c.tok = tok
	c.refresh = c.refreshTime(start, tok)
	f.tok = tok
	close(f.done)
}

// refreshTime is when a token fetched at start should be replaced: its
// expiry minus the skew, where the skew is at most half the lifetime so
// short-lived tokens are still reused.
func (c *TokenCache) refreshTime(start time.Time, tok *oauth2.Token) time.Time {
	var lifetime time.Duration
	switch {
	case tok.ExpiresIn > 0:
		lifetime = time.Duration(tok.ExpiresIn) * time.Second
	case !tok.Expiry.IsZero():
		lifetime = tok.Expiry.Sub(time.Now())
	default:
		return time.Time{} // no expiry announced: keep until invalidated
	}
	if lifetime <= 0 {
		return start // already expired: do not reuse
	}
	skew := min(c.skew, lifetime/2)
	return start.Add(lifetime - skew)
}

// Invalidate drops tok from the cache if it is still the cached token, so
// the next call fetches a new one. Invalidating a token that was already
// replaced does nothing, so concurrent failures cause one refresh.
func (c *TokenCache) Invalidate(tok *oauth2.Token) {
	if tok == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.AccessToken == tok.AccessToken {
		c.tok = nil
	}
}
