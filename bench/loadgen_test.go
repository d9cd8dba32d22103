package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"p0 is the min", ms(hundred...), 0, 1 * time.Millisecond},
		{"p50 of 4 takes the 2nd", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 4 takes the last", ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, percentile(c.sorted, c.p))
		})
	}
}

func TestLoadCountsStatusesAndStops(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer x" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n.Add(1)%4 == 0 {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()

	r, err := Load{URL: srv.URL, Header: http.Header{"Authorization": {"Bearer x"}}, Concurrency: 3, Requests: 200}.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 200, r.Requests, "count mode sends exactly Requests")
	assert.Equal(t, 150, r.Status[http.StatusOK])
	assert.Equal(t, 50, r.Status[http.StatusTeapot])
	assert.Equal(t, 150, r.OK())
	assert.Zero(t, r.Errors)
	assert.Len(t, r.Latencies, 200)
	assert.True(t, r.Percentile(50) <= r.Percentile(99) && r.Percentile(99) <= r.Latencies[199])
	assert.Positive(t, r.RPS())
	// Every request allocates (a client request and response at least), and
	// far less than a megabyte.
	assert.Greater(t, r.AllocPerRequest(), 500.0)
	assert.Less(t, r.AllocPerRequest(), float64(1<<20))

	start := time.Now()
	r, err = Load{URL: srv.URL, Concurrency: 2, Duration: 200 * time.Millisecond}.Run(context.Background())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second, "duration mode stops")
	assert.Equal(t, r.Requests, r.Status[http.StatusUnauthorized], "no header: every answer 401")
	assert.Positive(t, r.Requests)

	m := Merge(r, r)
	assert.Equal(t, 2*r.Requests, m.Requests)
	assert.Equal(t, 2*r.Alloc, m.Alloc)
	assert.Equal(t, 2*r.GCs, m.GCs)
	assert.InDelta(t, r.AllocPerRequest(), m.AllocPerRequest(), 0.001)
	assert.Equal(t, 2*r.Elapsed, m.Elapsed)
	assert.InDelta(t, r.RPS(), m.RPS(), 0.001)

	_, err = Load{URL: srv.URL, Concurrency: 1}.Run(context.Background())
	assert.Error(t, err, "no limit")
	_, err = Load{URL: srv.URL, Requests: 1}.Run(context.Background())
	assert.Error(t, err, "no workers")
}

func TestLoadCountsTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	r, err := Load{URL: url, Concurrency: 2, Requests: 10}.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 10, r.Errors)
	assert.Zero(t, r.Requests)
}
