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
			before, measuredBefore := s.AuditRecords(), s.Measured()
			c, err := s.Compare(ctx, sc, CompareConfig{Concurrency: 2, Duration: 100 * time.Millisecond, Rounds: 1, Warmup: -1})
			require.NoError(t, err)
			for _, r := range []*Result{c.Bare, c.Wrapped} {
				assert.Positive(t, r.Requests)
				assert.Equal(t, r.Requests, r.OK(), "statuses: %v", r.Status)
				assert.Zero(t, r.Errors)
			}
			// checkSetup's two wrapped requests are audited too.
			assert.Equal(t, int64(c.Wrapped.Requests+2), s.AuditRecords()-before)
			assert.Equal(t, int64(c.Wrapped.Requests+2), s.Measured()-measuredBefore, "the metrics hook sees every request")
		})
	}
	st := s.Verifier.Stats()
	assert.Equal(t, uint64(len(Scenarios())), st.CacheMisses, "one verification per scenario token, then cache hits")
}

// TestLoadCompare measures the throughput claim on every scenario
// (12 interleaved rounds). It needs the machine to itself.
//
// FHIRWARDEN_BENCH=1: every request must succeed and the pooled
// wrapped/bare ratio must stay at or above RegressionFloor, a guard
// against a change that makes the middleware markedly slower; the verdict
// on the 0.90 target is logged.
//
// FHIRWARDEN_BENCH=strict (what CI runs, after everything else) also
// asserts the target with Comparison.CheckThroughput's one-sided test:
// a scenario fails when its measurement shows the claim false. One
// refutation on a shared machine can be a bad minute (whole runs here
// move by several points), so a refuted scenario is measured once more,
// independently, and fails only when that measurement refutes it too.
func TestLoadCompare(t *testing.T) {
	mode := os.Getenv("FHIRWARDEN_BENCH")
	if mode != "1" && mode != "strict" {
		t.Skip("set FHIRWARDEN_BENCH=1 (or strict) to measure throughput")
	}
	ctx := context.Background()
	s, err := NewStack(ctx, StackOptions{})
	require.NoError(t, err)
	defer s.Close()
	var cs []*Comparison
	scenarios := Scenarios()
	for _, sc := range scenarios {
		c, err := s.Compare(ctx, sc, CompareConfig{Rounds: 12})
		require.NoError(t, err)
		cs = append(cs, c)
	}
	var b strings.Builder
	WriteComparisonTable(&b, cs)
	t.Log("\n" + b.String())
	for i, c := range cs {
		assert.Equal(t, c.Bare.Requests, c.Bare.OK(), "%s bare statuses: %v", c.Scenario, c.Bare.Status)
		assert.Equal(t, c.Wrapped.Requests, c.Wrapped.OK(), "%s wrapped statuses: %v", c.Scenario, c.Wrapped.Status)
		assert.GreaterOrEqual(t, c.Ratio(), RegressionFloor, "%s: wrapped %.0f req/s vs bare %.0f req/s", c.Scenario, c.Wrapped.RPS(), c.Bare.RPS())
		verdict := c.CheckThroughput(TargetThroughputRatio)
		switch {
		case verdict != nil:
			t.Logf("target %.2f REFUTED: %v", TargetThroughputRatio, verdict)
		case c.Ratio() >= TargetThroughputRatio:
			t.Logf("%s: wrapped/bare %.3f (upper 95%% bound %.3f): target %.2f met", c.Scenario, c.Ratio(), c.RatioUpperBound(), TargetThroughputRatio)
		default:
			t.Logf("%s: wrapped/bare %.3f (upper 95%% bound %.3f): target %.2f not met by the estimate, not refuted by the rounds", c.Scenario, c.Ratio(), c.RatioUpperBound(), TargetThroughputRatio)
		}
		if mode == "strict" && verdict != nil {
			again, err := s.Compare(ctx, scenarios[i], CompareConfig{Rounds: 12})
			require.NoError(t, err)
			var b strings.Builder
			WriteComparisonTable(&b, []*Comparison{again})
			t.Log("measured again:\n" + b.String())
			assert.NoError(t, again.CheckThroughput(TargetThroughputRatio), "%s: refuted twice", c.Scenario)
		}
	}
}
