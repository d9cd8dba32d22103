package client

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the retries of a request answered with 429 or 503.
// Retries apply to idempotent requests (GET, HEAD, PUT, DELETE, searches)
// unless the client was built WithRetryNonIdempotent.
type RetryPolicy struct {
	// MaxRetries is how many times a request is repeated (0: never).
	MaxRetries int
	// BaseDelay is the first backoff; each retry doubles it, with full
	// jitter (a random delay between half and all of it).
	BaseDelay time.Duration
	// MaxDelay caps the backoff.
	MaxDelay time.Duration
	// MaxWait is the longest single wait the client accepts: a Retry-After
	// beyond it ends the retries and returns the *Error (its RetryAfter
	// says how long the server asked for).
	MaxWait time.Duration
}

// DefaultRetryPolicy returns 3 retries, 250 ms doubling up to 5 s, and
// Retry-After honoured up to 30 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, BaseDelay: 250 * time.Millisecond, MaxDelay: 5 * time.Second, MaxWait: 30 * time.Second}
}

func (p RetryPolicy) validate() error {
	if p.MaxRetries < 0 || p.MaxRetries > 100 {
		return fmt.Errorf("%w: MaxRetries %d not in [0, 100]", ErrConfig, p.MaxRetries)
	}
	if p.MaxRetries > 0 && (p.BaseDelay <= 0 || p.MaxDelay < p.BaseDelay || p.MaxWait <= 0) {
		return fmt.Errorf("%w: retry delays must be positive with BaseDelay <= MaxDelay", ErrConfig)
	}
	return nil
}

// backoff is the jittered delay before retry number n (0-based).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 0; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}

// retryable reports whether a status is worth repeating.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// idempotentMethod reports whether repeating method cannot change more
// than doing it once (RFC 9110 section 9.2.2).
func idempotentMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// maxRetryAfter bounds a parsed Retry-After (a day); beyond it the value
// is treated as that bound.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110 section 10.2.3). ok is false when absent or invalid.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return maxRetryAfter, true
			}
			return 0, false
		}
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return min(d, maxRetryAfter), true
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
