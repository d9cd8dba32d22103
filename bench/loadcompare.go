package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// TargetThroughputRatio is the throughput claim: the wrapped server keeps at
// least 90% of the bare server's throughput.
const TargetThroughputRatio = 0.90

// RegressionFloor is the wrapped/bare throughput ratio below which
// TestLoadCompare fails in CI whatever the noise: a regression guard, well
// under the target (see TestLoadCompare).
const RegressionFloor = 0.80

// CompareConfig says how to run a load comparison.
type CompareConfig struct {
	Concurrency int           // workers per run (default 8)
	Duration    time.Duration // length of one run (default 1 s)
	Rounds      int           // bare/wrapped pairs, interleaved (default 8)
	Warmup      time.Duration // untimed load on each server first (default 500 ms)
}

func (c *CompareConfig) defaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Duration <= 0 {
		c.Duration = time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 8
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 500 * time.Millisecond
	}
}

// Comparison is the outcome of one scenario: the bare and the wrapped
// server under the same load.
type Comparison struct {
	Scenario string
	Config   CompareConfig
	Bare     *Result // every bare round, pooled
	Wrapped  *Result // every wrapped round, pooled
	// RoundRatios are wrapped/bare throughput of each round's pair of runs,
	// which ran back to back.
	RoundRatios []float64
}

// Ratio is wrapped throughput over bare throughput, each pooled over all
// rounds. The rounds alternate which server goes first, so the machine's
// drift falls on both sides alike.
func (c *Comparison) Ratio() float64 {
	if c.Bare.RPS() == 0 {
		return 0
	}
	return c.Wrapped.RPS() / c.Bare.RPS()
}

// CPURatio is bare over wrapped CPU time per request (pooled): what the
// throughput ratio would be on a machine where this process had the CPUs
// to itself and they were the bottleneck.
func (c *Comparison) CPURatio() float64 {
	w := c.Wrapped.CPUPerRequest()
	if w == 0 {
		return 0
	}
	return float64(c.Bare.CPUPerRequest()) / float64(w)
}

// Compare runs the scenario against both servers of s: it first proves the
// setup (the wrapped server refuses a request without a token and serves
// the same Bundle as the bare one with it; the token is then in the
// verified-token cache), then runs Rounds pairs of timed runs, alternating
// which server goes first, and pools each side's runs.
func (s *Stack) Compare(ctx context.Context, sc Scenario, cfg CompareConfig) (*Comparison, error) {
	cfg.defaults()
	tok := s.Issuer.Mint(sc.Claims)
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	client := NewLoadClient(cfg.Concurrency)
	defer client.CloseIdleConnections()
	if err := s.checkSetup(ctx, client, sc, hdr); err != nil {
		return nil, fmt.Errorf("%s: %w", sc.Name, err)
	}
	bare := Load{URL: s.BareURL + sc.barePath(), Header: hdr, Concurrency: cfg.Concurrency, Duration: cfg.Duration, Client: client}
	wrapped := bare
	wrapped.URL = s.WrappedURL + sc.Path
	if cfg.Warmup > 0 {
		for _, l := range []Load{bare, wrapped} {
			l.Duration = cfg.Warmup
			if _, err := l.Run(ctx); err != nil {
				return nil, err
			}
		}
	}
	var bares, wrappeds []*Result
	var ratios []float64
	for i := range cfg.Rounds {
		order := []*Load{&bare, &wrapped}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, l := range order {
			r, err := l.Run(ctx)
			if err != nil {
				return nil, err
			}
			if l == &bare {
				bares = append(bares, r)
			} else {
				wrappeds = append(wrappeds, r)
			}
		}
		if b := bares[i].RPS(); b > 0 {
			ratios = append(ratios, wrappeds[i].RPS()/b)
		}
	}
	return &Comparison{Scenario: sc.Name, Config: cfg, Bare: Merge(bares...), Wrapped: Merge(wrappeds...), RoundRatios: ratios}, nil
}

// checkSetup makes sure the comparison measures what it claims to.
func (s *Stack) checkSetup(ctx context.Context, client *http.Client, sc Scenario, hdr http.Header) error {
	get := func(url string, h http.Header) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, nil, err
		}
		for k, v := range h {
			req.Header[k] = v
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	status, _, err := get(s.WrappedURL+sc.Path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("wrapped server answered %d without a token, want 401: it is not protected", status)
	}
	bs, bb, err := get(s.BareURL+sc.barePath(), hdr)
	if err != nil {
		return err
	}
	ws, wb, err := get(s.WrappedURL+sc.Path, hdr)
	if err != nil {
		return err
	}
	if sc.BarePath != "" {
		// The wrapped request is answerable only narrowed: the bare server
		// refuses it as sent, so a 200 from the wrapped one proves the
		// middleware rewrote it.
		if st, _, err := get(s.BareURL+sc.Path, hdr); err != nil || st == http.StatusOK {
			return fmt.Errorf("bare server answered the unnarrowed request %d (err %v): the scenario does not depend on narrowing", st, err)
		}
	}
	if bs != http.StatusOK || ws != http.StatusOK {
		return fmt.Errorf("bare answered %d, wrapped %d, want 200 both: %s", bs, ws, wb)
	}
	if !bytes.Contains(wb, []byte(`"resourceType":"Observation"`)) {
		return fmt.Errorf("wrapped answer holds no Observation: %.200s", wb)
	}
	if len(wb) < len(bb)*9/10 {
		return fmt.Errorf("wrapped answer (%d bytes) is smaller than bare (%d bytes): was it filtered?", len(wb), len(bb))
	}
	return nil
}
