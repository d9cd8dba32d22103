package authserver

import (
	"sync"
	"time"
)

// defaultReplayCapacity bounds the number of remembered assertion ids.
const defaultReplayCapacity = 100_000

// replayCache remembers client assertion ids (jti) until the assertion
// expires, so an assertion is accepted at most once. It is bounded: when full
// of unexpired entries it refuses new ones (fail closed) instead of
// forgetting ids that could then be replayed.
type replayCache struct {
	mu       sync.Mutex
	capacity int
	seen     map[string]time.Time // client_id + "\x00" + jti -> assertion exp
}

func newReplayCache(capacity int) *replayCache {
	return &replayCache{capacity: capacity, seen: map[string]time.Time{}}
}

// replayResult is the answer of replayCache.use.
type replayResult uint8

const (
	replayFresh replayResult = iota // first use, now remembered
	replaySeen                      // used before
	replayFull                      // cache full, not remembered
)

// use records key until exp, reporting whether it was seen before.
func (c *replayCache) use(key string, exp, now time.Time) replayResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.seen[key]; ok && now.Before(until) {
		return replaySeen
	}
	if len(c.seen) >= c.capacity {
		for k, until := range c.seen {
			if !now.Before(until) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.capacity {
			return replayFull
		}
	}
	c.seen[key] = exp
	return replayFresh
}
