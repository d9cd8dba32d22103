package middleware_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"

	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

func TestNewValidatesConfiguration(t *testing.T) {
	policy, err := fhirauth.NewPolicy()
	require.NoError(t, err)
	auth := &countingAuth{}
	var nilVerifier *token.Verifier

	_, err = middleware.New(nil, policy)
	assert.ErrorContains(t, err, "nil Authenticator")
	_, err = middleware.New(nilVerifier, policy)
	assert.ErrorContains(t, err, "nil Authenticator")
	_, err = middleware.New(auth, nil)
	assert.ErrorContains(t, err, "nil Policy")
	_, err = middleware.New(auth, &fhirauth.Policy{})
	assert.ErrorContains(t, err, "NewPolicy")

	for name, o := range map[string]middleware.Option{
		"nil option":         nil,
		"empty realm":        middleware.WithRealm(""),
		"relative public":    middleware.WithPublicEndpoint("GET", "fhir/metadata"),
		"dot public":         middleware.WithPublicEndpoint("GET", "/fhir/../metadata"),
		"empty seg public":   middleware.WithPublicEndpoint("GET", "/fhir//metadata"),
		"query public":       middleware.WithPublicEndpoint("GET", "/fhir/metadata?x"),
		"no method":          middleware.WithPublicEndpoint("", "/fhir/metadata"),
		"zero token size":    middleware.WithMaxTokenSize(0),
		"zero response size": middleware.WithMaxResponseSize(0),
		"zero retry":         middleware.WithRetryAfter(0),
		"nil audit":          middleware.WithAudit(nil),
		"nil logger":         middleware.WithLogger(nil),
	} {
		_, err := middleware.New(auth, policy, o)
		assert.Error(t, err, name)
	}
	m, err := middleware.New(auth, policy)
	require.NoError(t, err)
	assert.Panics(t, func() { m.Wrap(nil) })
}

// The standard library ServeMux with method patterns as the inner router:
// the handlers get the Principal and the Decision from the context.
func TestServeMuxAndContext(t *testing.T) {
	mux := http.NewServeMux()
	type seen struct {
		principal *token.Principal
		decision  *fhirauth.Decision
		id        string
		query     string
	}
	got := make(chan seen, 1)
	mux.HandleFunc("GET /fhir/Patient/{id}", func(w http.ResponseWriter, r *http.Request) {
		got <- seen{middleware.PrincipalFrom(r.Context()), middleware.DecisionFrom(r.Context()), r.PathValue("id"), r.URL.RawQuery}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, `{"resourceType":"Patient","id":"`+r.PathValue("id")+`"}`)
	})
	mux.HandleFunc("GET /fhir/Observation", func(w http.ResponseWriter, r *http.Request) {
		got <- seen{middleware.PrincipalFrom(r.Context()), middleware.DecisionFrom(r.Context()), "", r.URL.RawQuery}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	})
	mux.HandleFunc("GET /fhir/metadata", func(w http.ResponseWriter, r *http.Request) {
		got <- seen{middleware.PrincipalFrom(r.Context()), middleware.DecisionFrom(r.Context()), "", ""}
		_, _ = io.WriteString(w, `{"resourceType":"CapabilityStatement"}`)
	})
	e := newEnv(t, withInner(mux))

	t.Run("user read", func(t *testing.T) {
		tok := e.token("user/Patient.rs", "")
		res, body := e.get(t, "/fhir/Patient/p7", tok)
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		s := <-got
		require.NotNil(t, s.principal)
		assert.Equal(t, "user-1", s.principal.Subject)
		assert.Equal(t, "app-1", s.principal.ClientID)
		require.NotNil(t, s.decision)
		assert.True(t, s.decision.Allowed)
		assert.Equal(t, fhirauth.Read, s.decision.Request().Interaction)
		assert.Equal(t, "p7", s.id)
	})
	t.Run("patient search narrowed", func(t *testing.T) {
		tok := e.token("patient/Observation.rs", "p1")
		res, body := e.get(t, "/fhir/Observation?code=8867-4", tok)
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		s := <-got
		assert.Equal(t, "p1", s.decision.Patient)
		assert.NotNil(t, s.decision.Narrow)
		assert.Contains(t, s.query, "code=8867-4")
		assert.Contains(t, s.query, "patient=")
	})
	t.Run("narrowing leaves the classified request as sent", func(t *testing.T) {
		// The narrowed query is built from a copy of the parameters
		// fhirauth parsed; the Request the handler reads keeps the
		// caller's own, also for a parameter that is narrowed.
		tok := e.token("patient/Observation.rs", "p1")
		res, body := e.get(t, "/fhir/Observation?code=a&code=b&patient=p1", tok)
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		s := <-got
		q, err := url.ParseQuery(s.query)
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, q["code"])
		assert.Equal(t, url.Values{"code": {"a", "b"}, "patient": {"p1"}}, s.decision.Request().Params)
		res, body = e.get(t, "/fhir/Observation?code=c", tok)
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		s = <-got
		assert.Equal(t, url.Values{"code": {"c"}}, s.decision.Request().Params)
		q, err = url.ParseQuery(s.query)
		require.NoError(t, err)
		assert.Equal(t, []string{"Patient/p1"}, q["patient"])
	})
	t.Run("public endpoint has no principal", func(t *testing.T) {
		res, _ := e.get(t, "/fhir/metadata", "")
		require.Equal(t, 200, res.StatusCode)
		s := <-got
		assert.Nil(t, s.principal)
		assert.Nil(t, s.decision)
	})
	t.Run("outside the middleware", func(t *testing.T) {
		assert.Nil(t, middleware.PrincipalFrom(context.Background()))
		assert.Nil(t, middleware.DecisionFrom(context.Background()))
	})
}

func TestPublicEndpoints(t *testing.T) {
	e := newEnv(t, withMW(middleware.WithPublicEndpoint(http.MethodGet, "/fhir/Questionnaire")))
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/fhir/metadata", 200},
		{"GET", "/fhir/metadata?_format=json", 200},
		{"GET", "/fhir/.well-known/smart-configuration", 404}, // public; the naive server does not know it
		{"GET", "/fhir/Questionnaire", 200},
		{"POST", "/fhir/metadata", 401},
		{"HEAD", "/fhir/metadata", 401},
		{"GET", "/fhir/metadata/", 401},
		{"GET", "/fhir/metadata/x", 401},
		{"GET", "/fhir/./metadata", 401},
		{"GET", "/fhir/Patient/../metadata", 401},
		{"GET", "/fhir/%6detadata", 401},
		{"GET", "/fhir//metadata", 401},
		{"GET", "/FHIR/metadata", 401},
		{"GET", "/fhir/Questionnaire/q1", 401}, // no prefix matching
		{"GET", "/fhir/metadataX", 401},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			res, body := e.request(t, c.method, c.path, nil, "")
			require.Equal(t, c.status, res.StatusCode, "body: %s", body)
			if c.status == 401 {
				assert.Equal(t, `Bearer realm="fhir"`, res.Header.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("without defaults", func(t *testing.T) {
		e := newEnv(t, withMW(middleware.WithoutDefaultPublicEndpoints()))
		res, _ := e.get(t, "/fhir/metadata", "")
		assert.Equal(t, 401, res.StatusCode)
		res, _ = e.get(t, "/fhir/metadata", e.token("user/Patient.rs", ""))
		assert.Equal(t, 200, res.StatusCode)
	})
}

func TestDenialsCarryChallenges(t *testing.T) {
	e := newEnv(t, withMW(middleware.WithRealm(`my "FHIR" \ realm`)))
	tok := e.token("user/Patient.rs", "")

	t.Run("403 insufficient_scope names the scope", func(t *testing.T) {
		res, body := e.get(t, "/fhir/Observation?code=x", tok)
		require.Equal(t, 403, res.StatusCode, "body: %s", body)
		ch := res.Header.Get("WWW-Authenticate")
		assert.True(t, strings.HasPrefix(ch, `Bearer realm="my 'FHIR' ? realm", error="insufficient_scope", error_description="`), ch)
		assert.Contains(t, ch, `scope="user/Observation.`)
		o := parseOutcome(t, body)
		assert.Equal(t, "forbidden", o.Issue[0].Code)
		assert.Contains(t, o.Issue[0].Diagnostics, "Observation")
		a := e.lastAudit(t)
		assert.Equal(t, middleware.AuditDeny, a.Decision)
		assert.Equal(t, 403, a.Status)
		assert.Equal(t, o.Issue[0].Diagnostics, a.Reason)
		assert.Empty(t, e.fhir.Requests())
	})
	t.Run("400 invalid_request for an unclassifiable request", func(t *testing.T) {
		for _, p := range []string{"/fhir/Patient/%2e%2e/Observation", "/fhir/patient/p1", "/fhir/Patient;x=1/p1", "/fhir/Patient?_filter=name%20eq%20x"} {
			res, body := e.get(t, p, tok)
			require.Equal(t, 400, res.StatusCode, "%s body: %s", p, body)
			assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_request"`)
			parseOutcome(t, body)
		}
		assert.Empty(t, e.fhir.Requests())
	})
	t.Run("token for another audience", func(t *testing.T) {
		other := e.iss.Mint(map[string]any{"sub": "x", "scope": "user/Patient.rs", "aud": "https://elsewhere.example"})
		e.tokens = append(e.tokens, other)
		res, body := e.get(t, "/fhir/Patient/p1", other)
		require.Equal(t, 401, res.StatusCode)
		assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_token", error_description="the access token is not meant for this server (audience)`)
		assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "audience")
	})
	e.assertNoTokenLogged(t)
}

// An authenticator whose infrastructure is down: 503 with Retry-After,
// neither 401 nor 500.
func TestIssuerUnavailable(t *testing.T) {
	iss := tokentest.NewIssuer(tokentest.WithClient("rs", "rs-secret", "user/*.rs"))
	defer iss.Close()
	intro, err := token.NewIntrospector(token.IntrospectorConfig{
		Endpoint: iss.IntrospectionURL(), ClientID: "rs", ClientSecret: "rs-secret",
		Issuer: iss.URL, Audience: iss.Audience(),
	})
	require.NoError(t, err)
	e := newEnv(t, withAuth(intro), withMW(middleware.WithRetryAfter(30*time.Second)))
	tok := iss.MintOpaque(map[string]any{"sub": "u", "scope": "user/Patient.rs"})
	e.tokens = append(e.tokens, tok)

	res, body := e.get(t, "/fhir/Patient/p1", tok)
	require.Equal(t, 200, res.StatusCode, "healthy introspection: %s", body)

	iss.FailIntrospection(http.StatusInternalServerError)
	tok2 := iss.MintOpaque(map[string]any{"sub": "u", "scope": "user/Patient.rs"})
	e.tokens = append(e.tokens, tok2)
	res, body = e.get(t, "/fhir/Patient/p1", tok2)
	require.Equal(t, 503, res.StatusCode, "body: %s", body)
	assert.Equal(t, "30", res.Header.Get("Retry-After"))
	assert.Empty(t, res.Header.Get("WWW-Authenticate"))
	assert.Equal(t, "transient", parseOutcome(t, body).Issue[0].Code)
	e.assertNoTokenLogged(t)
}

// Responses that need no check stream through: the client reads the
// first chunk while the handler is still running.
func TestStreamingWithoutBuffering(t *testing.T) {
	release := make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, "first\n")
		require.NoError(t, http.NewResponseController(w).Flush())
		<-release
		_, _ = io.WriteString(w, "second\n")
	})
	e := newEnv(t, withInner(inner))
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/fhir/Observation?code=x", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token("user/Observation.rs", ""))
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	rd := bufio.NewReader(res.Body)
	line, err := rd.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "first\n", line, "the first chunk arrives before the handler finishes")
	close(release)
	line, err = rd.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "second\n", line)
}

func TestAuditRecords(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/Observation.rs patient/Patient.rs", "p1")
	res, _ := e.get(t, "/fhir/Observation?code=8867-4&_include=Observation:subject:Patient", tok)
	require.Equal(t, 200, res.StatusCode)
	a := e.lastAudit(t)
	assert.Equal(t, "app-1", a.ClientID)
	assert.Equal(t, "user-1", a.Subject)
	assert.Equal(t, "p1", a.Patient)
	assert.Equal(t, http.MethodGet, a.Method)
	assert.Equal(t, "/fhir/Observation", a.Path)
	assert.Equal(t, []string{"search-type"}, a.Interactions)
	assert.Equal(t, []string{"Observation", "Patient"}, a.ResourceTypes)
	assert.Equal(t, middleware.AuditAllow, a.Decision)
	assert.Equal(t, 200, a.Status)
	assert.Positive(t, a.Latency)
	assert.WithinDuration(t, time.Now(), a.Time, time.Minute)

	res, _ = e.get(t, "/fhir/Condition?code=x", tok)
	require.Equal(t, 403, res.StatusCode)
	a = e.lastAudit(t)
	assert.Equal(t, middleware.AuditDeny, a.Decision)
	assert.Equal(t, 403, a.Status)
	assert.Contains(t, a.Reason, "Condition")

	res, _ = e.get(t, "/fhir/Patient/p1", "")
	require.Equal(t, 401, res.StatusCode)
	a = e.lastAudit(t)
	assert.Equal(t, middleware.AuditDeny, a.Decision)
	assert.Empty(t, a.ClientID)
	assert.Empty(t, a.Interactions)
}

// The default audit sink writes one slog line per request.
func TestAuditToSlog(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	require.NoError(t, err)
	defer ver.Close()
	policy, err := fhirauth.NewPolicy(fhirauth.WithVersion(fhirspec.STU3))
	require.NoError(t, err)
	var logs logbuf.Buffer
	mw, err := middleware.New(ver, policy, middleware.WithLogger(slogJSON(&logs)))
	require.NoError(t, err)
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))

	tok := iss.Mint(map[string]any{"sub": "s-1", "client_id": "c-1", "scope": "user/Patient.rs"})
	req := httptest.NewRequest(http.MethodGet, "/fhir/Patient/p1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, 204, rec.Code)

	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line), logs.String())
	assert.Equal(t, "fhirwarden audit", line["msg"])
	assert.Equal(t, "c-1", line["client_id"])
	assert.Equal(t, "s-1", line["sub"])
	assert.Equal(t, "allow", line["decision"])
	assert.Equal(t, float64(204), line["status"])
	assert.Equal(t, []any{"read"}, line["interactions"])
	assert.Equal(t, []any{"Patient"}, line["resource_types"])
	assert.NotContains(t, logs.String(), tok[strings.LastIndexByte(tok, '.')+1:])
}

// A method-override header could make a server run a request as another
// method than the one decided: refused.
func TestMethodOverrideRefused(t *testing.T) {
	e := newEnv(t)
	tok := e.token("user/Patient.rs", "")
	for _, name := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "x-http-method-override"} {
		h := bearer(tok)
		h.Set(name, "DELETE")
		res, body := e.request(t, http.MethodGet, "/fhir/Patient/p1", h, "")
		require.Equal(t, 400, res.StatusCode, "%s: %s", name, body)
		assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_request"`)
	}
	res, _ := e.request(t, http.MethodGet, "/fhir/metadata", http.Header{"X-Http-Method-Override": {"POST"}}, "")
	assert.Equal(t, 400, res.StatusCode)
	// Without a token (or with a bad one) the request is refused as such
	// before fhirauth would refuse the header.
	res, _ = e.request(t, http.MethodGet, "/fhir/Patient/p1", http.Header{"X-Http-Method-Override": {"DELETE"}}, "")
	assert.Equal(t, 401, res.StatusCode)
	res, _ = e.request(t, http.MethodGet, "/fhir/Patient/p1", http.Header{"X-Http-Method-Override": {"DELETE"}, "Authorization": {"Bearer " + tok + "x"}}, "")
	assert.Equal(t, 401, res.StatusCode)
	assert.Empty(t, e.fhir.Requests())
}
