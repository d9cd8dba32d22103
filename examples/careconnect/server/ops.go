package server

import (
	"net/http"

	"github.com/fhirwarden/fhirwarden/examples/internal/fhirmetrics"
	"github.com/fhirwarden/fhirwarden/token"
)

// ops are the operational endpoints outside the FHIR base: /healthz
// (the process is alive), /readyz (the token issuer's keys are loaded;
// the data is in-process) and /metrics (Prometheus text format).
type ops struct {
	metrics  *fhirmetrics.Metrics
	verifier *token.Verifier
}

func newOps(v *token.Verifier) *ops {
	o := &ops{metrics: fhirmetrics.New(), verifier: v}
	o.metrics.SetVerifier(v)
	return o
}

// register adds the endpoints to mux.
func (o *ops) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { opsText(w, http.StatusOK, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if o.verifier.Stats().KeysLoaded == 0 {
			opsText(w, http.StatusServiceUnavailable, "not ready: no keys of the token issuer loaded\n")
			return
		}
		opsText(w, http.StatusOK, "ready\n")
	})
	mux.Handle("GET /metrics", o.metrics.Handler())
}

func opsText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}
