package dpopredis

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fhirwarden/fhirwarden/token"
)

// ReplayCache is a token.ReplayCache in Redis. It is safe for concurrent
// use, by any number of processes sharing the Redis server.
type ReplayCache struct {
	rdb    redis.Cmdable
	prefix string
	shards atomic.Int64 // a Ring's most shards up at once
}

var _ token.ReplayCache = (*ReplayCache)(nil)

// New returns a ReplayCache writing keys prefix+key with rdb (a
// *redis.Client, *redis.ClusterClient or *redis.Ring). The prefix keeps the
// keys apart from others in the same database.
//
// A Ring sends the keys of a shard it finds down to the shards still up,
// where the proofs that shard remembers are not: Seen fails while fewer
// of a Ring's shards are up than its Addrs name or than were ever up at
// once, rather than admit a replay. After removing shards with
// SetAddrs, build a new ReplayCache.
func New(rdb redis.Cmdable, prefix string) *ReplayCache {
	return &ReplayCache{rdb: rdb, prefix: prefix}
}

// Seen records key until expires with SET NX, and reports whether it was
// already there. A Redis error is returned as is: the proof is refused.
func (c *ReplayCache) Seen(ctx context.Context, key string, expires time.Time) (bool, error) {
	// go-redis sends the TTL in whole milliseconds, truncated, and Redis
	// starts it from its clock's whole millisecond: each can cut up to
	// 1 ms off the key's life, and a proof replayed in that last
	// millisecond of its window would find the key gone. Rounding up
	// and adding both back keeps the key at least until expires.
	ttl := time.Until(expires).Truncate(time.Millisecond) + 2*time.Millisecond
	if ttl < 2*time.Millisecond {
		ttl = 2 * time.Millisecond // already at its end: keep it for the shortest time that covers both
	}
	if err := c.ringUp(); err != nil {
		return false, err
	}
	fresh, err := c.rdb.SetNX(ctx, c.prefix+key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("dpopredis: SET NX: %w", err)
	}
	return !fresh, nil
}

// ringUp fails when rdb is a Ring with a shard down.
func (c *ReplayCache) ringUp() error {
	r, ok := c.rdb.(*redis.Ring)
	if !ok {
		return nil
	}
	up := int64(r.Len())
	want := max(int64(len(r.Options().Addrs)), c.shards.Load())
	if up < want {
		return fmt.Errorf("dpopredis: %d of the Redis ring's %d shards are down: the proofs they remember cannot be checked", want-up, want)
	}
	for {
		seen := c.shards.Load()
		if up <= seen || c.shards.CompareAndSwap(seen, up) {
			return nil
		}
	}
}
