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
	metrics   *fhirmetrics.Metrics
	verifiers []*token.Verifier // the token issuers' verifiers
}

func newOps(auth token.Authenticator) *ops {
	o := &ops{metrics: fhirmetrics.New(), verifiers: verifiersOf(auth)}
	if len(o.verifiers) > 0 {
		o.metrics.SetVerifier(o.verifiers[0])
	}
	return o
}

// verifiersOf returns the Verifiers behind auth: itself, or each trusted
// issuer's.
func verifiersOf(auth token.Authenticator) []*token.Verifier {
	switch a := auth.(type) {
	case *token.Verifier:
		return []*token.Verifier{a}
	case *token.Issuers:
		var vs []*token.Verifier
		for _, iss := range a.List() {
			vs = append(vs, a.Verifier(iss))
		}
		return vs
	}
	return nil
}

// register adds the endpoints to mux.
func (o *ops) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { opsText(w, http.StatusOK, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		for _, v := range o.verifiers {
			if v.Stats().KeysLoaded == 0 {
				opsText(w, http.StatusServiceUnavailable, "not ready: no keys of a token issuer loaded\n")
				return
			}
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
