package bench

import (
	"fmt"
	"math"
)

// FloorMargin is how far below the target the pooled throughput ratio may
// fall before CheckThroughput fails whatever the scatter of the rounds:
// a drop that large is a regression, not noise.
const FloorMargin = 0.05

// RatioUpperBound is the upper end of a one-sided 95% confidence interval
// for the wrapped/bare throughput ratio: the pooled ratio plus Student's t
// (n-1 degrees of freedom) times the standard error of the n round
// ratios. It is the pooled ratio itself with fewer than three rounds
// (too few to estimate the scatter).
func (c *Comparison) RatioUpperBound() float64 {
	n := len(c.RoundRatios)
	if n < 3 {
		return c.Ratio()
	}
	var mean float64
	for _, r := range c.RoundRatios {
		mean += r
	}
	mean /= float64(n)
	var ss float64
	for _, r := range c.RoundRatios {
		ss += (r - mean) * (r - mean)
	}
	se := math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	return c.Ratio() + studentT95(n-1)*se
}

// CheckThroughput decides whether the comparison supports the claim that
// the wrapped server keeps at least target of the bare server's
// throughput. A run on a shared machine scatters (single rounds of one
// second differ by 10% and more), so the check is a one-sided test: it
// fails when the measurement shows at 95% confidence that the ratio is
// below target (RatioUpperBound < target), and always when the pooled
// ratio is below target - FloorMargin. The pooled ratio is the estimate
// to report; the check says whether it refutes the claim.
func (c *Comparison) CheckThroughput(target float64) error {
	r, ub := c.Ratio(), c.RatioUpperBound()
	switch {
	case r < target-FloorMargin:
		return fmt.Errorf("%s: wrapped/bare throughput %.3f is below the floor %.2f (target %.2f - %.2f)", c.Scenario, r, target-FloorMargin, target, FloorMargin)
	case ub < target:
		return fmt.Errorf("%s: wrapped/bare throughput %.3f, upper 95%% bound %.3f over %d rounds: below the target %.2f", c.Scenario, r, ub, len(c.RoundRatios), target)
	}
	return nil
}

// studentT95 is the 0.95 quantile of Student's t distribution with df
// degrees of freedom (df >= 1); beyond the table it stays at the value
// for 30, which is larger than every later one (conservative).
func studentT95(df int) float64 {
	table := [...]float64{6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
		1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
		1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697}
	if df < 1 {
		return math.Inf(1)
	}
	return table[min(df, len(table))-1]
}
