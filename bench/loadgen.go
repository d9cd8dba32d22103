package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirwarden/fhirwarden/internal/cputime"
)

// Load describes one closed-loop load run: Concurrency workers, each
// sending its next request as soon as the previous answer has been read,
// until Duration has passed or Requests have been sent (whichever comes
// first; at least one must be set). Every latency is kept, so percentiles
// are exact (no histogram buckets).
type Load struct {
	URL         string
	Header      http.Header // sent with every request (e.g. Authorization)
	Concurrency int
	Duration    time.Duration // 0: no time limit
	Requests    int           // 0: no count limit
	Client      *http.Client  // nil: NewLoadClient(Concurrency)
}

// Result is what a Load run measured.
type Result struct {
	Requests int           // answers received (any status)
	Errors   int           // requests that failed without an answer
	Status   map[int]int   // answers by HTTP status
	Elapsed  time.Duration // wall time of the run
	// CPU is the CPU time (user + system) this process spent during the
	// run: the servers and the load generator together, since they share
	// the process. Other processes on the machine do not count, which makes
	// CPU per request a measure of cost that a busy machine distorts less
	// than requests per second.
	CPU time.Duration
	// Alloc is the heap memory this process allocated during the run and
	// GCs the garbage collections that ran (servers and load generator
	// together, as for CPU). With a small live heap, collections are
	// frequent and their cost follows allocation closely.
	Alloc, GCs uint64
	Latencies  []time.Duration // every answer's latency, sorted ascending
}

// NewLoadClient returns a client for loopback load: keep-alive connections,
// one per worker, no compression, no proxy.
func NewLoadClient(concurrency int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			MaxConnsPerHost:     concurrency,
			DisableCompression:  true,
			IdleConnTimeout:     30 * time.Second,
		},
		Timeout: 30 * time.Second,
	}
}

// Run drives the load and returns what it measured. It stops early when
// ctx ends.
func (l Load) Run(ctx context.Context) (*Result, error) {
	if l.Concurrency <= 0 {
		return nil, errors.New("load: Concurrency must be positive")
	}
	if l.Duration <= 0 && l.Requests <= 0 {
		return nil, errors.New("load: set Duration or Requests")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	for k, v := range l.Header {
		req.Header[k] = v
	}
	client := l.Client
	if client == nil {
		client = NewLoadClient(l.Concurrency)
		defer client.CloseIdleConnections()
	}

	var (
		tickets atomic.Int64 // requests handed out (count mode)
		wg      sync.WaitGroup
		workers = make([]workerResult, l.Concurrency)
	)
	cpu0, heap0 := cputime.Process(), readHeapStats()
	start := time.Now()
	deadline := time.Time{}
	if l.Duration > 0 {
		deadline = start.Add(l.Duration)
	}
	for i := range workers {
		wg.Add(1)
		go func(w *workerResult) {
			defer wg.Done()
			w.status = map[int]int{}
			for ctx.Err() == nil {
				if l.Requests > 0 && tickets.Add(1) > int64(l.Requests) {
					return
				}
				t0 := time.Now()
				if !deadline.IsZero() && !t0.Before(deadline) {
					return
				}
				res, err := client.Do(req.Clone(ctx))
				if err != nil {
					w.errors++
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				w.lat = append(w.lat, time.Since(t0))
				w.status[res.StatusCode]++
			}
		}(&workers[i])
	}
	wg.Wait()
	r := &Result{Elapsed: time.Since(start), CPU: cputime.Process() - cpu0, Status: map[int]int{}}
	heap := readHeapStats()
	r.Alloc, r.GCs = heap.alloc-heap0.alloc, heap.gcs-heap0.gcs
	for _, w := range workers {
		r.Errors += w.errors
		r.Latencies = append(r.Latencies, w.lat...)
		for s, n := range w.status {
			r.Status[s] += n
		}
	}
	r.Requests = len(r.Latencies)
	slices.Sort(r.Latencies)
	return r, nil
}

type workerResult struct {
	lat    []time.Duration
	status map[int]int
	errors int
}

// RPS is answers per second over the run.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// CPUPerRequest is the process CPU time per answer.
func (r *Result) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// AllocPerRequest is the heap memory allocated per answer, in bytes.
func (r *Result) AllocPerRequest() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Alloc) / float64(r.Requests)
}

// heapStats are the process's cumulative allocation and GC counts.
type heapStats struct{ alloc, gcs uint64 }

// readHeapStats reads heapStats from runtime/metrics (no stop-the-world,
// unlike runtime.ReadMemStats).
func readHeapStats() heapStats {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	var h heapStats
	if s[0].Value.Kind() == metrics.KindUint64 {
		h.alloc = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		h.gcs = s[1].Value.Uint64()
	}
	return h
}

// Percentile returns the latency at or below which p percent of answers
// came (nearest rank; p in [0, 100]); 0 without answers.
func (r *Result) Percentile(p float64) time.Duration {
	return percentile(r.Latencies, p)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// OK is the number of 2xx answers.
func (r *Result) OK() int {
	n := 0
	for s, c := range r.Status {
		if s >= 200 && s < 300 {
			n += c
		}
	}
	return n
}

// Merge combines runs measured one after the other: requests and time add
// up, latencies are pooled.
func Merge(rs ...*Result) *Result {
	m := &Result{Status: map[int]int{}}
	for _, r := range rs {
		m.Requests += r.Requests
		m.Errors += r.Errors
		m.Elapsed += r.Elapsed
		m.CPU += r.CPU
		m.Alloc += r.Alloc
		m.GCs += r.GCs
		m.Latencies = append(m.Latencies, r.Latencies...)
		for s, n := range r.Status {
			m.Status[s] += n
		}
	}
	slices.Sort(m.Latencies)
	return m
}
