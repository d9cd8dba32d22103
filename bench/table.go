package bench

import (
	"fmt"
	"io"
	"time"
)

// WriteComparisonTable prints comparisons as a Markdown table.
func WriteComparisonTable(w io.Writer, cs []*Comparison) {
	fmt.Fprintln(w, "| scenario | server | requests | req/s | p50 | p99 | CPU/req | alloc/req | GCs/1k req | non-2xx | errors | wrapped/bare req/s | bare/wrapped CPU/req |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, c := range cs {
		for _, side := range []struct {
			name            string
			r               *Result
			ratio, cpuRatio string
		}{
			{"bare", c.Bare, "1.00", "1.00"},
			{"wrapped", c.Wrapped, fmt.Sprintf("%.2f", c.Ratio()), fmt.Sprintf("%.2f", c.CPURatio())},
		} {
			r := side.r
			fmt.Fprintf(w, "| %s | %s | %d | %.0f | %s | %s | %s | %.1f kB | %s | %d | %d | %s | %s |\n",
				c.Scenario, side.name, r.Requests, r.RPS(), micros(r.Percentile(50)), micros(r.Percentile(99)),
				micros(r.CPUPerRequest()), r.AllocPerRequest()/1000, perThousand(r.GCs, r.Requests), r.Requests-r.OK(), r.Errors, side.ratio, side.cpuRatio)
		}
	}
	if len(cs) > 0 {
		c := cs[0].Config
		fmt.Fprintf(w, "\nClosed loop on 127.0.0.1, %d workers, %d interleaved bare/wrapped rounds of %v each (after %v warm-up), token in the verified-token cache. "+
			"req/s, p50, p99, CPU/req and alloc/req pool all rounds (CPU/req, alloc/req and GCs: this process's user+system CPU, heap allocation and garbage collections, servers and load generator together, per request); "+
			"wrapped/bare req/s divides the pooled rates. Each round's own wrapped/bare req/s", c.Concurrency, c.Rounds, c.Duration, c.Warmup)
		for _, c := range cs {
			fmt.Fprintf(w, "; %s:", c.Scenario)
			for _, r := range c.RoundRatios {
				fmt.Fprintf(w, " %.2f", r)
			}
		}
		fmt.Fprint(w, ". On a shared machine single rounds scatter; the pooled ratio and CPU/req are steadier. Upper 95% bound of wrapped/bare req/s (one-sided, Student's t over the rounds)")
		for _, c := range cs {
			fmt.Fprintf(w, "; %s: %.2f", c.Scenario, c.RatioUpperBound())
		}
		fmt.Fprintln(w, ".")
	}
}

// perThousand formats n per thousand of total.
func perThousand(n uint64, total int) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(n)*1000/float64(total))
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func formatMiB(v float64) string { return fmt.Sprintf("%.1f", v) }
