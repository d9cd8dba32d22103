package middleware_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

const dpopOrigin = "https://fhir.example.org"

// dpopServer is an issuer and a handler secured with WithDPoP.
type dpopServer struct {
	iss *tokentest.Issuer
	ver *token.Verifier
	h   http.Handler
}

func newDPoPServer(t *testing.T, iss *tokentest.Issuer, cfg middleware.DPoPConfig) *dpopServer {
	t.Helper()
	if iss == nil {
		iss = tokentest.NewIssuer()
		t.Cleanup(iss.Close)
	}
	ver, err := token.NewVerifier(context.Background(),
		token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()}, token.WithLogger(discardLog()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ver.Close() })
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	mw, err := middleware.New(ver, policy, middleware.WithDPoP(cfg), middleware.WithLogger(discardLog()))
	require.NoError(t, err)
	return &dpopServer{iss: iss, ver: ver, h: mw.Wrap(naivefhir.New("/fhir", naivefhir.Sample()...))}
}

// boundToken mints a token bound to key.
func (s *dpopServer) boundToken(key *client.DPoPKey) string {
	return s.iss.Mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
}

// do sends GET path with the DPoP scheme and the given proofs.
func (s *dpopServer) do(scheme, tok, path string, proofs ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Host = "internal:8080" // the proxy's upstream address: not what clients address
	r.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

func mustProof(t *testing.T, k *client.DPoPKey, method, url, tok, nonce string) string {
	t.Helper()
	p, err := k.Proof(method, url, tok, nonce)
	require.NoError(t, err)
	return p
}

func newKey(t *testing.T) *client.DPoPKey {
	t.Helper()
	k, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	return k
}

func requireDPoPError(t *testing.T, w *httptest.ResponseRecorder, code string) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
	ch := w.Header().Get("WWW-Authenticate")
	require.True(t, strings.HasPrefix(ch, "DPoP "), ch)
	require.Contains(t, ch, `error="`+code+`"`)
	require.Contains(t, ch, `algs="`)
	require.Contains(t, w.Body.String(), `"resourceType":"OperationOutcome"`)
}

func TestDPoPMiddleware(t *testing.T) {
	s := newDPoPServer(t, nil, middleware.DPoPConfig{ExternalURL: dpopOrigin})
	key := newKey(t)
	tok := s.boundToken(key)
	url := dpopOrigin + "/fhir/Patient"

	good := mustProof(t, key, "GET", url, tok, "")
	w := s.do("DPoP", tok, "/fhir/Patient?name=Example", good)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())

	t.Run("replayed proof", func(t *testing.T) {
		requireDPoPError(t, s.do("DPoP", tok, "/fhir/Patient", good), "invalid_dpop_proof")
	})
	t.Run("no proof", func(t *testing.T) {
		requireDPoPError(t, s.do("DPoP", tok, "/fhir/Patient"), "invalid_dpop_proof")
	})
	t.Run("two DPoP headers", func(t *testing.T) {
		w := s.do("DPoP", tok, "/fhir/Patient", mustProof(t, key, "GET", url, tok, ""), mustProof(t, key, "GET", url, tok, ""))
		requireDPoPError(t, w, "invalid_dpop_proof")
	})
	t.Run("proof for the upstream host", func(t *testing.T) {
		w := s.do("DPoP", tok, "/fhir/Patient", mustProof(t, key, "GET", "http://internal:8080/fhir/Patient", tok, ""))
		requireDPoPError(t, w, "invalid_dpop_proof")
	})
	t.Run("proof for another method", func(t *testing.T) {
		requireDPoPError(t, s.do("DPoP", tok, "/fhir/Patient", mustProof(t, key, "POST", url, tok, "")), "invalid_dpop_proof")
	})
	t.Run("proof by another key", func(t *testing.T) {
		requireDPoPError(t, s.do("DPoP", tok, "/fhir/Patient", mustProof(t, newKey(t), "GET", url, tok, "")), "invalid_dpop_proof")
	})
	t.Run("bound token as Bearer", func(t *testing.T) {
		w := s.do("Bearer", tok, "/fhir/Patient")
		require.Equal(t, http.StatusUnauthorized, w.Code)
		chs := w.Header().Values("WWW-Authenticate")
		require.Len(t, chs, 2)
		require.Contains(t, chs[0], `Bearer realm="fhir", error="invalid_token"`)
		require.True(t, strings.HasPrefix(chs[1], "DPoP "), chs[1])
	})
	t.Run("unbound token as DPoP", func(t *testing.T) {
		plain := s.iss.Mint(map[string]any{"scope": "user/Patient.rs"})
		requireDPoPError(t, s.do("DPoP", plain, "/fhir/Patient", mustProof(t, key, "GET", url, plain, "")), "invalid_token")
	})
	t.Run("plain token as Bearer still works", func(t *testing.T) {
		plain := s.iss.Mint(map[string]any{"scope": "user/Patient.rs"})
		require.Equal(t, http.StatusOK, s.do("Bearer", plain, "/fhir/Patient").Code)
	})
	t.Run("token with bad syntax", func(t *testing.T) {
		requireDPoPError(t, s.do("DPoP", "a b", "/fhir/Patient", good), "invalid_token")
	})
	t.Run("no credentials: both schemes offered", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		require.Equal(t, http.StatusUnauthorized, w.Code)
		require.Len(t, w.Header().Values("WWW-Authenticate"), 2)
	})
}

func TestDPoPMiddlewareRequestURLWithoutExternalURL(t *testing.T) {
	s := newDPoPServer(t, nil, middleware.DPoPConfig{})
	key := newKey(t)
	tok := s.boundToken(key)
	w := s.do("DPoP", tok, "/fhir/Patient", mustProof(t, key, "GET", "http://internal:8080/fhir/Patient", tok, ""))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = s.do("DPoP", tok, "/fhir/Patient", mustProof(t, key, "GET", "https://internal:8080/fhir/Patient", tok, ""))
	requireDPoPError(t, w, "invalid_dpop_proof")
}

func TestDPoPMiddlewareNonce(t *testing.T) {
	nonces, err := token.NewNonceSource([]byte(strings.Repeat("n", 32)), time.Minute)
	require.NoError(t, err)
	s := newDPoPServer(t, nil, middleware.DPoPConfig{ExternalURL: dpopOrigin, DPoPConfig: token.DPoPConfig{Nonces: nonces}})
	key := newKey(t)
	tok := s.boundToken(key)
	url := dpopOrigin + "/fhir/Patient"
	w := s.do("DPoP", tok, "/fhir/Patient", mustProof(t, key, "GET", url, tok, ""))
	requireDPoPError(t, w, "use_dpop_nonce")
	nonce := w.Header().Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	w = s.do("DPoP", tok, "/fhir/Patient", mustProof(t, key, "GET", url, tok, nonce))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// TestDPoPReplicasShareReplayCache: two middleware instances (replicas)
// given one replay store refuse a proof replayed from one to the other.
func TestDPoPReplicasShareReplayCache(t *testing.T) {
	shared := token.NewMemoryReplayCache(100)
	cfg := middleware.DPoPConfig{ExternalURL: dpopOrigin, DPoPConfig: token.DPoPConfig{Replay: shared}}
	a := newDPoPServer(t, nil, cfg)
	b := newDPoPServer(t, a.iss, cfg)
	key := newKey(t)
	tok := a.boundToken(key)
	proof := mustProof(t, key, "GET", dpopOrigin+"/fhir/Patient", tok, "")
	require.Equal(t, http.StatusOK, a.do("DPoP", tok, "/fhir/Patient", proof).Code)
	requireDPoPError(t, b.do("DPoP", tok, "/fhir/Patient", proof), "invalid_dpop_proof")
}

func TestWithDPoPConfiguration(t *testing.T) {
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	require.NoError(t, err)
	defer ver.Close()
	for _, bad := range []string{"https://fhir.example.org/fhir", "fhir.example.org", "https://h/?q", "ftp://h", "https://:443"} {
		_, err := middleware.New(ver, policy, middleware.WithDPoP(middleware.DPoPConfig{ExternalURL: bad}))
		require.Error(t, err, bad)
	}
	_, err = middleware.New(ver, policy, middleware.WithDPoP(middleware.DPoPConfig{DPoPConfig: token.DPoPConfig{Algorithms: []string{"HS256"}}}))
	require.ErrorIs(t, err, token.ErrConfig)
	_, err = middleware.New(plainAuth{ver}, policy, middleware.WithDPoP(middleware.DPoPConfig{}))
	require.ErrorContains(t, err, "BoundAuthenticator")
}

// plainAuth hides every method but Authenticate.
type plainAuth struct{ a token.Authenticator }

func (p plainAuth) Authenticate(ctx context.Context, raw string) (*token.Principal, error) {
	return p.a.Authenticate(ctx, raw)
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestDPoPInsufficientScopeChallenge: a request made with the DPoP scheme
// and refused for its scopes is answered in the DPoP scheme (RFC 9449
// section 7.1), with the scope that would have been enough; a bearer
// request refused alike keeps the Bearer scheme.
func TestDPoPInsufficientScopeChallenge(t *testing.T) {
	s := newDPoPServer(t, nil, middleware.DPoPConfig{ExternalURL: dpopOrigin})
	key := newKey(t)
	tok := s.boundToken(key) // user/Patient.rs only
	url := dpopOrigin + "/fhir/Observation"
	w := s.do("DPoP", tok, "/fhir/Observation", mustProof(t, key, "GET", url, tok, ""))
	require.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	ch := w.Header().Values("WWW-Authenticate")
	require.Len(t, ch, 1, "one challenge, in the scheme the client used")
	assert.True(t, strings.HasPrefix(ch[0], "DPoP "), ch[0])
	assert.Contains(t, ch[0], `error="insufficient_scope"`)
	assert.Contains(t, ch[0], `scope="user/Observation.s"`)
	assert.Contains(t, ch[0], `algs="`)

	plain := s.iss.Mint(map[string]any{"scope": "user/Patient.rs"})
	w = s.do("Bearer", plain, "/fhir/Observation")
	require.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	assert.True(t, strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer "), w.Header().Get("WWW-Authenticate"))
}

// boundCache is a caller's Authenticator that breaks BoundAuthenticator's
// rule: its Authenticate answers what AuthenticateBound does (a cache
// serving both from one verification).
type boundCache struct{ token.BoundAuthenticator }

func (b boundCache) Authenticate(ctx context.Context, raw string) (*token.Principal, error) {
	return b.AuthenticateBound(ctx, raw)
}

// TestBoundTokenAsBearerRefusedWhateverAuthenticator: a DPoP-bound token
// presented with the Bearer scheme is refused by the middleware itself,
// with or without WithDPoP, even when the caller's Authenticator admits it.
func TestBoundTokenAsBearerRefusedWhateverAuthenticator(t *testing.T) {
	iss := tokentest.NewIssuer()
	t.Cleanup(iss.Close)
	ver, err := token.NewVerifier(context.Background(),
		token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()}, token.WithLogger(discardLog()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ver.Close() })
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	key := newKey(t)
	bound := iss.Mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	plain := iss.Mint(map[string]any{"scope": "user/Patient.rs"})
	for name, opts := range map[string][]middleware.Option{
		"bearer only": nil,
		"WithDPoP":    {middleware.WithDPoP(middleware.DPoPConfig{ExternalURL: dpopOrigin})},
	} {
		t.Run(name, func(t *testing.T) {
			mw, err := middleware.New(boundCache{ver}, policy, append(opts, middleware.WithLogger(discardLog()))...)
			require.NoError(t, err)
			h := mw.Wrap(naivefhir.New("/fhir", naivefhir.Sample()...))
			get := func(tok string, proof string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				if proof != "" {
					r.Header.Set("DPoP", proof)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			w := get(bound, "")
			require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			require.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
			w = get(bound, mustProof(t, key, "GET", dpopOrigin+"/fhir/Patient", bound, ""))
			require.Equal(t, http.StatusUnauthorized, w.Code, "a proof does not make the Bearer scheme bound")
			require.Equal(t, http.StatusOK, get(plain, "").Code)
		})
	}
}

// TestDPoPForwardingHeadersNotTrusted: without ExternalURL the URL a proof
// must name is the request's own; forwarding headers that name another
// scheme and host do not make a proof made for that URL acceptable (an
// attacker holding a token and a proof made for another server would
// otherwise spend them here by naming that server in a header).
func TestDPoPForwardingHeadersNotTrusted(t *testing.T) {
	s := newDPoPServer(t, nil, middleware.DPoPConfig{})
	key := newKey(t)
	tok := s.boundToken(key)
	send := func(proofURL string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
		r.Host = "internal:8080"
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", mustProof(t, key, "GET", proofURL, tok, ""))
		r.Header.Set("X-Forwarded-Host", "fhir.example.org")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Port", "443")
		r.Header.Set("Forwarded", "proto=https;host=fhir.example.org")
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		return w
	}
	requireDPoPError(t, send(dpopOrigin+"/fhir/Patient"), "invalid_dpop_proof")
	w := send("http://internal:8080/fhir/Patient")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// TestDPoPSchemeSpellings: the DPoP scheme is matched as RFC 9110 section
// 11.1 says (any letter case, one or more spaces before the token); a tab
// instead of the space, or a second Authorization header, makes no DPoP
// request, and is refused.
func TestDPoPSchemeSpellings(t *testing.T) {
	s := newDPoPServer(t, nil, middleware.DPoPConfig{ExternalURL: dpopOrigin})
	key := newKey(t)
	tok := s.boundToken(key)
	send := func(auth ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/fhir/Patient", nil)
		r.Header["Authorization"] = auth
		r.Header.Set("DPoP", mustProof(t, key, "GET", dpopOrigin+"/fhir/Patient", tok, ""))
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		return w
	}
	for _, scheme := range []string{"dpop ", "DPOP ", "dPoP   "} {
		w := send(scheme + tok)
		require.Equal(t, http.StatusOK, w.Code, "%q: %s", scheme, w.Body.String())
	}
	w := send("DPoP\t" + tok)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	chs := w.Header().Values("WWW-Authenticate")
	require.Len(t, chs, 2)
	require.Equal(t, `Bearer realm="fhir"`, chs[0], "no credentials of a known scheme")
	require.True(t, strings.HasPrefix(chs[1], `DPoP realm="fhir", algs="`), chs[1])
	for _, second := range []string{"DPoP " + tok, "Bearer " + tok} {
		w := send("DPoP "+tok, second)
		require.Equal(t, http.StatusBadRequest, w.Code)
		require.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_request"`)
	}
}

// DPoPToken takes exactly the DPoP credentials the middleware admits: a
// handler beside it that authenticates by DPoPToken sees no spelling of
// the headers the middleware would refuse, and misses none it accepts.
func TestDPoPTokenReadsAsTheMiddleware(t *testing.T) {
	s := newDPoPServer(t, nil, middleware.DPoPConfig{ExternalURL: dpopOrigin})
	key := newKey(t)
	tok := s.boundToken(key)
	long := strings.Repeat("a", token.DefaultMaxTokenSize+len("Bearer ")-len("DPoP ")+1)
	shapes := []struct {
		name   string
		auth   []string
		proofs int
		tok    string
	}{
		{"canonical", []string{"DPoP " + tok}, 1, tok},
		{"scheme in lower case", []string{"dpop " + tok}, 1, tok},
		{"scheme in upper case", []string{"DPOP " + tok}, 1, tok},
		{"several spaces", []string{"DPoP   " + tok}, 1, tok},
		{"tab", []string{"DPoP\t" + tok}, 1, tok},
		{"no proof", []string{"DPoP " + tok}, 0, tok},
		{"two proofs", []string{"DPoP " + tok}, 2, tok},
		{"two Authorization headers", []string{"DPoP " + tok, "DPoP " + tok}, 1, tok},
		{"trailing space", []string{"DPoP " + tok + " "}, 1, tok},
		{"no token", []string{"DPoP  "}, 1, ""},
		{"token too large", []string{"DPoP " + long}, 1, long},
		{"Bearer scheme", []string{"Bearer " + tok}, 1, tok},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/fhir/Patient/1", nil)
			r.Header["Authorization"] = sh.auth
			for range sh.proofs {
				r.Header.Add("DPoP", mustProof(t, key, http.MethodGet, dpopOrigin+"/fhir/Patient/1", sh.tok, ""))
			}
			raw, proof, ok := middleware.DPoPToken(r.Header)
			w := httptest.NewRecorder()
			s.h.ServeHTTP(w, r)
			admitted := w.Code != http.StatusUnauthorized && w.Code != http.StatusBadRequest
			assert.Equal(t, admitted, ok, "middleware answered %d: %s", w.Code, w.Body)
			if ok {
				assert.True(t, raw == tok, "DPoPToken returned another token")
				assert.Equal(t, r.Header.Get("DPoP"), proof)
			}
		})
	}
}

// TestDPoPProofURLIsTheMiddlewares: a proof for ProofURL's answer is the
// one the middleware takes, for each way a request can be addressed; a
// proof for any of the other URLs is refused.
func TestDPoPProofURLIsTheMiddlewares(t *testing.T) {
	type target struct {
		name, external, host, path string
		tls                        bool
	}
	targets := []target{
		{"external origin", dpopOrigin, "internal:8080", "/fhir/Patient", false},
		{"external origin with a port and case", "HTTPS://FHIR.example.org:8443/", "internal:8080", "/fhir/Patient", false},
		{"request's own origin", "", "fhir.example.org:9090", "/fhir/Patient", false},
		{"request's own origin over TLS", "", "fhir.example.org", "/fhir/Patient", true},
		{"escaped path", "", "localhost:8080", "/fhir/Patient/a%2Fb", false},
	}
	candidates := []string{dpopOrigin + "/fhir/Patient", "HTTPS://fhir.example.org:8443/fhir/Patient",
		"http://internal:8080/fhir/Patient", "https://internal:8080/fhir/Patient",
		"http://fhir.example.org:9090/fhir/Patient", "https://fhir.example.org/fhir/Patient",
		"http://fhir.example.org/fhir/Patient", "http://localhost:8080/fhir/Patient/a%2Fb", "http://localhost:8080/fhir/Patient/a/b"}
	iss := tokentest.NewIssuer()
	t.Cleanup(iss.Close)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			cfg := middleware.DPoPConfig{ExternalURL: tg.external}
			s := newDPoPServer(t, iss, cfg)
			key := newKey(t)
			tok := s.boundToken(key)
			request := func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, tg.path+"?q=1", nil)
				r.Host = tg.host
				r.TLS = nil
				if tg.tls {
					r.TLS = &tls.ConnectionState{}
				}
				return r
			}
			want, err := cfg.ProofURL(request())
			require.NoError(t, err)
			for _, u := range append(candidates, want) {
				r := request()
				r.Header.Set("Authorization", "DPoP "+tok)
				r.Header.Set("DPoP", mustProof(t, key, http.MethodGet, u, tok, ""))
				w := httptest.NewRecorder()
				s.h.ServeHTTP(w, r)
				accepted := w.Code != http.StatusUnauthorized
				assert.Equal(t, accepted, u == want || sameURL(u, want), "%s for ProofURL %s: %d %s", u, want, w.Code, w.Body)
			}
		})
	}
	_, err := middleware.DPoPConfig{ExternalURL: "https://fhir.example.org/fhir"}.ProofURL(httptest.NewRequest(http.MethodGet, "/", nil))
	require.Error(t, err, "an ExternalURL with a path is refused, as WithDPoP refuses it")
}

// sameURL reports whether a and b differ only in the case of their
// scheme and host, which a proof's htu may spell either way.
func sameURL(a, b string) bool {
	origin := func(s string) int { return strings.Index(s[len("https://"):], "/") + len("https://") }
	i, j := origin(a), origin(b)
	return strings.EqualFold(a[:i], b[:j]) && a[i:] == b[j:]
}
