package token

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Why not jwk.Cache: jwx v3's cache (httprc v3) keeps the last good set and
// reads without locks, but it has no refetch-on-unknown-kid shared by
// concurrent callers, no rate limit on Refresh, and would replace a good set
// with an empty one. The key store below does the fetching itself (jwk.Parse
// still parses and validates the keys) so that every one of those rules is
// ours to enforce and test.

const (
	fallbackRefresh = time.Hour        // refresh interval without Cache-Control max-age
	fetchDeadline   = 30 * time.Second // upper bound on any one request, whatever the client
)

// errRateLimited: an on-demand refetch was skipped by the rate limit.
var errRateLimited = errors.New("JWKS refetch rate-limited")

// keyStore holds the current key set: fixed (static keys) or fetched from a
// JWKS URL, refreshed in the background and on demand.
type keyStore struct {
	set atomic.Pointer[keySet] // nil until the first good load

	// Remote only (url == "").
	url             string
	client          *http.Client
	log             *slog.Logger
	now             func() time.Time
	allowed         algSet
	refetchInterval time.Duration
	minRefresh      time.Duration
	maxRefresh      time.Duration
	maxAge          time.Duration // a set older than this is not used
	onLoad          func(*keySet) // called after a new set is stored

	mu          sync.Mutex
	inflight    *fetchCall
	lastAttempt time.Time // start of the last fetch, by the configured clock
	nextRefresh time.Time // when the background loop fetches next (wall clock)
	failStreak  int
	lastErr     string
	lastGood    time.Time
	skipped     int
	wake        chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	fetches     atomic.Uint64
	failures    atomic.Uint64
	rateLimited atomic.Uint64
}

// fetchCall is one fetch, shared by everyone waiting for it.
type fetchCall struct {
	done chan struct{}
	err  error
}

func newStaticKeyStore(set *keySet) *keyStore {
	s := &keyStore{}
	s.set.Store(set)
	return s
}

func newRemoteKeyStore(parent context.Context, url string, cfg *verifierConfig) *keyStore {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &keyStore{
		url:             url,
		client:          cfg.httpClient(),
		log:             cfg.logger,
		now:             cfg.clock,
		allowed:         cfg.algs,
		refetchInterval: cfg.refetchInterval,
		minRefresh:      cfg.minRefresh,
		maxRefresh:      cfg.maxRefresh,
		maxAge:          cmp.Or(cfg.maxKeySetAge, 2*cfg.maxRefresh),
		wake:            make(chan struct{}, 1),
		ctx:             ctx,
		cancel:          cancel,
	}
}

func (s *keyStore) remote() bool { return s.url != "" }

// current returns the current key set (nil if none was ever loaded).
func (s *keyStore) current() *keySet { return s.set.Load() }

// usable returns the key set to verify with at now: the current one,
// unless it was fetched more than maxAge ago (every refresh since failed),
// or nil.
func (s *keyStore) usable(now time.Time) *keySet {
	set := s.set.Load()
	if set != nil && s.maxAge > 0 && now.Sub(set.fetched) > s.maxAge {
		return nil
	}
	return set
}

// start makes the first fetch (waiting for it at most as long as ctx allows)
// and starts the background refresh loop.
func (s *keyStore) start(ctx context.Context) {
	if err := s.refresh(ctx, false); err != nil {
		s.log.Warn("token: initial JWKS fetch failed; tokens are refused with ErrIssuerUnavailable until a fetch succeeds",
			"jwks_uri", s.url, "error", err)
	}
	s.wg.Add(1)
	go s.loop()
}

// close stops the background loop and any fetch in flight.
func (s *keyStore) close() {
	if s.cancel != nil {
		s.mu.Lock() // orders cancel against refresh's check-then-wg.Add
		s.cancel()
		s.mu.Unlock()
		s.wg.Wait()
	}
}

// refetchUnknown is called when a token names a kid the usable set lacks
// (or there is none): it joins the fetch in flight, or starts one unless
// the rate limit says a fetch happened too recently. It returns the set to
// look in afterwards (see usable).
func (s *keyStore) refetchUnknown(ctx context.Context) (*keySet, error) {
	if !s.remote() {
		return s.current(), nil
	}
	err := s.refresh(ctx, true)
	return s.usable(s.now()), err
}

// refresh fetches the key set, or joins the fetch in flight. With onDemand,
// a new fetch is started only if the last one started at least
// refetchInterval ago.
func (s *keyStore) refresh(ctx context.Context, onDemand bool) error {
	s.mu.Lock()
	c := s.inflight
	if c == nil {
		if onDemand && !s.lastAttempt.IsZero() && s.now().Sub(s.lastAttempt) < s.refetchInterval {
			s.mu.Unlock()
			s.rateLimited.Add(1)
			return errRateLimited
		}
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			return errors.New("verifier closed")
		}
		c = &fetchCall{done: make(chan struct{})}
		s.inflight = c
		s.lastAttempt = s.now()
		s.wg.Add(1)
		go s.fetchInto(c, onDemand)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchInto runs one fetch detached from any caller (so that one caller
// giving up does not fail the others) and publishes its outcome.
func (s *keyStore) fetchInto(c *fetchCall, onDemand bool) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, fetchDeadline)
	defer cancel()
	s.fetches.Add(1)
	set, skipped, ttl, err := s.fetch(ctx, s.current(), onDemand)

	s.mu.Lock()
	if err == nil {
		s.set.Store(set)
		if s.onLoad != nil {
			s.onLoad(set)
		}
		s.failStreak, s.lastErr, s.lastGood, s.skipped = 0, "", time.Now(), len(skipped)
		s.nextRefresh = time.Now().Add(ttl)
	} else {
		s.failures.Add(1)
		s.failStreak++
		s.lastErr = err.Error()
		// Retry sooner than a normal refresh, backing off from the refetch interval.
		backoff := s.refetchInterval << min(s.failStreak-1, 10)
		s.nextRefresh = time.Now().Add(min(backoff, s.minRefresh))
	}
	c.err = err
	s.inflight = nil
	s.mu.Unlock()
	close(c.done)

	select { // reschedule the background loop
	case s.wake <- struct{}{}:
	default:
	}
	if err != nil {
		s.log.Warn("token: JWKS fetch failed; keeping the last good key set until it is too old to use",
			"jwks_uri", s.url, "error", err, "keys_kept", s.current().len(), "max_key_set_age", s.maxAge)
		return
	}
	for _, k := range skipped {
		s.log.Warn("token: JWKS key not usable, skipped", "jwks_uri", s.url, "kid", k.kid, "reason", k.reason)
	}
	s.log.Debug("token: JWKS loaded", "jwks_uri", s.url, "keys", set.len(), "next_refresh", ttl)
}

// fetch GETs and parses the JWKS. A set without a single usable key is an
// error: it never replaces a good one. With noCache (a refetch for an
// unknown kid) the request asks caches on the way for a fresh copy: the key
// the token names may be newer than a cached JWKS.
func (s *keyStore) fetch(ctx context.Context, prev *keySet, noCache bool) (*keySet, []skippedKey, time.Duration, error) {
	body, hdr, err := getDocument(ctx, s.client, s.url, maxJWKSBytes, noCache)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("GET JWKS: %w", err)
	}
	// Read as strictly as tokens are before jwx reads it: jwx keeps the
	// last of duplicate members ("use":"enc" then "use":"sig" is a signing
	// key to it) and takes case variants for other members, where another
	// reader would see something else. An ambiguous key set is refused.
	if _, err := decodeJSONObject(string(body)); err != nil {
		return nil, nil, 0, fmt.Errorf("JWKS is not a JSON object without ambiguous members: %w", err)
	}
	parsed, err := jwk.Parse(completeX5C(body), jwk.WithStrictKeySetParsing(false), jwk.WithMaxKeys(maxJWKSKeys))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("JWKS does not parse: %w", err)
	}
	present := parsed.Len()
	leaked := removePrivateKeys(parsed)
	set, skipped := newKeySet(parsed, s.allowed, prev)
	set.fetched = s.now()
	skipped = append(leaked, skipped...)
	if set.len() == 0 {
		return nil, skipped, 0, fmt.Errorf("JWKS has no usable keys (%d present, %d skipped)", present, len(skipped))
	}
	return set, skipped, refreshInterval(hdr.Get("Cache-Control"), s.minRefresh, s.maxRefresh), nil
}

// removePrivateKeys removes from a fetched key set every key that carries
// private key material (any of privateMembers: the RSA primes alone give
// the private exponent), and says why. A key set is published: a private
// key in it can be read by anyone, who can then sign tokens with it, so
// the key proves nothing and is not used, its public half included.
func removePrivateKeys(set jwk.Set) []skippedKey {
	var leaked []jwk.Key
	for i := range set.Len() {
		key, _ := set.Key(i)
		if slices.ContainsFunc(privateMembers[:], key.Has) {
			leaked = append(leaked, key)
		}
	}
	skipped := make([]skippedKey, 0, len(leaked))
	for _, key := range leaked {
		_ = set.RemoveKey(key)
		kid, _ := key.KeyID()
		skipped = append(skipped, skippedKey{kid: kid, reason: "key set publishes private key material: anyone can sign with this key"})
	}
	return skipped
}

// loop refreshes the key set when it is due, until close.
func (s *keyStore) loop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		next := s.nextRefresh
		s.mu.Unlock()
		timer.Reset(max(time.Until(next), 0))
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
			_ = s.refresh(s.ctx, false)
		}
	}
}

// refreshInterval derives the next refresh from a Cache-Control header:
// max-age clamped to [lo, hi]; no-store/no-cache mean lo; no max-age means
// fallbackRefresh, clamped.
func refreshInterval(cacheControl string, lo, hi time.Duration) time.Duration {
	d := fallbackRefresh
	for _, dir := range strings.Split(cacheControl, ",") {
		dir = strings.ToLower(strings.TrimSpace(dir))
		switch {
		case dir == "no-store" || dir == "no-cache":
			return lo
		case strings.HasPrefix(dir, "max-age="):
			n, err := strconv.ParseInt(strings.Trim(dir[len("max-age="):], `"`), 10, 64)
			if err == nil && n >= 0 {
				d = time.Duration(min(n, int64(hi/time.Second)+1)) * time.Second
			}
		}
	}
	return min(max(d, lo), hi)
}

// keyStats is the key store's part of Stats.
func (s *keyStore) stats(st *Stats) {
	if s.remote() {
		st.KeysLoaded = s.usable(s.now()).len()
	} else {
		st.KeysLoaded = s.current().len()
	}
	st.JWKSFetches = s.fetches.Load()
	st.JWKSFetchFailures = s.failures.Load()
	st.JWKSRefetchesRateLimited = s.rateLimited.Load()
	s.mu.Lock()
	st.JWKSLastError = s.lastErr
	st.JWKSLastSuccess = s.lastGood
	st.KeysSkipped = s.skipped
	s.mu.Unlock()
}
