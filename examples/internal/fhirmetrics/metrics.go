package fhirmetrics

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// Metrics are a server's Prometheus metrics: one counter and one latency
// histogram for the middleware's decisions, and the token verifier's
// counters, read when scraped. Build them with New.
type Metrics struct {
	registry  *prometheus.Registry
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	verifier  atomic.Pointer[token.Verifier]
}

// New builds the metrics in a registry of their own.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirwarden_decisions_total",
			Help: "Requests decided by the middleware, by FHIR interaction, resource type, outcome, HTTP status and kind of refusal.",
		}, []string{"interaction", "resource_type", "outcome", "status", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fhirwarden_request_duration_seconds",
			Help:    "Time from a request's arrival until its response was written, upstream included.",
			Buckets: prometheus.DefBuckets,
		}, []string{"interaction", "outcome"}),
	}
	m.registry.MustRegister(m.decisions, m.latency, verifierCollector{m})
	return m
}

// Observe is the middleware's metrics hook (middleware.WithMetrics).
func (m *Metrics) Observe(d middleware.DecisionMetric) {
	m.decisions.WithLabelValues(d.Interaction, d.ResourceType, d.Outcome, strconv.Itoa(d.Status), d.ReasonKind).Inc()
	m.latency.WithLabelValues(d.Interaction, d.Outcome).Observe(d.Latency.Seconds())
}

// SetVerifier makes the metrics report v's Stats (none until it is set).
func (m *Metrics) SetVerifier(v *token.Verifier) { m.verifier.Store(v) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// verifierCollector reports token.Verifier.Stats at each scrape (nothing
// while no verifier is built yet).
type verifierCollector struct{ m *Metrics }

var verifierDescs = struct {
	verified, rejected, cacheHits, cacheMisses, cacheEntries, cacheBytes, keys, fetches, fetchFailures, rateLimited, lastSuccess *prometheus.Desc
}{
	verified:      prometheus.NewDesc("fhirwarden_tokens_verified_total", "Access tokens accepted (cache hits included).", nil, nil),
	rejected:      prometheus.NewDesc("fhirwarden_tokens_rejected_total", "Access tokens refused.", nil, nil),
	cacheHits:     prometheus.NewDesc("fhirwarden_token_cache_hits_total", "Tokens answered from the verified-token cache.", nil, nil),
	cacheMisses:   prometheus.NewDesc("fhirwarden_token_cache_misses_total", "Tokens verified afresh.", nil, nil),
	cacheEntries:  prometheus.NewDesc("fhirwarden_token_cache_entries", "Tokens in the verified-token cache.", nil, nil),
	cacheBytes:    prometheus.NewDesc("fhirwarden_token_cache_bytes", "Estimated memory held by the verified-token cache.", nil, nil),
	keys:          prometheus.NewDesc("fhirwarden_jwks_keys", "Usable keys in the issuer's current key set.", nil, nil),
	fetches:       prometheus.NewDesc("fhirwarden_jwks_fetches_total", "JWKS requests made.", nil, nil),
	fetchFailures: prometheus.NewDesc("fhirwarden_jwks_fetch_failures_total", "JWKS requests that failed (the last good key set was kept).", nil, nil),
	rateLimited:   prometheus.NewDesc("fhirwarden_jwks_refetches_rate_limited_total", "Unknown-key refetches suppressed by the rate limit.", nil, nil),
	lastSuccess:   prometheus.NewDesc("fhirwarden_jwks_last_success_timestamp_seconds", "When the key set was last loaded (Unix time; 0 if never).", nil, nil),
}

func (c verifierCollector) Describe(ch chan<- *prometheus.Desc) {
	d := verifierDescs
	for _, x := range []*prometheus.Desc{d.verified, d.rejected, d.cacheHits, d.cacheMisses, d.cacheEntries, d.cacheBytes, d.keys, d.fetches, d.fetchFailures, d.rateLimited, d.lastSuccess} {
		ch <- x
	}
}

func (c verifierCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.m.verifier.Load()
	if v == nil {
		return
	}
	s, d := v.Stats(), verifierDescs
	counter := func(desc *prometheus.Desc, n uint64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(n))
	}
	gauge := func(desc *prometheus.Desc, x float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, x)
	}
	counter(d.verified, s.Verified)
	counter(d.rejected, s.Rejected)
	counter(d.cacheHits, s.CacheHits)
	counter(d.cacheMisses, s.CacheMisses)
	gauge(d.cacheEntries, float64(s.CacheEntries))
	gauge(d.cacheBytes, float64(s.CacheBytes))
	gauge(d.keys, float64(s.KeysLoaded))
	counter(d.fetches, s.JWKSFetches)
	counter(d.fetchFailures, s.JWKSFetchFailures)
	counter(d.rateLimited, s.JWKSRefetchesRateLimited)
	last := 0.0
	if !s.JWKSLastSuccess.IsZero() {
		last = float64(s.JWKSLastSuccess.UnixNano()) / 1e9
	}
	gauge(d.lastSuccess, last)
}
