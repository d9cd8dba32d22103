package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// countingFetch returns tokens "t1", "t2", ... lasting lifetime.
func countingFetch(lifetime time.Duration, calls *atomic.Int64) fetchFunc {
	return func(context.Context) (*oauth2.Token, error) {
		n := calls.Add(1)
		return &oauth2.Token{AccessToken: fmt.Sprintf("t%d", n), TokenType: "Bearer", ExpiresIn: int64(lifetime / time.Second)}, nil
	}
}

func TestTokenCacheRefreshBeforeExpiry(t *testing.T) {
	clk := newFakeClock()
	var calls atomic.Int64
	// Care Connect tokens last 90 minutes; refresh 2 minutes early.
	tc, err := cacheTokens(countingFetch(90*time.Minute, &calls), withClock(clk.Now), WithRefreshSkew(2*time.Minute))
	require.NoError(t, err)

	assert.Equal(t, "t1", mustToken(t, tc).AccessToken)
	clk.Advance(87*time.Minute + 59*time.Second)
	assert.Equal(t, "t1", mustToken(t, tc).AccessToken, "still fresh 2m01s before expiry")
	assert.EqualValues(t, 1, calls.Load())
	clk.Advance(time.Second)
	assert.Equal(t, "t2", mustToken(t, tc).AccessToken, "replaced 2 minutes before expiry")
	assert.EqualValues(t, 2, calls.Load())
	clk.Advance(time.Minute)
	assert.Equal(t, "t2", mustToken(t, tc).AccessToken)
	assert.EqualValues(t, 2, calls.Load())
}

func TestTokenCacheSkewAtMostHalfLifetime(t *testing.T) {
	clk := newFakeClock()
	var calls atomic.Int64
	tc, err := cacheTokens(countingFetch(60*time.Second, &calls), withClock(clk.Now), WithRefreshSkew(5*time.Minute))
	require.NoError(t, err)
	mustToken(t, tc)
	clk.Advance(29 * time.Second)
	mustToken(t, tc)
	assert.EqualValues(t, 1, calls.Load(), "a 60 s token is reused for 30 s even with a 5 min skew")
	clk.Advance(time.Second)
	mustToken(t, tc)
	assert.EqualValues(t, 2, calls.Load())
}

func TestTokenCacheNoExpiryKeptUntilInvalidated(t *testing.T) {
	clk := newFakeClock()
	var calls atomic.Int64
	tc, err := cacheTokens(countingFetch(0, &calls), withClock(clk.Now))
	require.NoError(t, err)
	tok := mustToken(t, tc)
	clk.Advance(1000 * time.Hour)
	assert.Equal(t, tok.AccessToken, mustToken(t, tc).AccessToken)
	tc.Invalidate(tok)
	assert.Equal(t, "t2", mustToken(t, tc).AccessToken)
}

func TestTokenCacheInvalidateOnlyCurrent(t *testing.T) {
	var calls atomic.Int64
	tc, err := cacheTokens(countingFetch(time.Hour, &calls))
	require.NoError(t, err)
	t1 := mustToken(t, tc)
	tc.Invalidate(t1)
	t2 := mustToken(t, tc)
	require.Equal(t, "t2", t2.AccessToken)
	tc.Invalidate(t1) // stale: a concurrent caller already replaced it
	tc.Invalidate(nil)
	assert.Equal(t, "t2", mustToken(t, tc).AccessToken)
	assert.EqualValues(t, 2, calls.Load())
}

func TestTokenCacheConcurrentCallersShareOneFetch(t *testing.T) {
	srv := newFakeTokenServer(t)
	srv.delay = 50 * time.Millisecond
	clk := newFakeClock()
	ts, err := ClientCredentials(srv.URL, "id", "secret", withClock(clk.Now))
	require.NoError(t, err)

	const callers = 64
	run := func() map[string]int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]int{}
		start := make(chan struct{})
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok, err := ts.TokenContext(context.Background())
				assert.NoError(t, err)
				if tok != nil {
					mu.Lock()
					seen[tok.AccessToken]++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		return seen
	}
	seen := run()
	assert.Len(t, seen, 1, "all callers got the same token")
	assert.Len(t, srv.Requests(), 1, "one token request for %d concurrent callers", callers)

	clk.Advance(89*time.Minute + time.Second) // past expiry - skew
	seen = run()
	assert.Len(t, seen, 1)
	assert.Len(t, srv.Requests(), 2, "one refresh shared by all callers")
}

func TestTokenCacheCancelledWait(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	tc, err := cacheTokens(func(ctx context.Context) (*oauth2.Token, error) {
		calls.Add(1)
		<-release
		return &oauth2.Token{AccessToken: "late", ExpiresIn: 3600}, nil
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tc.TokenContext(ctx)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	// The fetch started by the cancelled caller completes and is cached.
	assert.Equal(t, "late", mustToken(t, tc).AccessToken)
	assert.EqualValues(t, 1, calls.Load())
}

func TestTokenCacheFetchErrorsShared(t *testing.T) {
	var calls atomic.Int64
	boom := errors.New("boom")
	gate := make(chan struct{})
	tc, err := cacheTokens(func(context.Context) (*oauth2.Token, error) {
		calls.Add(1)
		<-gate
		return nil, boom
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tc.Token()
			assert.ErrorIs(t, err, boom)
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the callers join the fetch
	close(gate)
	wg.Wait()
	assert.LessOrEqual(t, calls.Load(), int64(8))
	_, err = tc.Token()
	assert.ErrorIs(t, err, boom, "errors are not cached: the next call fetches again")
}

func TestTokenCacheEmptyToken(t *testing.T) {
	tc, err := cacheTokens(func(context.Context) (*oauth2.Token, error) { return &oauth2.Token{}, nil })
	require.NoError(t, err)
	_, err = tc.Token()
	var oe *OAuthError
	assert.ErrorAs(t, err, &oe)
	_, err = cacheTokens(nil)
	assert.ErrorIs(t, err, ErrConfig)
}

// cacheTokens wraps fetch in a cache. Options used: withClock,
// WithRefreshSkew; others are ignored.
func cacheTokens(fetch fetchFunc, opts ...TokenOption) (*TokenCache, error) {
	if fetch == nil {
		return nil, fmt.Errorf("%w: nil fetchFunc", ErrConfig)
	}
	cfg, err := newTokenConfig(opts)
	if err != nil {
		return nil, err
	}
	return newTokenCache(fetch, cfg), nil
}
