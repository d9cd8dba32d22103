package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHistogramBucketsBoundTheirValues(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 31, 32, 33, 63, 64, 65, 1000, 123456, time.Millisecond, 3 * time.Second, time.Hour} {
		i := histIndex(d)
		assert.GreaterOrEqual(t, histValue(i), d, "bucket %d of %v", i, d)
		if i > 0 {
			assert.Less(t, histValue(i-1), d, "previous bucket of %v", d)
		}
	}
}

func TestHistogramPercentilesMatchExactOnes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var exact []time.Duration
	for range 20000 {
		// log-normal-ish latencies from 50 µs to ~50 ms
		d := time.Duration(50e3 * (1 + rng.ExpFloat64()*rng.ExpFloat64()*20))
		h.record(d)
		exact = append(exact, d)
	}
	slices.Sort(exact)
	for _, p := range []float64{1, 50, 90, 99, 99.9, 100} {
		want := percentile(exact, p)
		got := h.percentile(p)
		assert.GreaterOrEqual(t, got, want, "p%v", p)
		assert.LessOrEqual(t, float64(got), float64(want)*1.035, "p%v: %v vs exact %v", p, got, want)
	}
	var empty histogram
	assert.Zero(t, empty.percentile(99))
	var m histogram
	m.merge(&h)
	m.merge(&h)
	assert.Equal(t, 2*h.n, m.n)
	assert.Equal(t, h.percentile(99), m.percentile(99))
}
