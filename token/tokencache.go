package token

import (
	"sync"
	"sync/atomic"
	"time"
)

// tokenCache remembers successful verifications, keyed by the exact token
// string: a hit needs the very same bytes that were verified. It is a
// bounded LRU; each entry expires at min(verified + ttl, exp + leeway), so
// expiry is re-checked on every hit. Only successes are ever stored.
type tokenCache struct {
	ttl time.Duration
	cap int

	mu   sync.Mutex
	m    map[string]*cacheEntry
	head cacheEntry // sentinel of a circular list, most recent first

	hits   atomic.Uint64
	misses atomic.Uint64
}

type cacheEntry struct {
	token      string
	principal  *Principal
	key        *verificationKey // key that verified it (nil for introspection)
	set        *keySet          // the key set key was taken from (nil for a shared secret or introspection)
	deadline   time.Time        // not valid at or after this instant
	prev, next *cacheEntry
}

func newTokenCache(size int, ttl time.Duration) *tokenCache {
	if size <= 0 {
		return nil
	}
	c := &tokenCache{ttl: ttl, cap: size, m: make(map[string]*cacheEntry, min(size, 1024))}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// get returns the live entry for token, or nil. Expired entries are removed.
func (c *tokenCache) get(token string, now time.Time) *cacheEntry {
	c.mu.Lock()
	e := c.m[token]
	if e == nil {
		c.mu.Unlock()
		c.misses.Add(1)
		return nil
	}
	if !now.Before(e.deadline) {
		c.unlink(e)
		delete(c.m, token)
		c.mu.Unlock()
		c.misses.Add(1)
		return nil
	}
	if c.head.next != e { // move to front
		c.unlink(e)
		c.pushFront(e)
	}
	c.mu.Unlock()
	c.hits.Add(1)
	return e
}

// put stores a verified principal. expiresAt+leeway bounds the entry as does ttl.
func (c *tokenCache) put(token string, p *Principal, key *verificationKey, set *keySet, now time.Time, leeway time.Duration) {
	deadline := now.Add(c.ttl)
	if !p.ExpiresAt.IsZero() {
		if exp := p.ExpiresAt.Add(leeway); exp.Before(deadline) {
			deadline = exp
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[token]; old != nil {
		c.unlink(old)
	}
	e := &cacheEntry{token: token, principal: p, key: key, set: set, deadline: deadline}
	c.m[token] = e
	c.pushFront(e)
	for len(c.m) > c.cap {
		last := c.head.prev
		c.unlink(last)
		delete(c.m, last.token)
	}
}

// remove drops token (used when its signing key left the key set).
func (c *tokenCache) remove(token string) {
	c.mu.Lock()
	if e := c.m[token]; e != nil {
		c.unlink(e)
		delete(c.m, token)
	}
	c.mu.Unlock()
}

// dropKeysNotIn removes every entry whose key is not in set (called after a
// key set reload; entries with no key are kept).
func (c *tokenCache) dropKeysNotIn(set *keySet, keep *verificationKey) {
	c.mu.Lock()
	for tok, e := range c.m {
		if e.key != nil && e.key != keep && !set.contains(e.key) {
			c.unlink(e)
			delete(c.m, tok)
		}
	}
	c.mu.Unlock()
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *tokenCache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *tokenCache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}
