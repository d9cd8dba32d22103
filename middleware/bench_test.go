package middleware_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// discardWriter is a reusable ResponseWriter, so the benchmark measures
// the handlers, not a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

var searchResult = []byte(`{"resourceType":"Bundle","type":"searchset","entry":[]}`)

// readResult is an Observation of Patient/123 shaped like a real server's
// answer to a read, and includeResult a searchset Bundle of four of them
// with the Patient included.
var (
	readResult = []byte(`{"resourceType":"Observation","id":"obs-1","meta":{"versionId":"1","lastUpdated":"2026-01-15T09:30:00Z"},` +
		`"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},` +
		`"subject":{"reference":"Patient/123"},"effectiveDateTime":"2026-01-01T09:30:00Z",` +
		`"valueQuantity":{"value":60,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}` + "\n")
	includeResult = func() []byte {
		var b bytes.Buffer
		b.WriteString(`{"resourceType":"Bundle","type":"searchset","total":4,"link":[{"relation":"self","url":"http://fhir.example/fhir/Observation?_include=Observation:subject"}],"entry":[`)
		for i := range 4 {
			fmt.Fprintf(&b, `{"fullUrl":"http://fhir.example/fhir/Observation/obs-%d","resource":%s,"search":{"mode":"match"}},`, i, bytes.TrimSpace(readResult))
		}
		b.WriteString(`{"fullUrl":"http://fhir.example/fhir/Patient/123","resource":{"resourceType":"Patient","id":"123","name":[{"family":"Doe"}]},"search":{"mode":"include"}}]}`)
		return b.Bytes()
	}()
)

// fixedInner answers every request with body as FHIR JSON.
func fixedInner(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/fhir+json"}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

func benchInner(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = []string{"application/fhir+json"}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(searchResult)
}

// hotPathSetup is the issuer, verifier (on its JWKS) and policy (base
// /fhir) that BenchmarkMiddleware and TestAllocationBudget measure; both
// are closed when tb ends.
func hotPathSetup(tb testing.TB) (*tokentest.Issuer, *token.Verifier, *fhirauth.Policy) {
	tb.Helper()
	iss := tokentest.NewIssuer()
	tb.Cleanup(iss.Close)
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ver.Close() })
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	if err != nil {
		tb.Fatal(err)
	}
	return iss, ver, policy
}

// BenchmarkMiddleware compares the inner handler alone (bare) with the
// same handler wrapped, for a search with a token already in the
// verifier's verified-token cache. Overhead = cached-token - bare.
func BenchmarkMiddleware(b *testing.B) {
	iss, ver, policy := hotPathSetup(b)
	quiet := middleware.WithLogger(slog.New(slog.DiscardHandler))
	plain, err := middleware.New(ver, policy, quiet)
	if err != nil {
		b.Fatal(err)
	}
	audited, err := middleware.New(ver, policy, quiet, middleware.WithAudit(func(context.Context, middleware.AuditRecord) {}))
	if err != nil {
		b.Fatal(err)
	}
	var decided atomic.Uint64
	metered, err := middleware.New(ver, policy, quiet, middleware.WithMetrics(func(middleware.DecisionMetric) { decided.Add(1) }))
	if err != nil {
		b.Fatal(err)
	}
	userScopes := "openid fhirUser user/Patient.rs user/Observation.rs user/Encounter.rs user/Condition.rs " +
		"user/Procedure.rs user/AllergyIntolerance.rs user/MedicationRequest.rs user/Immunization.rs"
	userTok := iss.Mint(map[string]any{"sub": "u1", "client_id": "c1", "scope": userScopes})
	patientTok := iss.Mint(map[string]any{"sub": "u1", "client_id": "c1", "scope": "launch/patient patient/*.rs", "patient": "123"})

	request := func(tok, target string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, "http://fhir.example"+target, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
	bare := http.HandlerFunc(benchInner)
	run := func(name string, h http.Handler, r *http.Request) {
		b.Run(name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, r) // warm the verified-token cache
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
	search := "/fhir/Observation?patient=123&_count=50"
	run("bare", bare, request(userTok, search))
	// The policy's share of the overhead: fhirauth's Authorize alone.
	b.Run("authorize-only", func(b *testing.B) {
		r := request(userTok, search)
		p, err := ver.Authenticate(r.Context(), userTok)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, d := policy.Authorize(r.Context(), p, r); !d.Allowed {
				b.Fatal(d.Reason)
			}
		}
	})
	run("cached-token", plain.Wrap(bare), request(userTok, search))
	run("cached-token-audit", audited.Wrap(bare), request(userTok, search))
	run("cached-token-metrics", metered.Wrap(bare), request(userTok, search))
	run("cached-token-patient-narrowed", plain.Wrap(bare), request(patientTok, "/fhir/Observation?code=8867-4&_count=50"))
	// The same app naming its own patient: the query already narrows and
	// is plain, so it is checked and passed on as sent.
	run("cached-token-patient-own", plain.Wrap(bare), request(patientTok, "/fhir/Observation?patient=123&_count=50"))
	// Checked responses: a patient-context read (the Observation is
	// buffered and checked to be in the compartment) and a search with an
	// _include (the Bundle is filtered and sanitized), each with its inner
	// handler alone as its baseline ("<name>-baseline-bare", the
	// convention of bench/cmd/benchtable).
	reader := fixedInner(readResult)
	run("patient-read-baseline-bare", reader, request(patientTok, "/fhir/Observation/obs-1"))
	run("patient-read", plain.Wrap(reader), request(patientTok, "/fhir/Observation/obs-1"))
	includer := fixedInner(includeResult)
	run("patient-search-include-baseline-bare", includer, request(patientTok, "/fhir/Observation?_include=Observation:subject"))
	run("patient-search-include", plain.Wrap(includer), request(patientTok, "/fhir/Observation?_include=Observation:subject"))
}
