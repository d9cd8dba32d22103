package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/logbuf"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// env is a secured server under test: a tokentest issuer, a Verifier, a
// Policy, the middleware around an inner handler (the naive FHIR server
// unless the test brings its own), audit records and logs captured.
type env struct {
	iss    *tokentest.Issuer
	ver    *token.Verifier
	auth   *countingAuth
	policy *fhirauth.Policy
	fhir   *naivefhir.Server
	srv    *httptest.Server
	logs   *logbuf.Buffer

	mu     sync.Mutex
	audits []middleware.AuditRecord
	tokens []string // every token minted, to check none leaks
}

type envConfig struct {
	inner      http.Handler
	policyOpts []fhirauth.Option
	mwOpts     []middleware.Option
	auth       token.Authenticator
	outer      func(http.Handler) http.Handler // wraps the middleware
}

type envOption func(*envConfig)

func withInner(h http.Handler) envOption { return func(c *envConfig) { c.inner = h } }
func withPolicy(o ...fhirauth.Option) envOption {
	return func(c *envConfig) { c.policyOpts = append(c.policyOpts, o...) }
}
func withMW(o ...middleware.Option) envOption {
	return func(c *envConfig) { c.mwOpts = append(c.mwOpts, o...) }
}
func withAuth(a token.Authenticator) envOption { return func(c *envConfig) { c.auth = a } }
func withOuter(o func(http.Handler) http.Handler) envOption {
	return func(c *envConfig) { c.outer = o }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var c envConfig
	for _, o := range opts {
		o(&c)
	}
	e := &env{iss: tokentest.NewIssuer(), logs: &logbuf.Buffer{}}
	t.Cleanup(e.iss.Close)
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ver, err := token.NewVerifier(context.Background(),
		token.Config{Issuer: e.iss.URL, Audience: e.iss.Audience(), JWKSURL: e.iss.JWKSURL()},
		token.WithLogger(logger))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ver.Close() })
	e.ver = ver
	var inner token.Authenticator = ver
	if c.auth != nil {
		inner = c.auth
	}
	e.auth = &countingAuth{next: inner}
	e.policy, err = fhirauth.NewPolicy(append([]fhirauth.Option{
		fhirauth.WithBasePath("/fhir"), fhirauth.WithSharedTypes("Practitioner", "Organization"),
	}, c.policyOpts...)...)
	require.NoError(t, err)
	mwOpts := append([]middleware.Option{
		middleware.WithLogger(logger),
		middleware.WithAudit(func(_ context.Context, r middleware.AuditRecord) {
			e.mu.Lock()
			e.audits = append(e.audits, r)
			e.mu.Unlock()
		}),
	}, c.mwOpts...)
	mw, err := middleware.New(e.auth, e.policy, mwOpts...)
	require.NoError(t, err)
	if c.inner == nil {
		e.fhir = naivefhir.New("/fhir", naivefhir.Sample()...)
		c.inner = e.fhir
	}
	h := mw.Wrap(c.inner)
	if c.outer != nil {
		h = c.outer(h)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// token mints a token with scope and (unless "") a patient claim.
func (e *env) token(scope, patient string) string {
	claims := map[string]any{"sub": "user-1", "client_id": "app-1", "scope": scope}
	if patient != "" {
		claims["patient"] = patient
	}
	tok := e.iss.Mint(claims)
	e.mu.Lock()
	e.tokens = append(e.tokens, tok)
	e.mu.Unlock()
	return tok
}

// request sends method path (path may hold a raw, unnormalised request
// target) with the given headers and body.
func (e *env) request(t testing.TB, method, path string, hdr http.Header, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/", rd)
	require.NoError(t, err)
	// Opaque sends the path exactly as written (no dot-segment removal,
	// no re-escaping), as a hostile client would.
	p, q, _ := strings.Cut(path, "?")
	req.URL.Path, req.URL.Opaque, req.URL.RawQuery = "", p, q
	for k, v := range hdr {
		req.Header[k] = v
	}
	// Redirects are not followed: the test sees what the middleware sent.
	client := *e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	e.assertNoTokenIn(t, res.Header, b)
	return res, b
}

// get sends GET path with a bearer token ("" for none).
func (e *env) get(t testing.TB, path, tok string) (*http.Response, []byte) {
	t.Helper()
	return e.request(t, http.MethodGet, path, bearer(tok), "")
}

func bearer(tok string) http.Header {
	h := http.Header{}
	if tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	return h
}

// assertNoTokenIn fails if any minted token appears in a response.
func (e *env) assertNoTokenIn(t testing.TB, h http.Header, body []byte) {
	t.Helper()
	var hb bytes.Buffer
	_ = h.Write(&hb)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, tok := range e.tokens {
		if len(tok) < 20 {
			continue
		}
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		for _, s := range []string{tok, sig} {
			require.NotContains(t, string(body), s, "token in response body")
			require.NotContains(t, hb.String(), s, "token in response headers")
		}
	}
}

// assertNoTokenLogged fails if any minted token (or its signature) was
// logged or put in an audit record.
func (e *env) assertNoTokenLogged(t testing.TB, extra ...string) {
	t.Helper()
	logs := e.logs.String()
	audits := e.auditRecords()
	var ab strings.Builder
	for _, a := range audits {
		b, _ := json.Marshal(a)
		ab.Write(b)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, tok := range append(append([]string(nil), e.tokens...), extra...) {
		if len(tok) < 20 {
			continue
		}
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		for _, s := range []string{tok, sig} {
			require.NotContains(t, logs, s, "token in logs")
			require.NotContains(t, ab.String(), s, "token in audit records")
		}
	}
}

func (e *env) auditRecords() []middleware.AuditRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]middleware.AuditRecord(nil), e.audits...)
}

func (e *env) lastAudit(t testing.TB) middleware.AuditRecord {
	t.Helper()
	a := e.auditRecords()
	require.NotEmpty(t, a)
	return a[len(a)-1]
}

// countingAuth counts Authenticate calls.
type countingAuth struct {
	next  token.Authenticator
	calls atomic.Int64
}

func (c *countingAuth) Authenticate(ctx context.Context, raw string) (*token.Principal, error) {
	c.calls.Add(1)
	return c.next.Authenticate(ctx, raw)
}

// outcome is the part of an OperationOutcome tests look at.
type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity    string `json:"severity"`
		Code        string `json:"code"`
		Diagnostics string `json:"diagnostics"`
	} `json:"issue"`
}

func parseOutcome(t testing.TB, body []byte) outcome {
	t.Helper()
	var o outcome
	require.NoError(t, json.Unmarshal(body, &o), "body: %s", body)
	require.Equal(t, "OperationOutcome", o.ResourceType, "body: %s", body)
	require.Len(t, o.Issue, 1)
	return o
}

// bundle is the part of a Bundle tests look at.
type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response *struct {
			Status  string          `json:"status"`
			Outcome json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

func parseBundle(t testing.TB, body []byte) bundle {
	t.Helper()
	var b bundle
	require.NoError(t, json.Unmarshal(body, &b), "body: %s", body)
	require.Equal(t, "Bundle", b.ResourceType, "body: %s", body)
	return b
}

// ids lists "Type/id" of the Bundle's entry resources.
func (b bundle) ids() []string {
	var out []string
	for _, e := range b.Entry {
		if len(e.Resource) == 0 {
			continue
		}
		out = append(out, resourceRef(e.Resource))
	}
	return out
}

func resourceRef(res []byte) string {
	var h struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	_ = json.Unmarshal(res, &h)
	return h.ResourceType + "/" + h.ID
}

func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// copyBody copies and closes a response body.
func copyBody(w io.Writer, res *http.Response) (int64, error) {
	defer res.Body.Close()
	return io.Copy(w, res.Body)
}
