package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/token"
)

// Middleware puts SMART on FHIR authorization in front of an http.Handler:
// it takes the bearer token from the Authorization header, authenticates
// it, classifies and decides the FHIR request with a fhirauth.Policy, and
// either answers the refusal itself (an OperationOutcome with an RFC 6750
// challenge) or calls the wrapped handler with the Principal and the
// Decision in the request context, narrowing searches and checking
// responses as the Decision requires. Build it with New; it is immutable
// and safe for concurrent use.
type Middleware struct {
	auth       token.Authenticator
	policy     *fhirauth.Policy
	version    fhirspec.Version
	cfg        config
	maxHeader  int
	retryAfter string
	// syntaxChecked: the Authenticator refuses tokens outside RFC 6750's
	// b64token syntax itself (token.Verifier, token.Introspector), so the
	// middleware need not scan every byte again.
	syntaxChecked bool
	// basePlain: the policy's base path is its own escaped form, so the
	// path of a classified request (base and segments of letters, digits
	// and "-._$") is too (see auditPath).
	basePlain bool
}

// New builds a Middleware from an Authenticator (a token.Verifier, a
// token.Introspector, or token.FirstOf both) and a Policy, with safe
// defaults: tokens only in the Authorization header, GET {base}/metadata
// and GET {base}/.well-known/smart-configuration public (with the
// parameters of their interaction only: _format, _pretty, _summary,
// _elements and mode for metadata, none for the SMART configuration;
// any other parameter makes the request need a token), searches narrowed
// by query rewrite, responses checked when the decision says so (buffered
// up to DefaultMaxResponseSize), audit records written through
// slog.Default(). A nil authenticator or policy, or a policy not built by
// fhirauth.NewPolicy, is an error.
func New(auth token.Authenticator, policy *fhirauth.Policy, opts ...Option) (*Middleware, error) {
	if isNil(auth) {
		return nil, errors.New("middleware: nil Authenticator")
	}
	if policy == nil {
		return nil, errors.New("middleware: nil Policy")
	}
	if !policy.Version().Valid() {
		return nil, errors.New("middleware: the Policy has no FHIR version and base path; build it with fhirauth.NewPolicy")
	}
	c := config{
		realm:         defaultRealm,
		defaultPublic: true,
		narrow:        true,
		stored:        true,
		streamChecks:  true,
		maxToken:      token.DefaultMaxTokenSize,
		maxResponse:   DefaultMaxResponseSize,
		budget:        &checkBudget{max: DefaultCheckMemoryBudget},
		maxBody:       policy.MaxBodySize(), // the form bodies read here (tokens, POST _search) keep to the policy's limit
		retryAfter:    defaultRetryAfter,
		bodyTimeout:   DefaultBodyReadTimeout,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("middleware: nil Option")
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.defaultPublic {
		base := policy.BasePath()
		// The default endpoints take only the parameters of their
		// interaction: anything else (_getpages, a search parameter) may
		// mean something else to the server, so it needs a token and goes
		// through the policy like any other request.
		c.public = append(c.public,
			endpoint{method: http.MethodGet, path: base + "/metadata", restricted: true,
				params: []string{"_format", "_pretty", "_summary", "_elements", "mode"}},
			endpoint{method: http.MethodGet, path: base + "/.well-known/smart-configuration", restricted: true})
	}
	for i := range c.public {
		if u, err := url.PathUnescape(c.public[i].path); err == nil {
			c.public[i].unescaped = u
		}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if err := c.bindAuthenticator(auth); err != nil {
		return nil, err
	}
	return &Middleware{
		auth:          auth,
		policy:        policy,
		version:       policy.Version(),
		cfg:           c,
		maxHeader:     c.maxToken + len("Bearer "),
		retryAfter:    c.retryAfterValue(),
		syntaxChecked: checksSyntax(auth),
		basePlain:     escapedPath(&url.URL{Path: policy.BasePath()}) == policy.BasePath(),
	}, nil
}

// checksSyntax reports whether auth refuses malformed tokens before any
// other work: the Authenticators of package token do (the Verifier accepts
// only base64url JWS parts, the Introspector only b64token).
func checksSyntax(auth token.Authenticator) bool {
	switch auth.(type) {
	case *token.Verifier, *token.Introspector:
		return true
	}
	return false
}

// isNil reports whether an interface holds nothing or a nil pointer.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Interface, reflect.Slice, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// Wrap returns next secured by m. Its signature is that of every Go
// middleware (func(http.Handler) http.Handler), so m.Wrap also plugs into
// routers that take middleware functions. It panics if next is nil.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	if next == nil {
		panic("middleware: Wrap(nil)")
	}
	return &handler{m: m, next: next}
}

// handler is a wrapped http.Handler.
type handler struct {
	m    *Middleware
	next http.Handler
}

// requestState is everything the middleware knows about one request: the
// value behind PrincipalFrom and DecisionFrom in the context of the
// request handed on.
type requestState struct {
	start     time.Time
	rec       recorder
	buf       *buffer // the response buffer of a checked request (nil until one is needed)
	principal *token.Principal
	request   *fhirauth.Request
	decision  *fhirauth.Decision
	public    bool
	denied    bool      // the client was refused (by the decision or a response check)
	withheld  int32     // resources removed by response checks
	reason    string    // why, for the audit record
	dpop      bool      // the request used the DPoP scheme: refusals challenge in it
	aborted   bool      // a streamed response failed its check after it began: abort it
	cutOff    bool      // the next handler panicked: the response may be incomplete
	body      *heldBody // the request body while the middleware reads it (nil: none)
	// hidden: answered with existence hiding's 404 (notFound), whether
	// the resource was withheld or is missing; the metric counts both
	// alike (see emitMetric), the audit record tells them apart.
	hidden bool

	interactions [1]string
	types        [4]string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &requestState{rec: recorder{w: w}}
	if h.m.cfg.onError != nil {
		st.rec.w = &requestWriter{ResponseWriter: w, r: r}
	}
	auditing := h.m.auditing(r.Context())
	if auditing || h.m.cfg.metrics != nil {
		st.start = time.Now()
	}
	if auditing {
		// The request id goes back to the client before anything is
		// written, and into the audit record.
		setRequestID(w, r, h.m.cfg.requestIDs)
	}
	served := false
	defer func() {
		if !served {
			// next panicked: httputil.ReverseProxy does (with
			// http.ErrAbortHandler) when the client hangs up in the
			// middle of the body or the upstream breaks off. The
			// request happened all the same: it is audited and
			// counted as cut off, and the panic goes on to net/http.
			st.cutOff = true
			h.m.report(st, r, auditing)
		}
	}()
	h.m.serve(st, h.next, r)
	served = true
	h.m.report(st, r, auditing)
	if st.aborted {
		// The client has part of a checked response that then failed
		// its check: net/http closes the connection without ending
		// the body, so the part cannot pass for the whole.
		panic(http.ErrAbortHandler)
	}
}

// report hands the request's audit record and metric to their sinks.
func (m *Middleware) report(st *requestState, r *http.Request, auditing bool) {
	if auditing {
		m.emitAudit(st, r)
	}
	if m.cfg.metrics != nil {
		m.emitMetric(st)
	}
}

// serve runs the whole pipeline for one request.
func (m *Middleware) serve(st *requestState, next http.Handler, r *http.Request) {
	if m.isPublic(r) {
		// fhirauth refuses method-override headers on every request it
		// classifies; a public endpoint is not classified.
		if h := fhirauth.MethodOverride(r.Header); h != "" {
			m.refuseChallenge(st, http.StatusBadRequest, "not-supported",
				h+" is not accepted: the request would be authorized as "+r.Method+" and might run as another method", errInvalidRequest)
			return
		}
		st.public = true
		st.reason = "public endpoint"
		next.ServeHTTP(&st.rec, r)
		return
	}
	if hasAccessTokenParam(r.URL.RawQuery) {
		m.refuseBearer(st, bearerInQuery)
		return
	}
	st.body = holdBody(r, st.rec.w, &m.cfg)
	defer st.body.release(r)
	var p *token.Principal
	if m.cfg.dpop != nil && usesDPoP(r.Header) {
		st.dpop = true
		p = m.authenticateDPoP(st, r)
	} else {
		p = m.authenticateBearer(st, r)
	}
	if p == nil {
		return // refused
	}
	st.principal = p
	st.rec.private = true
	req, d := m.policy.Authorize(r.Context(), p, r)
	st.request, st.decision = req, d
	st.body.handOff(r)
	if m.refusedBody(st) {
		return
	}
	if d == nil {
		m.refuse(st, http.StatusInternalServerError, "exception", "the policy returned no decision")
		return
	}
	if carriesToken(req) {
		// A form body of POST _search (or a Bundle entry's URL) carrying
		// a token next to the header.
		m.refuseBearer(st, bearerInForm)
		return
	}
	if !d.Allowed {
		m.refuseDecision(st, d)
		return
	}
	if m.refuseAsync(st, r, req, d) {
		return // before narrowing, stored checks or the server
	}
	ctx := r.Context()
	r = r.WithContext(context.WithValue(ctx, stateKey{}, st))
	if isBundle(req) {
		if needsBundleWork(req, d, m.cfg.narrow, m.cfg.stored) {
			m.serveBundle(st, ctx, next, r, req, d)
			return
		}
		next.ServeHTTP(&st.rec, r)
		return
	}
	if m.cfg.narrow {
		if err := narrowRequest(r, req, d, m.cfg.maxBody); err != nil {
			if errors.Is(err, errBodyNotNarrowable) {
				m.refuseChallenge(st, http.StatusBadRequest, "not-supported", err.Error(), errInvalidRequest)
				return
			}
			m.refuse(st, http.StatusInternalServerError, "exception", "narrowing the request failed: "+err.Error())
			return
		}
	}
	if m.cfg.stored && d.NeedsStoredCheck() && !m.checkStored(st, ctx, next, r, req, d) {
		return
	}
	if d.NeedsResponseCheck() {
		m.serveChecked(st, next, r, d)
		return
	}
	next.ServeHTTP(&st.rec, r)
}

// isPublic reports whether r is one of the public endpoints: the method
// and the escaped path must match exactly.
func (m *Middleware) isPublic(r *http.Request) bool {
	if r.URL == nil || r.URL.Opaque != "" {
		return false
	}
	path, escaped := "", false
	for i := range m.cfg.public {
		e := &m.cfg.public[i]
		if e.method != r.Method || (e.unescaped != "" && e.unescaped != r.URL.Path) {
			// The escaped path unescapes to URL.Path, so it cannot
			// be e.path when URL.Path is not e.path unescaped.
			continue
		}
		if !escaped {
			path, escaped = r.URL.EscapedPath(), true
		}
		if e.path == path {
			return !e.restricted || onlyParams(r.URL.RawQuery, e.params)
		}
	}
	return false
}

// onlyParams reports whether every parameter of a raw query is one of
// names. Escaped names are unescaped first (so "%5Fgetpages" is
// _getpages); a name that cannot be unescaped is not allowed.
func onlyParams(raw string, names []string) bool {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		name, _, _ := strings.Cut(part, "=")
		if name == "" && part == "" {
			continue
		}
		if strings.ContainsAny(name, "%+;") {
			n, err := url.QueryUnescape(name)
			if err != nil {
				return false
			}
			name = n
		}
		if !slices.Contains(names, name) {
			return false
		}
	}
	return true
}

// carriesToken reports whether the parameters of req, or of one of its
// Bundle entries, include access_token.
func carriesToken(req *fhirauth.Request) bool {
	if req == nil {
		return false
	}
	if req.Params.Has("access_token") {
		return true
	}
	for _, e := range req.Entries {
		if e.Params.Has("access_token") {
			return true
		}
	}
	return false
}

func isBundle(req *fhirauth.Request) bool {
	return req != nil && (req.Interaction == fhirauth.Batch || req.Interaction == fhirauth.Transaction)
}
