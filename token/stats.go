package token

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Verifier's counters, for metrics and health checks.
type Stats struct {
	Verified uint64 // tokens accepted (cache hits included)
	Rejected uint64 // tokens refused

	CacheHits    uint64 // answered from the verified-token cache
	CacheMisses  uint64 // verified afresh
	CacheEntries int    // tokens currently cached
	CacheBytes   int64  // estimated memory of the cached entries, bounded by WithTokenCacheBytes

	KeysLoaded               int       // usable keys in the current key set (0 once it is older than WithMaxKeySetAge)
	KeysSkipped              int       // keys of the last loaded JWKS that could not be used (logged)
	JWKSFetches              uint64    // JWKS requests made
	JWKSFetchFailures        uint64    // requests that failed (the last good key set was kept)
	JWKSRefetchesRateLimited uint64    // unknown-kid refetches suppressed by the rate limit
	JWKSLastSuccess          time.Time // when the key set was last loaded (zero if never)
	JWKSLastError            string    // error of the last fetch, "" if it succeeded
}

// Stats returns the current counters.
func (v *Verifier) Stats() Stats {
	var st Stats
	if v.cache != nil {
		st.CacheHits = v.cache.hits.Load()
		st.CacheMisses = v.cache.misses.Load()
		st.CacheEntries = v.cache.len()
		st.CacheBytes = v.cache.bytes()
	}
	st.Verified = v.verified.load() + st.CacheHits
	st.Rejected = v.rejected.load()
	v.keys.stats(&st)
	return st
}

// stat is a counter.
type stat struct{ n atomic.Uint64 }

func (s *stat) add()         { s.n.Add(1) }
func (s *stat) load() uint64 { return s.n.Load() }
