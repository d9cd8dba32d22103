package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
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

func benchInner(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = []string{"application/fhir+json"}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(searchResult)
}

// BenchmarkMiddleware compares the inner handler alone (bare) with the
// same handler wrapped, for a search with a token already in the
// verifier's verified-token cache. Overhead = cached-token - bare.
func BenchmarkMiddleware(b *testing.B) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	if err != nil {
		b.Fatal(err)
	}
	defer ver.Close()
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	if err != nil {
		b.Fatal(err)
	}
	quiet := middleware.WithLogger(slog.New(slog.DiscardHandler))
	plain, err := middleware.New(ver, policy, quiet)
	if err != nil {
		b.Fatal(err)
	}
	audited, err := middleware.New(ver, policy, quiet, middleware.WithAudit(func(context.Context, middleware.AuditRecord) {}))
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
	run("cached-token-patient-narrowed", plain.Wrap(bare), request(patientTok, "/fhir/Observation?code=8867-4&_count=50"))
}
