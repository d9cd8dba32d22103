package fhirmetrics_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/examples/internal/fhirmetrics"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// Example counts two decisions and scrapes the counter.
func Example() {
	m := fhirmetrics.New()
	m.Observe(middleware.DecisionMetric{Interaction: "read", ResourceType: "Observation", Outcome: middleware.AuditAllow, Status: 200, Latency: time.Millisecond})
	m.Observe(middleware.DecisionMetric{Outcome: middleware.AuditDeny, Status: 401, ReasonKind: middleware.ReasonInvalidToken})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "fhirwarden_decisions_total{") {
			fmt.Println(line)
		}
	}
	// Output:
	// fhirwarden_decisions_total{interaction="",outcome="deny",reason="invalid-token",resource_type="",status="401"} 1
	// fhirwarden_decisions_total{interaction="read",outcome="allow",reason="",resource_type="Observation",status="200"} 1
}
