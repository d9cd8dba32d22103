package token

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
)

var cacheEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// typicalPrincipal has the claims of a SMART access token: a dozen
// members, a ten-scope claim.
func typicalPrincipal(i int) *Principal {
	p := &Principal{
		Issuer: "https://auth.example.org/realms/fhir", Subject: fmt.Sprintf("f3b2c1d0-1234-4abc-9def-%012d", i),
		Audience: []string{"https://fhir.example.org/fhir"},
		TokenID:  fmt.Sprintf("a8f1c2e4-5b6d-4e7f-8a9b-%012d", i), ClientID: "my-smart-app",
		Patient: strconv.Itoa(i), Encounter: "enc-456", FHIRUser: "Practitioner/789",
		claims: "eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5vcmcvcmVhbG1zL2ZoaXIifQ", // in the token
	}
	p.ownStrings(true)
	return p
}

// typicalToken is a token-sized string (an RS256 access token is ~1 KB).
func typicalToken(i int) string {
	s := "." + strconv.Itoa(i)
	return strings.Repeat("x", 974-len(s)) + s
}

// hitRate presents keys in order (rounds times), putting each miss, and
// returns the share of hits after the first round.
func hitRate(c *tokenCache, tokens []string, principals []*Principal, rounds int) float64 {
	hits, total := 0, 0
	for r := range rounds {
		for i, tok := range tokens {
			if c.get(tok, cacheEpoch) != nil {
				if r > 0 {
					hits++
				}
			} else {
				c.put(tok, principals[i], nil, nil, cacheEpoch)
			}
			if r > 0 {
				total++
			}
		}
	}
	return float64(hits) / float64(total)
}

func TestTokenCacheHitRates(t *testing.T) {
	t.Run("20,000 active tokens in the default configuration", func(t *testing.T) {
		n := 20000
		if testing.Short() {
			n = 5000
		}
		c := newTokenCache(DefaultCacheSize, 0, time.Hour, 0)
		toks, ps := make([]string, n), make([]*Principal, n)
		for i := range toks {
			toks[i], ps[i] = typicalToken(i), typicalPrincipal(i)
		}
		rate := hitRate(c, toks, ps, 2)
		require.GreaterOrEqual(t, rate, 0.90, "hit rate")
		require.Equal(t, n, c.len(), "all fit")
		require.LessOrEqual(t, c.bytes(), int64(DefaultCacheBytes))
		t.Logf("%d tokens: %.1f%% hits, %d bytes held (%d per entry)", n, 100*rate, c.bytes(), c.bytes()/int64(n))
	})

	t.Run("round robin over 1.1x the capacity", func(t *testing.T) {
		const capacity = 4000
		for _, bound := range []string{"bytes", "count"} {
			var c *tokenCache
			probe := entrySize(typicalToken(0), typicalPrincipal(0))
			if bound == "bytes" {
				c = newTokenCache(DefaultCacheSize, capacity*(probe+8), time.Hour, 0)
			} else {
				c = newTokenCache(capacity, 1<<40, time.Hour, 0)
			}
			n := capacity * 11 / 10
			toks, ps := make([]string, n), make([]*Principal, n)
			for i := range toks {
				toks[i], ps[i] = typicalToken(i), typicalPrincipal(i)
			}
			rate := hitRate(c, toks, ps, 6)
			require.GreaterOrEqual(t, rate, 0.80, "bound by %s", bound)
			t.Logf("bound by %s: %.1f%% hits with %d of %d entries held", bound, 100*rate, c.len(), n)
		}
	})
}

func TestTokenCacheBounds(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		c := newTokenCache(DefaultCacheSize, 256<<10, time.Hour, 0)
		for i := range 2000 {
			c.put(typicalToken(i), typicalPrincipal(i), nil, nil, cacheEpoch)
			require.LessOrEqual(t, c.bytes(), int64(256<<10))
		}
		require.Greater(t, c.len(), 50)
	})
	t.Run("an entry larger than the cache is not kept", func(t *testing.T) {
		c := newTokenCache(DefaultCacheSize, 8<<10, time.Hour, 0)
		c.put(strings.Repeat("y", 16<<10), typicalPrincipal(1), nil, nil, cacheEpoch)
		require.Zero(t, c.len())
		require.Zero(t, c.bytes())
	})
	t.Run("expired entries do not occupy space", func(t *testing.T) {
		c := newTokenCache(5000, 0, time.Minute, 0)
		for i := range 1000 {
			c.put(typicalToken(i), typicalPrincipal(i), nil, nil, cacheEpoch)
		}
		require.Equal(t, 1000, c.len())
		later := cacheEpoch.Add(time.Minute)
		c.put(typicalToken(5000), typicalPrincipal(5000), nil, nil, later)
		require.Equal(t, 1, c.len(), "the expired entries were swept out")
		require.Equal(t, entrySize(typicalToken(5000), typicalPrincipal(5000)), c.bytes())
		require.NotNil(t, c.get(typicalToken(5000), later))
	})
	t.Run("a deadline past 2262 saturates", func(t *testing.T) {
		c := newTokenCache(10, 0, 290*365*24*time.Hour, 0)
		c.put("far", typicalPrincipal(1), nil, nil, cacheEpoch)
		require.NotNil(t, c.get("far", cacheEpoch.Add(time.Hour)), "an int64 of nanoseconds that overflowed would have expired it")
	})
	t.Run("expired victims give way whatever their frequency", func(t *testing.T) {
		c := newTokenCache(2, 0, time.Hour, 0)
		short := typicalPrincipal(1)
		short.ExpiresAt = cacheEpoch.Add(time.Second)
		c.put("short", short, nil, nil, cacheEpoch)
		for range 10 {
			require.NotNil(t, c.get("short", cacheEpoch))
		}
		later := cacheEpoch.Add(2 * time.Second)
		c.nextSweep.Store(later.Add(time.Hour).UnixNano()) // no sweep: admission must do it
		c.put("a", typicalPrincipal(2), nil, nil, later)
		c.put("b", typicalPrincipal(3), nil, nil, later)
		require.NotNil(t, c.get("a", later))
		require.NotNil(t, c.get("b", later))
	})
}

// TestTokenCacheMatchesModel drives the cache and a slice-based model of
// the same policy with random operations and compares, after each, the
// order of the window and the main region. The model shares the cache's
// frequency sketch (tested on its own), so that what is compared is the
// eviction order alone.
func TestTokenCacheMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		maxEntries := 2 + rng.IntN(30)
		maxBytes := int64(2000 + rng.IntN(20000))
		c := newTokenCache(maxEntries, maxBytes, time.Minute, 0)
		require.Len(t, c.shards, 1)
		s := &c.shards[0]
		m := &cacheModel{maxEntries: maxEntries, maxBytes: maxBytes, windowMax: windowBytes(maxBytes), windowMaxN: max(maxEntries/100, 1), freq: s.sketch.estimate}
		now := cacheEpoch
		for op := range 3000 {
			key := "k" + strconv.Itoa(rng.IntN(3*maxEntries))
			switch r := rng.IntN(10); {
			case r < 5:
				got := c.get(key, now) != nil
				require.Equal(t, m.get(key, now), got, "seed %d op %d: get %s", seed, op, key)
			case r < 9:
				if c.get(key, now) != nil {
					m.get(key, now)
					continue
				}
				m.get(key, now)
				p := &Principal{claims: `{"pad":"` + strings.Repeat("p", rng.IntN(600)) + `"}`}
				if rng.IntN(4) == 0 {
					p.ExpiresAt = now.Add(time.Duration(rng.IntN(30)) * time.Second)
				}
				h := sketchHash(c, key)
				c.put(key, p, nil, nil, now)
				m.put(&modelEntry{key: key, hash: h, size: entrySize(key, p), deadline: deadlineOf(p, now)}, now)
			default:
				now = now.Add(time.Duration(rng.IntN(5)) * time.Second)
			}
			require.Equal(t, m.keys(m.window), listKeys(&s.window), "seed %d op %d: window", seed, op)
			require.Equal(t, m.keys(m.main), listKeys(&s.main), "seed %d op %d: main", seed, op)
		}
	}
}

func deadlineOf(p *Principal, now time.Time) time.Time {
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(now.Add(time.Minute)) {
		return p.ExpiresAt
	}
	return now.Add(time.Minute)
}

func sketchHash(c *tokenCache, key string) uint64 {
	return c.hash(key)
}

func listKeys(l *entryList) []string {
	var out []string
	for e := l.head.next; e != &l.head; e = e.next {
		out = append(out, e.token)
	}
	return out
}

// cacheModel is the policy written as plainly as possible: two slices.
type cacheModel struct {
	window, main []*modelEntry
	maxEntries   int
	maxBytes     int64
	windowMax    int64
	windowMaxN   int
	nextSweep    time.Time
	freq         func(uint64) uint64
}

type modelEntry struct {
	key        string
	hash       uint64
	size       int64
	deadline   time.Time
	referenced bool
}

func (m *cacheModel) keys(l []*modelEntry) []string {
	var out []string
	for _, e := range l {
		out = append(out, e.key)
	}
	return out
}

func (m *cacheModel) find(key string) (*[]*modelEntry, int) {
	for _, l := range []*[]*modelEntry{&m.window, &m.main} {
		for i, e := range *l {
			if e.key == key {
				return l, i
			}
		}
	}
	return nil, -1
}

func (m *cacheModel) get(key string, now time.Time) bool {
	l, i := m.find(key)
	if l == nil {
		return false
	}
	if !now.Before((*l)[i].deadline) {
		*l = slices.Delete(*l, i, i+1)
		return false
	}
	(*l)[i].referenced = true
	return true
}

func bytesOf(l []*modelEntry) (n int64) {
	for _, e := range l {
		n += e.size
	}
	return n
}

func (m *cacheModel) put(e *modelEntry, now time.Time) {
	if !now.Before(m.nextSweep) {
		for _, l := range []*[]*modelEntry{&m.window, &m.main} {
			*l = slices.DeleteFunc(*l, func(x *modelEntry) bool { return !now.Before(x.deadline) })
		}
		m.nextSweep = now.Add(15 * time.Second)
	}
	if l, i := m.find(e.key); l != nil {
		*l = slices.Delete(*l, i, i+1)
	}
	m.window = append(m.window, e)
	count := func() int { return len(m.window) + len(m.main) }
	for len(m.window) > 0 && (bytesOf(m.window) > m.windowMax || len(m.window) > m.windowMaxN || bytesOf(m.window)+bytesOf(m.main) > m.maxBytes || count() > m.maxEntries) {
		cand := m.window[0]
		m.window = m.window[1:]
		m.admit(cand, now, count)
	}
}

func (m *cacheModel) admit(cand *modelEntry, now time.Time, count func() int) {
	mainMax := m.maxBytes - m.windowMax
	if cand.size > mainMax {
		return
	}
	for bytesOf(m.main)+cand.size > mainMax || count()+1 > m.maxEntries {
		if len(m.main) == 0 {
			break
		}
		// The CLOCK hand: referenced entries go to the back, unmarked.
		for k := 0; k <= len(m.main) && m.main[0].referenced; k++ {
			v := m.main[0]
			v.referenced = false
			m.main = append(m.main[1:], v)
		}
		v := m.main[0]
		if !now.Before(v.deadline) || m.freq(cand.hash) > m.freq(v.hash) {
			m.main = m.main[1:]
			continue
		}
		m.main = append(m.main[1:], v)
		return
	}
	m.main = append(m.main, cand)
}

func TestSketch(t *testing.T) {
	var k sketch
	k.init(1000)
	counts := map[uint64]uint64{}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 { // under the reset point (10,000)
		h := rng.Uint64N(500) * 0x9e3779b97f4a7c15
		k.add(h)
		counts[h]++
	}
	over := 0
	for h, n := range counts {
		est := k.estimate(h)
		require.GreaterOrEqual(t, est, min(n, 15), "a count-min sketch never underestimates")
		if est > min(n, 15)+2 {
			over++
		}
	}
	require.Less(t, over, len(counts)/20, "few estimates far above the count")

	h := uint64(12345)
	for range 20 {
		k.add(h)
	}
	require.Equal(t, uint64(15), k.estimate(h), "counters saturate at 15")
	k.halve()
	require.Equal(t, uint64(7), k.estimate(h))
}

func TestTokenCacheConcurrent(t *testing.T) {
	c := newTokenCache(DefaultCacheSize, 512<<10, time.Hour, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 5000 {
				i := rng.IntN(600)
				tok := typicalToken(i)
				if e := c.get(tok, cacheEpoch); e != nil {
					require.Equal(t, tok, e.token)
				} else {
					c.put(tok, typicalPrincipal(i), nil, nil, cacheEpoch)
				}
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, c.bytes(), int64(512<<10))
	n := 0
	for i := range c.shards {
		n += c.shards[i].window.n + c.shards[i].main.n
	}
	require.Equal(t, c.len(), n, "lists and maps agree")
}

// BenchmarkTokenCacheWorkingSet presents n distinct typical tokens in
// random order to the default configuration and reports the hit rate and
// the estimated bytes held: the curve of docs/scale.md. A miss here costs
// only the put; in a verifier it costs a signature verification.
func BenchmarkTokenCacheWorkingSet(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000, 20000, 50000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			toks, ps := make([]string, n), make([]*Principal, n)
			for i := range toks {
				toks[i], ps[i] = typicalToken(i), typicalPrincipal(i)
			}
			c := newTokenCache(DefaultCacheSize, 0, time.Hour, 0)
			rng := rand.New(rand.NewPCG(5, 6))
			for range 2 * n { // warm up
				i := rng.IntN(n)
				if c.get(toks[i], cacheEpoch) == nil {
					c.put(toks[i], ps[i], nil, nil, cacheEpoch)
				}
			}
			hits := 0
			b.ReportAllocs()
			for b.Loop() {
				i := rng.IntN(n)
				if c.get(toks[i], cacheEpoch) != nil {
					hits++
				} else {
					c.put(toks[i], ps[i], nil, nil, cacheEpoch)
				}
			}
			b.ReportMetric(100*float64(hits)/float64(b.N), "hit-%")
			b.ReportMetric(float64(c.bytes())/(1<<20), "MB-held")
		})
	}
}

// BenchmarkScopeClaim is the cost of a token's scope claim of n scopes on
// a verification that misses the token cache: parsed once, then memoized.
func BenchmarkScopeClaim(b *testing.B) {
	for _, n := range []int{1, 10, 100, 400} {
		claim := largeClaim("b", n)
		b.Run(strconv.Itoa(n)+"/parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scope.ParseSet(claim); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(strconv.Itoa(n)+"/memoized", func(b *testing.B) {
			r := &claimRules{memo: &scopeMemo{}}
			claims := map[string]any{"scope": claim}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.scopes(claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
