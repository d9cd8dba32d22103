package token

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultCacheBytes bounds the memory of the verified-token cache: the
// estimated size of the cached tokens and their Principals (see
// WithTokenCacheBytes). An entry costs its token string plus ~520 bytes
// (the entry and its Principal, their own strings, a map slot): 64 MB hold
// ~40,000 typical RS256 SMART access tokens of ~1.1 KB, ~47,500 ES256 ones
// of ~840 bytes (TestTokenCacheEntrySizeMatchesHeap, docs/scale.md).
const DefaultCacheBytes = 64 << 20

// WithTokenCacheBytes bounds the verified-token cache by memory: the
// estimated bytes of the cached token strings and their Principals stay
// under n. Both this bound and WithTokenCache's count apply; whichever is
// reached first evicts. Default DefaultCacheBytes: an entry costs its
// token string plus ~520 bytes, so ~40,000 typical RS256 access tokens of
// ~1.1 KB with a dozen claims (~1.7 KB per entry) fit in it.
func WithTokenCacheBytes(n int64) CommonOption {
	return commonOption(func(c *commonConfig) error {
		if n < 4<<10 || n > 64<<30 {
			return fmt.Errorf("WithTokenCacheBytes: %d is outside [4 KiB, 64 GiB]", n)
		}
		c.cacheBytes = n
		return nil
	})
}

// tokenCache remembers successful verifications, keyed by the exact token
// string: a hit needs the very same bytes that were verified. Each entry
// expires at min(verified + ttl, exp + leeway), re-checked on every hit.
// A hit also re-checks nbf and iat with the same leeway, as a fresh
// verification would: after the clock steps back, a token not yet valid
// is not served from the cache. Only successes are ever stored.
//
// The policy is W-TinyLFU: new entries enter a small FIFO window (1% of
// the bytes); leaving it, an entry enters the main region only if it was
// used more often than the entry it would evict, as counted by a
// frequency sketch. Unlike LRU, a working set larger than the cache does
// not evict everything in turn (round-robin over 1.1x the capacity keeps
// ~90% hits instead of none): the main region holds on to what it has
// until something more frequent turns up. S3-FIFO was the alternative; its
// ghost queue forgets a key before a loop that large comes back to it.
//
// The cache is split into shards by a seeded hash of the token. A hit
// takes its shard's read lock, then marks the entry and counts it in the
// sketch with atomic operations: hits never wait for each other.
type tokenCache struct {
	ttl    time.Duration
	leeway time.Duration // the owner's clock-skew leeway for exp, nbf and iat
	seed   maphash.Seed
	shards []cacheShard
	mask   uint64

	// Expired entries are swept out of every shard every sweepEvery.
	nextSweep  atomic.Int64 // UnixNano
	sweepEvery time.Duration

	hits, misses stripedCount
}

// cacheShard is one independently locked part of the cache.
type cacheShard struct {
	mu         sync.RWMutex
	m          map[string]*cacheEntry
	window     entryList // newest entries, FIFO
	main       entryList // admitted entries, CLOCK order (victim at the front)
	windowMax  int64     // bytes
	windowMaxN int       // entries
	maxBytes   int64     // window and main together
	maxEntries int
	sketch     sketch
	_          [64]byte // keeps neighbouring shards' locks off one cache line
}

// cacheEntry holds its Principal by value: one allocation instead of two
// (352 bytes in all instead of 288 + 112, per the heap measurement of
// TestTokenCacheEntrySizeMatchesHeap).
type cacheEntry struct {
	token      string
	principal  Principal
	key        *verificationKey // key that verified it (nil for introspection)
	set        *keySet          // the key set key was taken from (nil for a shared secret or introspection)
	deadline   int64            // UnixNano: not valid at or after this instant
	hash       uint64
	size       int64
	inMain     bool
	referenced atomic.Bool // hit since the CLOCK hand last passed
	prev, next *cacheEntry
}

// newTokenCache returns a cache of at most size entries and maxBytes
// estimated bytes (0: DefaultCacheBytes), or nil when size is 0. leeway is
// the one its owner verifies exp, nbf and iat with.
func newTokenCache(size int, maxBytes int64, ttl, leeway time.Duration) *tokenCache {
	if size <= 0 {
		return nil
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	// Small caches keep one shard, so that their bound is exact; large
	// ones get up to 16, each with room for at least 256 entries.
	n := 1
	for n < 16 && size/(n*2) >= 256 && maxBytes/int64(n*2) >= 256*typicalEntryBytes {
		n *= 2
	}
	c := &tokenCache{ttl: ttl, leeway: leeway, seed: maphash.MakeSeed(), shards: make([]cacheShard, n), mask: uint64(n - 1), sweepEvery: max(ttl/4, time.Second)}
	for i := range c.shards {
		c.shards[i].init((size+n-1)/n, maxBytes/int64(n), ttl)
	}
	return c
}

// typicalEntryBytes sizes the frequency sketch and the shards: about what
// a SMART access token with a dozen claims costs.
const typicalEntryBytes = 1700

func (s *cacheShard) init(maxEntries int, maxBytes int64, ttl time.Duration) {
	s.m = make(map[string]*cacheEntry)
	s.window.init()
	s.main.init()
	s.maxEntries, s.maxBytes = maxEntries, maxBytes
	s.windowMax, s.windowMaxN = windowBytes(maxBytes), max(maxEntries/100, 1)
	s.sketch.init(min(int64(maxEntries), maxBytes/typicalEntryBytes+1))
}

// windowBytes is the window's share of a shard of maxBytes: 1%, but room
// for at least one typical entry, so that even a small cache serves a
// token from the request after the one that verified it.
func windowBytes(maxBytes int64) int64 { return max(maxBytes/100, typicalEntryBytes) }

// hash picks a token's shard and its counters in the sketch. It reads
// only the token's last 64 bytes, which for a JWS are signature bytes and
// differ between any two tokens; the map compares whole tokens.
func (c *tokenCache) hash(token string) uint64 {
	return maphash.String(c.seed, token[max(len(token)-64, 0):])
}

// get returns the live entry for token, or nil. An expired entry is
// removed, and so is one whose nbf or iat is after now (the clock stepped
// back): a fresh verification would refuse it, and does.
func (c *tokenCache) get(token string, now time.Time) *cacheEntry {
	h := c.hash(token)
	s := &c.shards[h&c.mask]
	s.mu.RLock()
	e := s.m[token]
	s.mu.RUnlock()
	if e == nil {
		c.misses.add(h)
		return nil
	}
	if !beforeDeadline(now, e.deadline) || c.notYetValid(&e.principal, now) {
		s.mu.Lock()
		if s.m[token] == e {
			s.drop(e)
		}
		s.mu.Unlock()
		c.misses.add(h)
		return nil
	}
	if !e.referenced.Load() {
		e.referenced.Store(true)
	}
	s.sketch.add(h)
	c.hits.add(h)
	return e
}

// notYetValid reports whether a fresh verification at now would refuse p
// for its nbf or iat (ErrNotYetValid). Zero times (claim absent) are never
// after now. Two comparisons, no allocation: it runs on every hit.
func (c *tokenCache) notYetValid(p *Principal, now time.Time) bool {
	late := now.Add(c.leeway)
	return late.Before(p.NotBefore) || late.Before(p.IssuedAt)
}

// put stores a copy of a verified principal and returns it: the Principal
// to hand out, shared with every later hit. expiresAt+leeway bounds the
// entry as does ttl.
func (c *tokenCache) put(token string, p *Principal, key *verificationKey, set *keySet, now time.Time) *Principal {
	deadline := now.Add(c.ttl)
	if !p.ExpiresAt.IsZero() {
		if exp := p.ExpiresAt.Add(c.leeway); exp.Before(deadline) {
			deadline = exp
		}
	}
	h := c.hash(token)
	e := &cacheEntry{token: token, principal: *p, key: key, set: set, deadline: unixNano(deadline), hash: h, size: entrySize(token, p)}
	s := &c.shards[h&c.mask]
	s.sketch.add(h) // a verification counts as a use; failures never reach the sketch
	if next := c.nextSweep.Load(); now.UnixNano() >= next && c.nextSweep.CompareAndSwap(next, now.Add(c.sweepEvery).UnixNano()) {
		c.sweep(now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[token]; old != nil {
		s.drop(old)
	}
	s.m[token] = e
	s.window.pushBack(e)
	s.evict(now)
	return &e.principal
}

// unixNano is t as nanoseconds since the epoch, saturated beyond the
// years 1678 and 2262 that an int64 of nanoseconds spans.
func unixNano(t time.Time) int64 {
	switch sec := t.Unix(); {
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case sec <= math.MinInt64/int64(time.Second):
		return math.MinInt64
	}
	return t.UnixNano()
}

// beforeDeadline reports whether now is before deadline (UnixNano).
func beforeDeadline(now time.Time, deadline int64) bool { return unixNano(now) < deadline }

// evict restores the shard's bounds: the window's oldest entries leave it
// and enter the main region if they win admission.
func (s *cacheShard) evict(now time.Time) {
	for s.window.bytes > s.windowMax || s.window.n > s.windowMaxN || s.window.bytes+s.main.bytes > s.maxBytes || len(s.m) > s.maxEntries {
		cand := s.window.front()
		if cand == nil {
			return
		}
		s.window.remove(cand)
		s.admit(cand, now)
	}
}

// admit moves cand into the main region, evicting entries used less often
// than cand; if a victim was used at least as often, cand is dropped.
// Expired victims always go.
func (s *cacheShard) admit(cand *cacheEntry, now time.Time) {
	mainMax := s.maxBytes - s.windowMax
	if cand.size > mainMax {
		delete(s.m, cand.token)
		return
	}
	for s.main.bytes+cand.size > mainMax || len(s.m) > s.maxEntries {
		victim := s.victim()
		if victim == nil {
			break
		}
		if !beforeDeadline(now, victim.deadline) || s.sketch.estimate(cand.hash) > s.sketch.estimate(victim.hash) {
			s.drop(victim)
			continue
		}
		s.main.remove(victim) // it stays; the hand moves past it
		s.main.pushBack(victim)
		delete(s.m, cand.token)
		return
	}
	cand.inMain = true
	s.main.pushBack(cand)
}

// victim is the main region's next candidate for eviction: the CLOCK hand
// gives entries hit since it last passed a second chance.
func (s *cacheShard) victim() *cacheEntry {
	for range s.main.n + 1 {
		e := s.main.front()
		if e == nil || !e.referenced.Load() {
			return e
		}
		e.referenced.Store(false)
		s.main.remove(e)
		s.main.pushBack(e)
	}
	return s.main.front()
}

// drop removes e from the shard.
func (s *cacheShard) drop(e *cacheEntry) {
	if e.inMain {
		s.main.remove(e)
	} else {
		s.window.remove(e)
	}
	delete(s.m, e.token)
}

// sweep drops every expired entry, so that tokens no longer presented do
// not hold memory until the CLOCK hand reaches them.
func (c *tokenCache) sweep(now time.Time) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for _, e := range s.m {
			if !beforeDeadline(now, e.deadline) {
				s.drop(e)
			}
		}
		s.mu.Unlock()
	}
}

// remove drops token (used when its signing key left the key set).
func (c *tokenCache) remove(token string) {
	s := &c.shards[c.hash(token)&c.mask]
	s.mu.Lock()
	if e := s.m[token]; e != nil {
		s.drop(e)
	}
	s.mu.Unlock()
}

// dropKeysNotIn removes every entry whose key is not in set (called after a
// key set reload; entries with no key are kept).
func (c *tokenCache) dropKeysNotIn(set *keySet, keep *verificationKey) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for _, e := range s.m {
			if e.key != nil && e.key != keep && !set.contains(e.key) {
				s.drop(e)
			}
		}
		s.mu.Unlock()
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// bytes is the estimated memory the cached entries hold.
func (c *tokenCache) bytes() int64 {
	var n int64
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.window.bytes + s.main.bytes
		s.mu.RUnlock()
	}
	return n
}

// entryList is a circular doubly linked list with a sentinel.
type entryList struct {
	head  cacheEntry
	n     int
	bytes int64
}

func (l *entryList) init() { l.head.prev, l.head.next = &l.head, &l.head }

func (l *entryList) front() *cacheEntry {
	if l.head.next == &l.head {
		return nil
	}
	return l.head.next
}

func (l *entryList) pushBack(e *cacheEntry) {
	e.next, e.prev = &l.head, l.head.prev
	l.head.prev.next = e
	l.head.prev = e
	l.n++
	l.bytes += e.size
}

func (l *entryList) remove(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	l.n--
	l.bytes -= e.size
}

// sketch is a count-min sketch of 4-bit counters, four per key, packed
// sixteen to a word and updated with atomic operations. After 10 x width
// additions every counter is halved, so that past popularity fades.
type sketch struct {
	table   []atomic.Uint64
	mask    uint64
	added   atomic.Int64
	resetAt int64
}

func (k *sketch) init(entries int64) {
	words := 1 << bits.Len64(uint64(max(entries, 64)-1)) // 16 counters per entry
	k.table = make([]atomic.Uint64, words)
	k.mask = uint64(words - 1)
	k.resetAt = 10 * max(entries, 64)
}

// sketchSeeds spread one hash over the four counters of a key.
var sketchSeeds = [4]uint64{0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb, 0xd6e8feb86659fd93}

func (k *sketch) slot(h uint64, i int) (word uint64, shift uint) {
	x := h * sketchSeeds[i]
	x ^= x >> 29
	return (x >> 8) & k.mask, uint(x&15) * 4
}

func (k *sketch) add(h uint64) {
	for i := range sketchSeeds {
		w, sh := k.slot(h, i)
		for {
			old := k.table[w].Load()
			if (old>>sh)&15 == 15 || k.table[w].CompareAndSwap(old, old+1<<sh) {
				break
			}
		}
	}
	if k.added.Add(1) == k.resetAt {
		k.halve()
		k.added.Add(-k.resetAt / 2)
	}
}

func (k *sketch) estimate(h uint64) uint64 {
	n := uint64(15)
	for i := range sketchSeeds {
		w, sh := k.slot(h, i)
		n = min(n, (k.table[w].Load()>>sh)&15)
	}
	return n
}

func (k *sketch) halve() {
	for i := range k.table {
		for {
			old := k.table[i].Load()
			if k.table[i].CompareAndSwap(old, (old>>1)&0x7777777777777777) {
				break
			}
		}
	}
}

// stripedCount is a counter updated by many goroutines at once: each adds
// to one of several cells (chosen by a hash it already has), so that they
// do not contend for one cache line.
type stripedCount struct {
	cells [8]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

func (s *stripedCount) add(h uint64) { s.cells[(h>>32)&7].n.Add(1) }

// Load is the sum of the cells.
func (s *stripedCount) Load() uint64 {
	var n uint64
	for i := range s.cells {
		n += s.cells[i].n.Load()
	}
	return n
}

// entrySize estimates the memory a cache entry holds: the token string,
// the entry, the Principal and its map slot, the strings only this
// Principal holds (ownBytes), and the claims' text unless it is the
// token's payload segment (an introspection answer). Scope sets are shared
// through the scope memo and counted there. TestTokenCacheEntrySizeMatchesHeap
// checks it against the heap.
func entrySize(token string, p *Principal) int64 {
	n := int64(len(token)) + entryOverhead + int64(p.ownBytes)
	if p.claims != "" && p.claims[0] == '{' {
		n += int64(len(p.claims))
	}
	return n
}

// entryOverhead is what every entry holds besides its strings: the
// cacheEntry with its Principal, a map slot (a string and a pointer in a
// Swiss table between 7/16 and 7/8 full: ~30-60 bytes), and the rounding
// of the token string and the Principal's strings up to the allocator's
// size classes (~60 bytes together for a token of ~1 KB).
const entryOverhead = int64(unsafe.Sizeof(cacheEntry{})) + 40 + 64
