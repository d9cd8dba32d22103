package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// comparison builds a Comparison whose pooled ratio is pooled (bare 1000
// requests in one second) and whose rounds are rounds.
func comparison(pooled float64, rounds ...float64) *Comparison {
	bare := &Result{Requests: 1000, Elapsed: time.Second}
	wrapped := &Result{Requests: int(pooled * 1000), Elapsed: time.Second}
	return &Comparison{Scenario: "s", Bare: bare, Wrapped: wrapped, RoundRatios: rounds}
}

func TestCheckThroughput(t *testing.T) {
	cases := []struct {
		name    string
		c       *Comparison
		wantErr string
	}{
		{"clearly above", comparison(0.95, 0.94, 0.96, 0.95, 0.95), ""},
		{"below the target but within the noise", comparison(0.89, 0.80, 0.99, 0.85, 0.93, 0.88, 0.90), ""},
		{"below the target, tight rounds", comparison(0.87, 0.87, 0.86, 0.88, 0.87, 0.87, 0.86), "upper 95% bound"},
		{"below the floor however noisy", comparison(0.84, 0.60, 1.10, 0.70, 1.00), "below the floor"},
		{"two rounds: pooled ratio alone", comparison(0.89, 0.80, 0.99), "upper 95% bound"},
		{"two rounds above", comparison(0.91, 0.80, 1.02), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.CheckThroughput(0.90)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestRatioUpperBound(t *testing.T) {
	// Rounds 0.8, 0.9, 1.0: mean 0.9, sd 0.1, se 0.1/sqrt(3); t(2) = 2.920.
	c := comparison(0.9, 0.8, 0.9, 1.0)
	assert.InDelta(t, 0.9+2.920*0.1/1.7320508, c.RatioUpperBound(), 1e-3)
	// No scatter: the bound is the pooled ratio.
	assert.InDelta(t, 0.9, comparison(0.9, 0.9, 0.9, 0.9).RatioUpperBound(), 1e-9)
	assert.Equal(t, 1.697, studentT95(100))
	assert.Equal(t, 6.314, studentT95(1))
}
