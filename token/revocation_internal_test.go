package token

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRevocationCacheEvictsInBatches: a cache kept full of fresh answers
// by many distinct tokens (which any client that can get tokens can
// present) makes room for an eighth of its size at a time, so that the
// sweep over every entry, done under the lock every Revoked call takes,
// runs once per CacheSize/8 new answers instead of on each one.
func TestRevocationCacheEvictsInBatches(t *testing.T) {
	const size = 800
	r := &RevocationIntrospector{
		cfg:   RevocationIntrospectorConfig{CacheTTL: 30 * time.Second, CacheSize: size},
		cache: make(map[[sha256.Size]byte]revocationEntry),
	}
	now := time.Now()
	n := 0
	storeNew := func() {
		var k [sha256.Size]byte
		binary.LittleEndian.PutUint64(k[:], uint64(n))
		n++
		r.store(k, revocationEntry{checked: now, expires: now.Add(time.Hour)}, now)
	}
	for range size {
		storeNew()
	}
	require.Equal(t, size, len(r.cache), "filled, nothing evicted")

	storeNew() // full: makes room for an eighth
	require.Equal(t, size-size/8+1, len(r.cache))
	for i := 1; i < size/8; i++ {
		storeNew()
		require.Equal(t, size-size/8+1+i, len(r.cache), "room left: nothing evicted")
	}
	require.Equal(t, size, len(r.cache))

	// Entries past use go first: when they free enough, nothing else is dropped.
	aged := 0
	for k, e := range r.cache {
		if aged < size/2 {
			e.checked = now.Add(-time.Hour)
			r.cache[k] = e
			aged++
		}
	}
	storeNew()
	require.Equal(t, size/2+1, len(r.cache))
}
