package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadCompareSetup runs every scenario briefly (not timed, nothing
// asserted about speed): the wrapped server must refuse a missing token,
// answer 200 under load with the token cached, and audit every request.
func TestLoadCompareSetup(t *testing.T) {
	ctx := context.Background()
	s, err := NewStack(ctx, StackOptions{})
	require.NoError(t, err)
	defer s.Close()
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			before := s.AuditRecords()
			c, err := s.Compare(ctx, sc, CompareConfig{Concurrency: 2, Duration: 100 * time.Millisecond, Rounds: 1, Warmup: -1})
			require.NoError(t, err)
			for _, r := range []*Result{c.Bare, c.Wrapped} {
				assert.Positive(t, r.Requests)
				assert.Equal(t, r.Requests, r.OK(), "statuses: %v", r.Status)
				assert.Zero(t, r.Errors)
			}
			// checkSetup's two wrapped requests are audited too.
			assert.Equal(t, int64(c.Wrapped.Requests+2), s.AuditRecords()-before)
		})
	}
	st := s.Verifier.Stats()
	assert.Equal(t, uint64(len(Scenarios())), st.CacheMisses, "one verification per scenario token, then cache hits")
}

// TestLoadCompare checks issue 8's throughput target on every scenario:
// the wrapped server keeps at least 90% of the bare server's requests per
// second. Rounds scatter on a shared machine, so the verdict is
// Comparison.CheckThroughput's one-sided test over 12 rounds: it fails
// when the rounds show the ratio below 0.90 (upper 95% bound), and when
// the pooled ratio is below 0.85 however they scatter. It needs the
// machine to itself: FHIRWARDEN_BENCH=1 (CI runs it after everything else).
func TestLoadCompare(t *testing.T) {
	if os.Getenv("FHIRWARDEN_BENCH") != "1" {
		t.Skip("set FHIRWARDEN_BENCH=1 to measure throughput")
	}
	ctx := context.Background()
	s, err := NewStack(ctx, StackOptions{})
	require.NoError(t, err)
	defer s.Close()
	var cs []*Comparison
	for _, sc := range Scenarios() {
		c, err := s.Compare(ctx, sc, CompareConfig{Rounds: 12})
		require.NoError(t, err)
		cs = append(cs, c)
	}
	var b strings.Builder
	WriteComparisonTable(&b, cs)
	t.Log("\n" + b.String())
	for _, c := range cs {
		assert.Equal(t, c.Bare.Requests, c.Bare.OK(), "%s bare statuses: %v", c.Scenario, c.Bare.Status)
		assert.Equal(t, c.Wrapped.Requests, c.Wrapped.OK(), "%s wrapped statuses: %v", c.Scenario, c.Wrapped.Status)
		assert.NoError(t, c.CheckThroughput(TargetThroughputRatio), "wrapped %.0f req/s vs bare %.0f req/s", c.Wrapped.RPS(), c.Bare.RPS())
		t.Logf("%s: wrapped/bare %.3f (upper 95%% bound %.3f): target %.2f %s", c.Scenario, c.Ratio(), c.RatioUpperBound(), TargetThroughputRatio,
			map[bool]string{true: "met by the estimate", false: "not refuted, estimate below"}[c.Ratio() >= TargetThroughputRatio])
	}
}
