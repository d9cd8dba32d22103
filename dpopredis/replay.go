package dpopredis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fhirwarden/fhirwarden/token"
)

// ReplayCache is a token.ReplayCache in Redis. It is safe for concurrent
// use, by any number of processes sharing the Redis server.
type ReplayCache struct {
	rdb    redis.Cmdable
	prefix string
}

var _ token.ReplayCache = (*ReplayCache)(nil)

// New returns a ReplayCache writing keys prefix+key with rdb (a
// *redis.Client, *redis.ClusterClient or *redis.Ring). The prefix keeps the
// keys apart from others in the same database.
func New(rdb redis.Cmdable, prefix string) *ReplayCache {
	return &ReplayCache{rdb: rdb, prefix: prefix}
}

// Seen records key until expires with SET NX, and reports whether it was
// already there. A Redis error is returned as is: the proof is refused.
func (c *ReplayCache) Seen(ctx context.Context, key string, expires time.Time) (bool, error) {
	ttl := time.Until(expires)
	if ttl < time.Millisecond {
		ttl = time.Millisecond // already at its end: keep it for the shortest time Redis can
	}
	fresh, err := c.rdb.SetNX(ctx, c.prefix+key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("dpopredis: SET NX: %w", err)
	}
	return !fresh, nil
}
