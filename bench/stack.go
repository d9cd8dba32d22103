package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// BasePath is the FHIR base path of the servers under load.
const BasePath = "/fhir"

// Stack is the system under test: a tokentest issuer, a token.Verifier on
// its JWKS, a fhirauth.Policy, and the same SearchHandler served twice on
// 127.0.0.1: bare and wrapped by the middleware.
type Stack struct {
	Issuer     *tokentest.Issuer
	Verifier   *token.Verifier
	Handler    *SearchHandler
	BareURL    string // http://127.0.0.1:port, serving Handler unprotected
	WrappedURL string // http://127.0.0.1:port, serving Handler behind the middleware

	audits   atomic.Int64
	measured atomic.Int64 // decisions reported to the metrics hook
	servers  []*http.Server
}

// StackOptions tunes NewStack.
type StackOptions struct {
	// Verifier options added after the defaults (JWKS from the issuer,
	// default verified-token cache, logging discarded).
	VerifierOptions []token.VerifierOption
	// Audit, when set, receives every audit record. By default records
	// are only counted: the bare server writes no access log either, so
	// the comparison charges the middleware for authorizing, not for
	// logging. JSONAudit formats them as a deployment would.
	Audit func(context.Context, middleware.AuditRecord)
	// Patients and PerPatient size the SearchHandler's data (default 50, 4).
	Patients, PerPatient int
}

// NewStack starts everything. Close it when done.
func NewStack(ctx context.Context, o StackOptions) (s *Stack, err error) {
	if o.Patients == 0 {
		o.Patients = 50
	}
	if o.PerPatient == 0 {
		o.PerPatient = 4
	}
	s = &Stack{Issuer: tokentest.NewIssuer(), Handler: NewSearchHandler(BasePath, o.Patients, o.PerPatient)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	quiet := slog.New(slog.DiscardHandler)
	vopts := append([]token.VerifierOption{token.WithLogger(quiet)}, o.VerifierOptions...)
	s.Verifier, err = token.NewVerifier(ctx, token.Config{
		Issuer:   s.Issuer.URL,
		Audience: s.Issuer.Audience(),
		JWKSURL:  s.Issuer.JWKSURL(),
	}, vopts...)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath(BasePath))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	audit := o.Audit
	if audit == nil {
		audit = func(context.Context, middleware.AuditRecord) {}
	}
	counted := func(ctx context.Context, r middleware.AuditRecord) {
		s.audits.Add(1)
		audit(ctx, r)
	}
	// The wrapped server runs as a production one would: audited, and with
	// a metrics hook (a counter, as a Prometheus exporter keeps).
	metrics := func(middleware.DecisionMetric) { s.measured.Add(1) }
	mw, err := middleware.New(s.Verifier, policy, middleware.WithAudit(counted), middleware.WithLogger(quiet),
		middleware.WithMetrics(metrics))
	if err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	if s.BareURL, err = s.serve(s.Handler); err != nil {
		return nil, err
	}
	if s.WrappedURL, err = s.serve(mw.Wrap(s.Handler)); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stack) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// JSONAudit returns an audit sink that formats every record with slog's
// JSON handler into io.Discard: the cost of an audit log without its I/O.
func JSONAudit() func(context.Context, middleware.AuditRecord) {
	sink := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return func(ctx context.Context, r middleware.AuditRecord) {
		sink.LogAttrs(ctx, slog.LevelInfo, "fhirwarden audit",
			slog.String("client_id", r.ClientID), slog.String("sub", r.Subject),
			slog.String("patient", r.Patient), slog.String("method", r.Method),
			slog.String("path", r.Path), slog.Any("interactions", r.Interactions),
			slog.Any("resource_types", r.ResourceTypes), slog.String("decision", r.Decision),
			slog.String("reason", r.Reason), slog.Int("status", r.Status),
			slog.Duration("latency", r.Latency))
	}
}

// AuditRecords is how many requests the middleware has audited.
func (s *Stack) AuditRecords() int64 { return s.audits.Load() }

// Measured is how many decisions the middleware has reported to its
// metrics hook.
func (s *Stack) Measured() int64 { return s.measured.Load() }

// Close stops the servers, the verifier and the issuer.
func (s *Stack) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	if s.Verifier != nil {
		_ = s.Verifier.Close()
	}
	s.Issuer.Close()
}

// Scenario is a kind of caller for the load comparison.
type Scenario struct {
	Name   string
	Claims map[string]any // token claims beyond the issuer's defaults
	// Path is the request path and query (SearchPath for the scenario's patient).
	Path string
	// BarePath, when set, is what the bare server is sent instead of
	// Path: the request as the middleware forwards it after narrowing, so
	// that both servers' handlers do the same work.
	BarePath string
}

// ScenarioNamed returns the scenario of Scenarios called name.
func ScenarioNamed(name string) (Scenario, bool) {
	for _, sc := range Scenarios() {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

// ScenarioNames lists the names of Scenarios, comma separated, for flag
// help and messages.
func ScenarioNames() string {
	var names []string
	for _, sc := range Scenarios() {
		names = append(names, sc.Name)
	}
	return strings.Join(names, ", ")
}

// Target is the URL of the scenario's request to the wrapped server, or
// to the bare one (its BarePath when set).
func (s *Stack) Target(sc Scenario, wrapped bool) string {
	if wrapped {
		return s.WrappedURL + sc.Path
	}
	return s.BareURL + sc.barePath()
}

// barePath is the request the bare server gets.
func (sc Scenario) barePath() string {
	if sc.BarePath != "" {
		return sc.BarePath
	}
	return sc.Path
}

// Scenarios are the callers the load comparison measures: a clinician app
// with user/ scopes searching (authorize, then stream the response
// through); a patient app with patient/ scopes searching for its own
// patient's Observations (the patient parameter is checked to name the
// token's patient; the query, already narrowed and plainly written, is
// passed on as sent); the same app searching without naming the patient
// (the middleware rewrites the query to add patient=Patient/ID; the bare
// server is sent that rewritten query); the same app reading one
// Observation (the response is buffered and checked to be in the
// compartment before it is sent).
func Scenarios() []Scenario {
	pid := PatientID(1)
	patientApp := map[string]any{"sub": "Patient/" + pid, "client_id": "patient-app", "scope": "launch/patient patient/Observation.rs patient/Patient.rs", "patient": pid}
	return []Scenario{
		{
			Name:   "user-search",
			Claims: map[string]any{"sub": "Practitioner/1234", "client_id": "clinician-app", "scope": "user/Observation.rs user/Patient.rs"},
			Path:   SearchPath(BasePath, pid),
		},
		{Name: "patient-search", Claims: patientApp, Path: SearchPath(BasePath, pid)},
		{
			Name: "patient-search-narrowed", Claims: patientApp,
			Path:     BasePath + "/Observation?_count=20",
			BarePath: BasePath + "/Observation?_count=20&patient=Patient%2F" + pid,
		},
		{Name: "patient-read", Claims: patientApp, Path: ReadPath(BasePath, 1, 0)},
	}
}
