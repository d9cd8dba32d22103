package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// jobGuard lets the client that started an upstream export job poll,
// cancel and download it. The policy cannot classify the upstream's
// status and file URLs, so a request for a recorded URL whose token
// verifies and names the job's identity goes to the proxy without it.
// Every other request, including one for a recorded URL with another
// identity, no token or a bad one, goes to the middleware, which answers
// exactly as it does for a URL no job recorded (withholdFiles then keeps
// a job's file that is an ordinary FHIR URL from all but its owner): the
// answer shows no more than a guess would.
type jobGuard struct {
	store   *jobStore
	auth    token.BoundAuthenticator // the middleware's
	next    http.Handler             // the middleware around withholdFiles and the router
	proxy   http.Handler
	logger  *slog.Logger
	observe func(middleware.DecisionMetric)
	version fhirspec.Version // of the OperationOutcome of a withheld file
	policy  *fhirauth.Policy // decides a job's kick-off again for its owner's requests
	binary  string           // "[base]/Binary/"
	dpop    *dpopScheme      // nil: DPoP-bound tokens are refused
}

// binaryOf is the path of the Binary resource ([base]/Binary/[id], as
// binaryPath keys it) that a request on path reads: the resource's own
// path or one under it (its history, a version); "" for none. One
// prefix, so that telling a request for a job's Binary from others
// costs one lookup, however many segments its path has.
func (g *jobGuard) binaryOf(path string) string {
	rest, ok := strings.CutPrefix(path, g.binary)
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" || rest[0] != '0' {
		return path[:len(g.binary)+len(rest)] // keyed as it is: no copy
	}
	return binaryPath(g.binary, rest)
}

// jobCtxKey marks, in the context handed to the proxy, a request of a
// job's owner (its value is the jobURL).
type jobCtxKey struct{}

// verifiedOnce is the middleware's Authenticator: for a request jobGuard
// verified already and hands on, it answers what that verification did.
// The token counters on /metrics then move for a request on a job's URL
// as for any other, instead of twice, which would tell that a job is
// there. A verification answers only the same kind of call: one by
// AuthenticateBound (a DPoP token's, cnf included) never answers
// Authenticate, which must refuse a bound token presented as Bearer.
// What AuthenticateBound returns still has its Confirmation, so the DPoP
// checker compares it with the proof's key on every request, memoized
// or not.
type verifiedOnce struct{ token.BoundAuthenticator }

// verification is the outcome of jobGuard's verification of raw, by
// AuthenticateBound when bound.
type verification struct {
	raw   string
	bound bool
	p     *token.Principal
	err   error
}

type verificationKey struct{}

// memo is the verification of raw in ctx made by the same kind of call.
func memo(ctx context.Context, raw string, bound bool) (*verification, bool) {
	v, ok := ctx.Value(verificationKey{}).(*verification)
	return v, ok && v.raw == raw && v.bound == bound
}

func (a verifiedOnce) Authenticate(ctx context.Context, raw string) (*token.Principal, error) {
	if v, ok := memo(ctx, raw, false); ok {
		return v.p, v.err
	}
	return a.BoundAuthenticator.Authenticate(ctx, raw)
}

// AuthenticateBound implements token.BoundAuthenticator: its answer
// admits nobody until a DPoP checker has matched the proof's key.
func (a verifiedOnce) AuthenticateBound(ctx context.Context, raw string) (*token.Principal, error) {
	if v, ok := memo(ctx, raw, true); ok {
		return v.p, v.err
	}
	return a.BoundAuthenticator.AuthenticateBound(ctx, raw)
}

func (g *jobGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ju, exact := g.jobOf(r)
	if ju.job == nil {
		g.next.ServeHTTP(w, r)
		return
	}
	if exact && jobMethod(r.Method, ju.file) && fhirauth.MethodOverride(r.Header) == "" {
		p, vr := g.verified(r, ju.job.owner)
		if p != nil {
			if g.stillGranted(w, vr, p, ju.job) {
				g.serveOwner(w, vr, p, ju)
			}
			return
		}
		r = vr
	}
	if ju.file {
		r = r.WithContext(context.WithValue(r.Context(), jobFileKey{}, ju.job))
	}
	g.next.ServeHTTP(w, r)
}

// jobOf returns the live job whose URL r names (exact), or whose Binary
// file r reads by another URL (another query, its history): the zero
// jobURL for none.
func (g *jobGuard) jobOf(r *http.Request) (ju jobURL, exact bool) {
	if ju, ok := g.store.lookup(r.URL); ok {
		return ju, true
	}
	if j, ok := g.store.binaryAt(g.binaryOf(r.URL.Path)); ok {
		return jobURL{job: j, file: true}, false
	}
	return jobURL{}, false
}

// jobFileKey marks, in the context of a request jobGuard hands to the
// middleware, the job one of whose files the request is for.
type jobFileKey struct{}

// withholdFiles, behind the middleware, keeps the Binaries that are
// live jobs' files from all but their owners. The policy lets any token
// with Binary read (or write) have a Binary, whatever types an export
// file holds (HAPI serves them as Binary/[id]):
//   - a request for a job's file (its URL, or any on or under its
//     Binary's path) is answered as a missing resource unless the
//     middleware authenticated the job's owner;
//   - while such a file is live, a request that could find it other
//     than by its path (a Binary search or history, a system search or
//     history, an _include, a conditional write, a batch entry) is
//     refused, for every client (the owner has the file's URL).
//
// It decides on the Principal and the Request the middleware
// authenticated and classified, so that no spelling of a token or a
// request the guard would read otherwise goes around it, and after the
// policy, so that a request the policy refuses gets the refusal it
// would get were there no job.
func (g *jobGuard) withholdFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if j, _ := ctx.Value(jobFileKey{}).(*job); j != nil {
			if p := middleware.PrincipalFrom(ctx); p == nil || identityOf(p) != j.owner {
				writeOutcome(w, r, g.version, http.StatusNotFound, "not-found", "the resource was not found")
				return
			}
		} else if d := middleware.DecisionFrom(ctx); d != nil && d.Request() != nil &&
			g.store.holdsBinaries() && g.findsJobBinary(d.Request()) {
			writeOutcome(w, r, g.version, http.StatusForbidden, "forbidden",
				"refused: a request that could find a Binary other than by its URL, while an export job's files are Binaries")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// findsJobBinary reports whether req (or an entry of it) may read or
// change a Binary that is a live job's file: it names one by id, or it
// returns (or writes) Binaries it does not name (a reach of Binary or
// of any type). A plain create, a compartment (none holds Binary) and
// a page of a search decided when it began are not.
func (g *jobGuard) findsJobBinary(req *fhirauth.Request) bool {
	for _, e := range req.Entries {
		if g.findsJobBinary(e) {
			return true
		}
	}
	if req.ResourceType == "Binary" && req.ID != "" {
		if _, held := g.store.binaryAt(binaryPath(g.binary, req.ID)); held {
			return true
		}
	}
	for _, reach := range req.Reaches {
		switch {
		case reach.Type != "Binary" && reach.Type != "*":
		case reach.Kind == fhirauth.ReachTarget && (req.ID != "" || (req.Interaction == fhirauth.Create && !req.Conditional)):
		case reach.Kind != fhirauth.ReachTarget && reach.Kind != fhirauth.ReachInclude &&
			reach.Kind != fhirauth.ReachRevInclude && reach.Kind != fhirauth.ReachType:
			// Chains, _has and _list only filter; no compartment holds Binary.
		case req.Interaction == fhirauth.PageContinuation:
		default:
			return true
		}
	}
	return false
}

// jobMethod reports whether a job's URL serves method: the status URL
// is polled (GET) and cancelled (DELETE), a file downloaded (GET).
func jobMethod(method string, file bool) bool {
	return method == http.MethodGet || (!file && method == http.MethodDelete)
}

// verified returns the request's Principal when its token verifies and
// names owner (and, with the DPoP scheme, its proof holds for this URL
// and method and is signed by the key the token is bound to); else nil,
// and the middleware answers as it does for any request. The token is
// read by middleware.BearerToken or middleware.DPoPToken, as the
// gateway's middleware (no form-body tokens) reads it, so that no
// spelling of the headers the middleware takes passes here unread. The
// request returned carries the verification for the middleware
// (verifiedOnce), so the token is verified once either way.
func (g *jobGuard) verified(r *http.Request, owner identity) (*token.Principal, *http.Request) {
	if g.dpop != nil {
		if raw, proof, ok := middleware.DPoPToken(r.Header); ok {
			return g.verifiedDPoP(r, owner, raw, proof)
		}
	}
	raw, ok := middleware.BearerToken(r.Header)
	if !ok {
		return nil, r
	}
	p, err := g.auth.Authenticate(r.Context(), raw)
	r = r.WithContext(context.WithValue(r.Context(), verificationKey{}, &verification{raw: raw, p: p, err: err}))
	if err != nil || identityOf(p) != owner {
		return nil, r
	}
	return p, r
}

// verifiedDPoP is verified for the DPoP scheme. The proof is checked
// (and spent) only for the owner's token: for anyone else the middleware
// checks it, as on any URL, and a proof checked here and there would be
// refused there as a replay, which would tell that a job is there. A
// proof refused here is checked again by the middleware, which refuses
// it in the same words: a refused proof is not spent.
func (g *jobGuard) verifiedDPoP(r *http.Request, owner identity, raw, proof string) (*token.Principal, *http.Request) {
	ctx := r.Context()
	p, err := g.auth.AuthenticateBound(ctx, raw)
	ctx = context.WithValue(ctx, verificationKey{}, &verification{raw: raw, bound: true, p: p, err: err})
	r = r.WithContext(ctx)
	if err != nil || identityOf(p) != owner {
		return nil, r
	}
	htu, err := g.dpop.cfg.ProofURL(r)
	if err != nil {
		return nil, r
	}
	req := token.ProofRequest{Method: r.Method, URL: htu}
	if p, err = g.dpop.checker.Authenticate(ctx, verifiedOnce{g.auth}, raw, proof, req); err != nil {
		return nil, r
	}
	return p, r
}

// refuse answers a job request with status and an OperationOutcome of
// code and diagnostics, and reports it as the middleware reports a
// denial (kind, the audit reason).
func (g *jobGuard) refuse(w http.ResponseWriter, r *http.Request, p *token.Principal, status int, code, diagnostics, kind, reason string) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	writeOutcome(w, r, g.version, status, code, diagnostics)
	g.observe(middleware.DecisionMetric{Interaction: "operation", Outcome: middleware.AuditDeny, Status: status,
		ReasonKind: kind, Latency: time.Since(start)})
	rec := g.record(r, p, id, start)
	rec.Decision, rec.Status, rec.ErrorKind, rec.Reason = middleware.AuditDeny, status, kind, reason
	rec.Log(r.Context(), g.logger)
}

// stillGranted reports whether p's token still grants the export that
// started the job: ownership is by identity, and the scopes of the
// token a job is polled or downloaded with may be narrower than the
// kick-off's (a consent withdrawn, a role taken away); else it refuses
// the request as the policy would refuse the kick-off now.
func (g *jobGuard) stillGranted(w http.ResponseWriter, r *http.Request, p *token.Principal, j *job) bool {
	reason := "the kick-off of this export job is not known"
	if j.kickoff != nil {
		d := g.policy.Decide(r.Context(), p, j.kickoff)
		if d.Allowed {
			return true
		}
		reason = d.Reason
	}
	g.refuse(w, r, p, http.StatusForbidden, "forbidden", reason, middleware.ReasonScope,
		"the export job's kick-off is no longer granted: "+reason)
	return false
}

// serveOwner proxies the owner's request and reports it as the
// middleware reports others: an audit record and a metric.
func (g *jobGuard) serveOwner(w http.ResponseWriter, r *http.Request, p *token.Principal, ju jobURL) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	sw := &statusWriter{ResponseWriter: w}
	served := false
	defer func() {
		// Also when the proxy panics (the client or the upstream broke
		// off): the request happened and is reported as cut off.
		g.report(r, p, ju, sw.status(), time.Since(start), id, !served)
	}()
	g.proxy.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), jobCtxKey{}, ju)))
	served = true
}

// report writes the audit record (in the middleware's shape, through
// the same logger) and the metric of an owner's request.
func (g *jobGuard) report(r *http.Request, p *token.Principal, ju jobURL, status int, latency time.Duration, id string, cut bool) {
	reason := "the export job's status URL, of the client that started the job"
	if ju.file {
		reason = "a file of the export job's manifest, of the client that started the job"
	}
	if cut {
		reason += "; the response was cut off: the handler aborted"
	}
	g.observe(middleware.DecisionMetric{Interaction: "operation", Outcome: middleware.AuditAllow, Status: status, Latency: latency})
	if !g.logger.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	rec := g.record(r, p, id, time.Now().Add(-latency))
	rec.Decision, rec.Reason, rec.Status, rec.Latency = middleware.AuditAllow, reason, status, latency
	rec.Log(r.Context(), g.logger)
}

// record is the audit record of a job request by p that arrived at
// start, without its outcome.
func (g *jobGuard) record(r *http.Request, p *token.Principal, id string, start time.Time) middleware.AuditRecord {
	return middleware.AuditRecord{
		Time: start, ClientID: p.ClientID, Subject: p.Subject, Patient: p.Patient,
		Method: r.Method, Path: r.URL.EscapedPath(), Interactions: []string{"operation"}, ResourceTypes: []string{},
		Issuer: p.Issuer, TokenID: p.TokenID, RemoteAddr: r.RemoteAddr, RequestID: id, Latency: time.Since(start),
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status written. Unwrap lets the proxy
// flush a streamed file through it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
