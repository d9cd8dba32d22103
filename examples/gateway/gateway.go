package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirwarden/fhirwarden/examples/internal/fhirmetrics"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// gateway is the running program: the FHIR handler (the middleware around
// the proxy) once the issuer's keys and the FHIR version are known, and
// the operational endpoints (/healthz, /readyz, /metrics) from the start.
// Until the FHIR handler is built, FHIR requests get 503 with Retry-After.
type gateway struct {
	c       *config
	logger  *slog.Logger
	metrics *fhirmetrics.Metrics
	client  *http.Client // for the upstream's metadata
	// capability serves GET metadata and /readyz the upstream's
	// CapabilityStatement; startup and watchUpstream read it fresh.
	capability *capabilityCache
	jobs       *jobStore   // the upstream's export jobs and who started them
	dpop       *dpopScheme // nil: DPoP-bound tokens are refused
	cors       *cors       // nil: no cross-origin access

	fhir      atomic.Pointer[http.Handler]
	verifiers atomic.Pointer[[]*token.Verifier] // one per trusted issuer
	version   atomic.Int32                      // the FHIR version in force (0 until known)
	// upstreamChecked: the upstream's CapabilityStatement has been read
	// and agrees with the version in force.
	upstreamChecked atomic.Bool

	mu      sync.Mutex
	lastErr string // why the FHIR handler is not built yet
}

// notReadyRetry is the Retry-After of FHIR requests answered before the
// gateway is ready.
const notReadyRetry = 5

// retry bounds the background connection attempts (tests shorten them).
var retry = struct{ first, max, attempt time.Duration }{first: time.Second, max: 30 * time.Second, attempt: 30 * time.Second}

func newGateway(c *config, logger *slog.Logger) *gateway {
	t := currentTimeouts()
	client := &http.Client{Timeout: t.upstreamHeader}
	g := &gateway{c: c, logger: logger, metrics: fhirmetrics.New(), client: client,
		capability: &capabilityCache{client: client, upstream: c.upstream.String()},
		jobs:       newJobStore(currentJobLimits())}
	g.cors = newCORS(c.corsOrigins, c.forwardHeaders, c.dpop != nil, g.fhirVersionOrR4)
	return g
}

// fhirVersionOrR4 is the FHIR version in force, R4 until it is known.
func (g *gateway) fhirVersionOrR4() fhirspec.Version {
	if v := fhirspec.Version(g.version.Load()); v.Valid() {
		return v
	}
	return fhirspec.R4
}

// ServeHTTP routes the operational endpoints and hands everything else to
// the FHIR handler (or answers 503 while there is none).
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			writeText(w, http.StatusOK, "ok\n")
			return
		}
	case "/readyz":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			g.ready(w, r)
			return
		}
	case "/metrics":
		if r.Method == http.MethodGet {
			g.metrics.Handler().ServeHTTP(w, r)
			return
		}
	}
	if g.cors != nil && g.cors.handle(w, r) {
		return // a preflight
	}
	if h := g.fhir.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	g.notReady(w)
}

// notReady answers a FHIR request that arrived before the issuer's keys
// (or the upstream's FHIR version) did.
func (g *gateway) notReady(w http.ResponseWriter) {
	body := fhirauth.OperationOutcome(g.fhirVersionOrR4(), "transient", "the gateway is starting: the token issuer or the upstream FHIR server is not reachable yet; try again later")
	h := w.Header()
	h.Set("Content-Type", "application/fhir+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Retry-After", strconv.Itoa(notReadyRetry))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write(body)
}

// ready answers /readyz: 200 when the FHIR handler is built, the issuer's
// keys are loaded and the upstream answered its metadata within
// capabilityTTL; else 503 and the reason.
func (g *gateway) ready(w http.ResponseWriter, r *http.Request) {
	if g.fhir.Load() == nil {
		g.mu.Lock()
		why := g.lastErr
		g.mu.Unlock()
		writeText(w, http.StatusServiceUnavailable, "not ready: "+why+"\n")
		return
	}
	if missing := g.issuerWithoutKeys(); missing != "" {
		writeText(w, http.StatusServiceUnavailable, "not ready: no keys of the token issuer "+missing+" loaded\n")
		return
	}
	if _, err := g.capability.get(r.Context()); err != nil {
		writeText(w, http.StatusServiceUnavailable, "not ready: the upstream does not answer its metadata\n")
		return
	}
	writeText(w, http.StatusOK, "ready\n")
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}

// connect makes one attempt at what the FHIR handler needs: the FHIR
// version (from the flag or the upstream), the issuer's discovery and a
// verifier; then it builds the handler.
func (g *gateway) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, retry.attempt)
	defer cancel()
	version, err := g.fhirVersion(ctx)
	if err != nil {
		return err
	}
	verifiers, md, err := g.buildVerifiers(ctx)
	if err != nil {
		return err
	}
	var auth token.BoundAuthenticator = verifiers[0]
	if len(verifiers) > 1 {
		if auth, err = token.NewIssuers(verifiers...); err != nil {
			closeAll(verifiers)
			return err
		}
	}
	smart, err := smartConfiguration(ctx, g.c.issuers[0].issuer, md)
	if err != nil {
		closeAll(verifiers)
		return err
	}
	policy, err := fhirauth.NewPolicy(g.c.policyOptions(version)...)
	if err != nil {
		closeAll(verifiers)
		return err
	}
	mw, err := middleware.New(verifiedOnce{auth}, policy, g.middlewareOptions()...)
	if err != nil {
		closeAll(verifiers)
		return err
	}
	router := http.NewServeMux()
	router.Handle("GET "+policy.BasePath()+"/.well-known/smart-configuration", smart)
	router.Handle("GET "+policy.BasePath()+"/metadata", &capabilityHandler{capability: g.capability,
		base: policy.BasePath(), version: version, oauth: *md, logger: g.logger})
	proxy := newProxy(g.c, policy, g.logger, g.jobs)
	router.Handle("/", proxy)
	guard := &jobGuard{store: g.jobs, auth: auth, proxy: proxy,
		logger: g.logger, observe: g.metrics.Observe, version: version, policy: policy, binary: policy.BasePath() + "/Binary/",
		dpop: g.dpop}
	guard.next = mw.Wrap(guard.withholdFiles(router))
	var h http.Handler = guard
	g.verifiers.Store(&verifiers)
	g.metrics.SetVerifier(verifiers[0])
	g.fhir.Store(&h)
	return nil
}

// middlewareOptions are the middleware's options: DPoP's when it is on.
func (g *gateway) middlewareOptions() []middleware.Option {
	opts := []middleware.Option{middleware.WithLogger(g.logger), middleware.WithMaxResponseSize(g.c.maxResponse),
		middleware.WithMetrics(g.metrics.Observe), middleware.WithRequestIDs()}
	if g.dpop != nil {
		opts = append(opts, middleware.WithDPoP(g.dpop.cfg))
	}
	return opts
}

// dpopReplaySize bounds the in-memory replay cache: at the default 60 s
// window, over 1,600 proofs a second.
const dpopReplaySize = 100_000

// dpopScheme is what the middleware and the job routes check DPoP
// proofs with: one replay cache and one nonce source, so that a proof
// used on a job's URL is spent for every other URL too, and the other
// way round.
type dpopScheme struct {
	cfg     middleware.DPoPConfig // the middleware's, ExternalURL the origin proofs name
	checker *token.DPoPChecker    // the job routes'
}

// newDPoPScheme builds the DPoP scheme of c (nil when DPoP is off).
func newDPoPScheme(c *config) (*dpopScheme, error) {
	if c.dpop == nil {
		return nil, nil
	}
	cfg := middleware.DPoPConfig{ExternalURL: c.dpop.publicURL,
		DPoPConfig: token.DPoPConfig{Replay: token.NewMemoryReplayCache(dpopReplaySize), Nonces: c.dpop.nonces}}
	checker, err := token.NewDPoPChecker(cfg.DPoPConfig)
	if err != nil {
		return nil, err
	}
	return &dpopScheme{cfg: cfg, checker: checker}, nil
}

// fhirVersion is -fhir-version, checked against the upstream's
// CapabilityStatement when the upstream answers, or read from it when the
// flag was not given.
func (g *gateway) fhirVersion(ctx context.Context) (fhirspec.Version, error) {
	body, err := fetchCapability(ctx, g.client, g.c.upstream.String())
	if err != nil {
		if g.c.version.Valid() {
			// The flag decides; the upstream is checked when it answers
			// a request (readiness says it is down).
			g.version.Store(int32(g.c.version))
			return g.c.version, nil
		}
		return 0, fmt.Errorf("reading the upstream's FHIR version (or give -fhir-version): %w", err)
	}
	g.upstreamChecked.Store(true)
	v, raw, err := capabilityVersion(body)
	switch {
	case err != nil && g.c.version.Valid():
		g.logger.Warn("gateway: the upstream's CapabilityStatement does not say its FHIR version; using -fhir-version", "error", err, "fhir_version", g.c.version.String())
		v = g.c.version
	case err != nil:
		return 0, err
	case g.c.version.Valid() && v != g.c.version:
		return 0, fmt.Errorf("%w: the upstream says fhirVersion %q (%v), -fhir-version is %v", errVersionMismatch, raw, v, g.c.version)
	default:
		g.logger.Info("gateway: the upstream's FHIR version", "fhirVersion", raw, "fhir_version", v.String())
	}
	g.version.Store(int32(v))
	return v, nil
}

// connectLoop retries connect with exponential backoff until it succeeds,
// fails for good (a version mismatch) or ctx ends.
func (g *gateway) connectLoop(ctx context.Context, first error) {
	wait := retry.first
	for err := first; err != nil; {
		g.setErr(err)
		if errors.Is(err, errVersionMismatch) {
			g.logger.Error("gateway: not serving FHIR requests", "error", err)
			return
		}
		g.logger.Warn("gateway: not ready; retrying", "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, retry.max)
		err = g.connect(ctx)
	}
	g.setErr(nil)
	g.logger.Info("gateway: ready", "fhir_version", fhirspec.Version(g.version.Load()).String())
}

// setErr records why the gateway is not ready, for /readyz: the stage
// that failed (the first part of err's message), not the errors wrapped
// below it, which name the upstream's internal address and the network's
// answers. /readyz answers anyone; the log has the whole error.
func (g *gateway) setErr(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastErr = ""
	if err != nil {
		g.lastErr, _, _ = strings.Cut(err.Error(), ": ")
	}
}

// watchUpstream waits for an upstream that was down at start (the FHIR
// version came from -fhir-version) to answer its metadata, then checks
// the version: on a mismatch the gateway stops serving FHIR requests
// (503) rather than decide them with the wrong compartment tables.
func (g *gateway) watchUpstream(ctx context.Context) {
	wait := retry.first
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, retry.max)
		actx, cancel := context.WithTimeout(ctx, retry.attempt)
		body, err := fetchCapability(actx, g.client, g.c.upstream.String())
		cancel()
		if err != nil {
			continue
		}
		g.upstreamChecked.Store(true)
		v, raw, err := capabilityVersion(body)
		switch {
		case err != nil:
			g.logger.Warn("gateway: the upstream's CapabilityStatement does not say its FHIR version; using -fhir-version", "error", err)
		case v != g.c.version:
			err := fmt.Errorf("%w: the upstream says fhirVersion %q (%v), -fhir-version is %v", errVersionMismatch, raw, v, g.c.version)
			g.logger.Error("gateway: not serving FHIR requests", "error", err)
			g.setErr(err)
			g.fhir.Store(nil)
		default:
			g.logger.Info("gateway: the upstream's FHIR version", "fhirVersion", raw, "fhir_version", v.String())
		}
		return
	}
}

// issuerWithoutKeys names a trusted issuer none of whose keys are loaded
// yet ("" when every issuer has keys).
func (g *gateway) issuerWithoutKeys() string {
	vs := g.verifiers.Load()
	if vs == nil {
		return g.c.issuers[0].issuer
	}
	for i, v := range *vs {
		if v.Stats().KeysLoaded == 0 {
			return g.c.issuers[i].issuer
		}
	}
	return ""
}

// close releases the verifiers' background refresh.
func (g *gateway) close() {
	if vs := g.verifiers.Load(); vs != nil {
		closeAll(*vs)
	}
}

// buildVerifiers discovers every trusted issuer and builds its Verifier.
// It returns them in configuration order, with the first issuer's
// discovery document (whose endpoints the gateway publishes).
func (g *gateway) buildVerifiers(ctx context.Context) ([]*token.Verifier, *token.ProviderMetadata, error) {
	var verifiers []*token.Verifier
	var first *token.ProviderMetadata
	for _, is := range g.c.issuers {
		md, err := token.DiscoverOpenID(ctx, is.issuer)
		if err != nil {
			closeAll(verifiers)
			return nil, nil, fmt.Errorf("discovering the issuer %s: %w", is.issuer, err)
		}
		jwks := md.JWKSURI
		if is.jwksURL != "" {
			jwks = is.jwksURL
		}
		vopts := []token.VerifierOption{token.WithLogger(g.logger)}
		if len(is.algorithms) > 0 {
			vopts = append(vopts, token.WithAlgorithms(is.algorithms...))
		}
		if len(is.clients) > 0 {
			vopts = append(vopts, token.WithAllowedClients(is.clients...))
		}
		v, err := token.NewVerifier(ctx, token.Config{Issuer: is.issuer, Audiences: g.c.audiences, JWKSURL: jwks, Claims: is.mapping}, vopts...)
		if err != nil {
			closeAll(verifiers)
			return nil, nil, fmt.Errorf("issuer %s: %w", is.issuer, err)
		}
		if first == nil {
			first = md
		}
		verifiers = append(verifiers, v)
	}
	return verifiers, first, nil
}

func closeAll(vs []*token.Verifier) {
	for _, v := range vs {
		_ = v.Close()
	}
}
