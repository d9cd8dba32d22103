package dpopredis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/dpopredis"
)

// A Ring moves the keys of a shard it finds down to the shards still up,
// where the proofs recorded before are not: while a shard is down, a
// proof it remembered would pass as new. The cache refuses instead.
func TestRingShardDownRefusesRatherThanForgets(t *testing.T) {
	addrA, cmdA := startRedisProcess(t)
	addrB, cmdB := startRedisProcess(t)
	ring := redis.NewRing(&redis.RingOptions{
		Addrs:              map[string]string{"a": addrA, "b": addrB},
		HeartbeatFrequency: 20 * time.Millisecond,
		MaxRetries:         -1,
		DialTimeout:        200 * time.Millisecond,
	})
	t.Cleanup(func() { _ = ring.Close() })
	c := dpopredis.New(ring, "fhir:dpop:")
	ctx := context.Background()

	key := "proof-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	seen, err := c.Seen(ctx, key, time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.False(t, seen)
	seen, err = c.Seen(ctx, key, time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.True(t, seen, "a replay is seen while every shard is up")

	// Stop the shard that holds the key; wait until the ring counts it down.
	shard, err := ring.GetShardClientForKey("fhir:dpop:" + key)
	require.NoError(t, err)
	victim := cmdA
	if shard.Options().Addr == addrB {
		victim = cmdB
	}
	require.NoError(t, victim.Process.Kill())
	_ = victim.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for ring.Len() != 1 {
		require.True(t, time.Now().Before(deadline), "the ring never counted the shard down")
		time.Sleep(20 * time.Millisecond)
	}

	seen, err = c.Seen(ctx, key, time.Now().Add(time.Minute))
	require.True(t, err != nil || seen, "a replay must not pass as new while its shard is down (seen %t, err %v)", seen, err)
}
