// Package fhirmetrics exposes fhirwarden's middleware decisions and token
// verifier counters in the Prometheus text format, for the example
// servers (the library itself has no Prometheus dependency: it reports
// through middleware.WithMetrics and token.Verifier.Stats).
//
//	m := fhirmetrics.New()
//	m.SetVerifier(verifier)
//	mw, _ := middleware.New(verifier, policy, middleware.WithMetrics(m.Observe))
//	mux.Handle("GET /metrics", m.Handler())
package fhirmetrics
