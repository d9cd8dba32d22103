package token

import (
	"context"
	"errors"
	"sync"
	"time"
)

// defaultReplayCacheSize bounds the in-memory replay cache: at the default
// 60 s window, 100000 proofs is over 1600 requests a second.
const defaultReplayCacheSize = 100_000

// ReplayCache remembers DPoP proofs until they expire. Seen records key
// until expires and reports whether it was already recorded; it must be
// atomic (two concurrent calls with one key: one of them sees it). An error
// refuses the proof (fail closed).
type ReplayCache interface {
	Seen(ctx context.Context, key string, expires time.Time) (bool, error)
}

// errReplayFull: the memory cache holds its maximum of unexpired proofs.
var errReplayFull = errors.New("in-memory replay cache is full")

// MemoryReplayCache is a ReplayCache in the process's memory, bounded and
// expiring. It protects one process: replicas behind a load balancer need
// a shared store. The zero value is not usable; use NewMemoryReplayCache.
type MemoryReplayCache struct {
	mu    sync.Mutex
	max   int
	seen  map[string]time.Time
	order []replayEntry // insertion order, for expiry
	head  int
	now   func() time.Time
}

type replayEntry struct {
	key     string
	expires time.Time
}

// NewMemoryReplayCache returns a cache holding at most size proofs (at
// least 1). When it is full of proofs still in their window, Seen fails
// rather than forget one.
func NewMemoryReplayCache(size int) *MemoryReplayCache {
	return &MemoryReplayCache{max: max(size, 1), seen: make(map[string]time.Time), now: time.Now}
}

// Seen implements ReplayCache.
func (c *MemoryReplayCache) Seen(_ context.Context, key string, expires time.Time) (bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return true, nil
	}
	c.expire(now)
	if len(c.seen) >= c.max && !c.sweep(now) {
		return false, errReplayFull
	}
	c.seen[key] = expires
	c.order = append(c.order, replayEntry{key, expires})
	return false, nil
}

// expire drops entries from the front of the insertion order while they
// have expired. Expiry times are nearly in insertion order (iat plus a
// constant window), so a later entry that expired early waits at most a
// window behind an earlier one.
func (c *MemoryReplayCache) expire(now time.Time) {
	for c.head < len(c.order) && !now.Before(c.order[c.head].expires) {
		e := c.order[c.head]
		if exp, ok := c.seen[e.key]; ok && exp.Equal(e.expires) {
			delete(c.seen, e.key)
		}
		c.order[c.head] = replayEntry{}
		c.head++
	}
	if c.head > len(c.order)/2 && c.head > 64 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}

// sweep drops every expired entry, wherever it is in the insertion order,
// and reports whether that made room. It runs only when the cache is full.
func (c *MemoryReplayCache) sweep(now time.Time) bool {
	kept := c.order[:0]
	for _, e := range c.order[c.head:] {
		if now.Before(e.expires) {
			kept = append(kept, e)
		} else if exp, ok := c.seen[e.key]; ok && exp.Equal(e.expires) {
			delete(c.seen, e.key)
		}
	}
	clear(c.order[len(kept):])
	c.order, c.head = kept, 0
	return len(c.seen) < c.max
}

// Len is the number of proofs remembered.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
