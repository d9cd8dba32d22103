package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fhirServer is an httptest FHIR server secured by a tokentest issuer.
type fhirServer struct {
	*httptest.Server
	iss *tokentest.Issuer

	mu       sync.Mutex
	store    map[string]map[string]any // "Type/id" -> resource
	ifMatch  []string
	smartDoc map[string]any
}

func newFHIRServer(t *testing.T, iss *tokentest.Issuer) *fhirServer {
	t.Helper()
	s := &fhirServer{iss: iss, store: map[string]map[string]any{
		"Patient/9000000009": {"resourceType": "Patient", "id": "9000000009", "meta": map[string]any{"versionId": "1"},
			"name": []any{map[string]any{"family": "Smith"}}},
	}, smartDoc: iss.AuthServer().SMARTConfiguration()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.smartDoc)
	})
	mux.HandleFunc("GET /fhir/metadata", func(w http.ResponseWriter, r *http.Request) {
		writeResource(w, 200, map[string]any{"resourceType": "CapabilityStatement", "status": "active", "fhirVersion": "3.0.2"})
	})
	mux.HandleFunc("GET /fhir/Observation", s.guard("Observation", s.searchObservations))
	mux.HandleFunc("GET /fhir/{type}/{id}", s.guardPath(s.read))
	mux.HandleFunc("POST /fhir/{type}", s.guardPath(s.create))
	mux.HandleFunc("PUT /fhir/{type}/{id}", s.guardPath(s.update))
	mux.HandleFunc("DELETE /fhir/{type}/{id}", s.guardPath(s.remove))
	mux.Handle("POST /token", tokenProxy(iss))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	s.setTokenEndpoint(s.URL + "/token")
	return s
}

// setTokenEndpoint sets the token_endpoint the SMART configuration names.
func (s *fhirServer) setTokenEndpoint(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.smartDoc["token_endpoint"] = u
}

// tokenProxy forwards token requests to iss, so that the FHIR server's
// origin has a token endpoint as a FHIR server with its own
// authorization server does: fhirctl sends a secret only to a discovered
// endpoint on the FHIR server's origin.
func tokenProxy(iss *tokentest.Issuer) http.Handler {
	target, err := url.Parse(iss.TokenURL())
	if err != nil {
		panic(err)
	}
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		u := *target
		r.Out.URL, r.Out.Host = &u, target.Host
	}}
}

func writeResource(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOutcome(w http.ResponseWriter, status int, code, diag string) {
	writeResource(w, status, map[string]any{"resourceType": "OperationOutcome",
		"issue": []any{map[string]any{"severity": "error", "code": code, "diagnostics": diag}}})
}

// guard checks the token and that its scope names typ (or *).
func (s *fhirServer) guard(typ string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		claims, active := s.iss.Introspect(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !active {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeOutcome(w, 401, "login", "a valid access token is required")
			return
		}
		scope, _ := claims["scope"].(string)
		if !strings.Contains(scope, "/"+typ+".") && !strings.Contains(scope, "/*.") {
			writeOutcome(w, 403, "forbidden", fmt.Sprintf("scope %q does not permit %s", scope, typ))
			return
		}
		next(w, r)
	}
}

func (s *fhirServer) guardPath(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.guard(r.PathValue("type"), next)(w, r) }
}

func (s *fhirServer) read(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.PathValue("type") + "/" + r.PathValue("id")
	res, ok := s.store[key]
	if !ok {
		writeOutcome(w, 404, "not-found", key+" is not known")
		return
	}
	writeResource(w, 200, res)
}

func (s *fhirServer) create(w http.ResponseWriter, r *http.Request) {
	var res map[string]any
	if err := json.NewDecoder(r.Body).Decode(&res); err != nil || res["resourceType"] != r.PathValue("type") {
		writeOutcome(w, 400, "invalid", "not a "+r.PathValue("type"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("new-%d", len(s.store)+1)
	res["id"], res["meta"] = id, map[string]any{"versionId": "1"}
	s.store[r.PathValue("type")+"/"+id] = res
	w.Header().Set("Location", "/fhir/"+r.PathValue("type")+"/"+id+"/_history/1")
	if r.Header.Get("Prefer") == "return=representation" {
		writeResource(w, 201, res)
		return
	}
	w.WriteHeader(201)
}

func (s *fhirServer) update(w http.ResponseWriter, r *http.Request) {
	var res map[string]any
	if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
		writeOutcome(w, 400, "invalid", "not JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.PathValue("type") + "/" + r.PathValue("id")
	version := 0
	if cur, ok := s.store[key]; ok {
		version, _ = strconv.Atoi(cur["meta"].(map[string]any)["versionId"].(string))
	}
	im := r.Header.Get("If-Match")
	s.ifMatch = append(s.ifMatch, im)
	if im != "" && im != fmt.Sprintf(`W/"%d"`, version) {
		writeOutcome(w, 412, "conflict", fmt.Sprintf("%s is at version %d", key, version))
		return
	}
	res["meta"] = map[string]any{"versionId": strconv.Itoa(version + 1)}
	s.store[key] = res
	writeResource(w, 200, res)
}

func (s *fhirServer) remove(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.store, r.PathValue("type")+"/"+r.PathValue("id"))
	w.WriteHeader(204)
}

// searchObservations serves 7 Observations, 2 per page.
func (s *fhirServer) searchObservations(w http.ResponseWriter, r *http.Request) {
	const total = 7
	offset, _ := strconv.Atoi(r.URL.Query().Get("_offset"))
	var entries []any
	for i := offset; i < min(offset+2, total); i++ {
		entries = append(entries, map[string]any{"resource": map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("obs-%d", i+1)}})
	}
	b := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": total, "entry": entries}
	if offset+2 < total {
		q := r.URL.Query()
		q.Set("_offset", strconv.Itoa(offset+2))
		b["link"] = []any{map[string]any{"relation": "next", "url": "http://" + r.Host + "/fhir/Observation?" + q.Encode()}}
	}
	writeResource(w, 200, b)
}

// result of one fhirctl run.
type result struct {
	code           int
	stdout, stderr string
}

func fhirctl(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// fixture: an issuer with a Patient-only client, a read-write client and
// a backend service with an RS384 key; the FHIR server trusting it.
type fixture struct {
	iss     *tokentest.Issuer
	fhir    *fhirServer
	keyFile string
	env     map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	iss := tokentest.NewIssuer(
		tokentest.WithClient("patient-access", "s3cret", "user/Patient.read"),
		tokentest.WithClient("editor", "edit-s3cret", "user/Patient.read user/Patient.write user/Observation.read"),
	)
	t.Cleanup(iss.Close)
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	key, err := jwk.Import(raw)
	require.NoError(t, err)
	require.NoError(t, key.Set(jwk.KeyIDKey, "backend-1"))
	iss.AddKeyClient("backend", key, "system/*.rs")
	data, err := json.Marshal(key)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "backend.jwk")
	require.NoError(t, os.WriteFile(keyFile, data, 0o600))

	f := &fixture{iss: iss, fhir: newFHIRServer(t, iss), keyFile: keyFile}
	f.env = map[string]string{"FHIR_BASE": f.fhir.URL + "/fhir", "FHIR_CLIENT_ID": "patient-access", "FHIR_CLIENT_SECRET": "s3cret"}
	return f
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m), "stdout is JSON: %s", s)
	return m
}

func TestTokenCommand(t *testing.T) {
	f := newFixture(t)

	r := fhirctl(t, f.env, "", "token")
	require.Equal(t, exitOK, r.code, r.stderr)
	tok := decode(t, r.stdout)
	assert.NotEmpty(t, tok["access_token"])
	assert.Equal(t, "user/Patient.read", tok["scope"])
	assert.EqualValues(t, 5400, tok["expires_in"])
	assert.Contains(t, r.stdout, "\n  \"access_token\"", "pretty printed")
	req := f.iss.TokenRequests()[0]
	assert.True(t, strings.HasPrefix(req.Header.Get("Authorization"), "Basic "), "Basic is the default")
	assert.False(t, req.Form.Has("client_secret"))

	f.iss.ResetRecords()
	r = fhirctl(t, f.env, "", "-client-auth", "post", "-scope", "user/Patient.read", "token")
	require.Equal(t, exitOK, r.code, r.stderr)
	req = f.iss.TokenRequests()[0]
	assert.Empty(t, req.Header.Get("Authorization"))
	assert.Equal(t, "s3cret", req.Form.Get("client_secret"))

	// A client assertion names its token endpoint: -key uses one
	// discovered on another origin.
	f.fhir.setTokenEndpoint(f.iss.TokenURL())
	f.iss.ResetRecords()
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_CLIENT_SECRET": "ignored when -key is given"}
	r = fhirctl(t, env, "", "-client-id", "backend", "-key", f.keyFile, "-scope", "system/Patient.rs", "token")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "system/Patient.rs", decode(t, r.stdout)["scope"])
	req = f.iss.TokenRequests()[0]
	assert.Equal(t, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", req.Form.Get("client_assertion_type"))
	assert.Empty(t, req.Header.Get("Authorization"))

	f.fhir.setTokenEndpoint(f.fhir.URL + "/token")
	r = fhirctl(t, f.env, "", "-client-secret", "wrong", "token")
	assert.Equal(t, exitAuth, r.code)
	assert.Contains(t, r.stderr, "invalid_client")
	assert.Empty(t, r.stdout)

	r = fhirctl(t, f.env, "", "-scope", "system/*.cruds", "token")
	assert.Equal(t, exitAuth, r.code)
	assert.Contains(t, r.stderr, "invalid_scope")
}

func TestTokenURLFlagAndDiscovery(t *testing.T) {
	f := newFixture(t)
	r := fhirctl(t, f.env, "", "-token-url", f.iss.TokenURL(), "get", "Patient/9000000009")
	require.Equal(t, exitOK, r.code, r.stderr)

	// A server that only offers private_key_jwt: a secret client is told so.
	f.fhir.mu.Lock()
	f.fhir.smartDoc["token_endpoint_auth_methods_supported"] = []string{"private_key_jwt"}
	f.fhir.mu.Unlock()
	r = fhirctl(t, f.env, "", "get", "Patient/9000000009")
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, `"client_secret_basic"`)
	assert.Contains(t, r.stderr, "server supports: private_key_jwt")

	r = fhirctl(t, map[string]string{"FHIR_BASE": "http://127.0.0.1:1/fhir", "FHIR_CLIENT_ID": "x", "FHIR_CLIENT_SECRET": "y"}, "", "get", "Patient/1")
	assert.Equal(t, exitNetwork, r.code)
	assert.Contains(t, r.stderr, "token endpoint")
}

func TestGetCommand(t *testing.T) {
	f := newFixture(t)
	r := fhirctl(t, f.env, "", "get", "Patient/9000000009")
	require.Equal(t, exitOK, r.code, r.stderr)
	p := decode(t, r.stdout)
	assert.Equal(t, "9000000009", p["id"])
	assert.Contains(t, r.stdout, "\n  \"resourceType\": \"Patient\"")

	r = fhirctl(t, f.env, "", "get", "Patient/404")
	assert.Equal(t, exitNotFound, r.code)
	assert.Contains(t, r.stderr, "HTTP 404")
	assert.Contains(t, r.stderr, "error not-found: Patient/404 is not known")
	assert.Empty(t, r.stdout)

	r = fhirctl(t, f.env, "", "get", "Observation/obs-1")
	assert.Equal(t, exitAuth, r.code)
	assert.Contains(t, r.stderr, "HTTP 403")
	assert.Contains(t, r.stderr, `scope "user/Patient.read" does not permit Observation`)

	// Backend services through the key file, with the issuer's own
	// token endpoint (a client assertion names it).
	f.fhir.setTokenEndpoint(f.iss.TokenURL())
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"]}
	r = fhirctl(t, env, "", "-client-id", "backend", "-key", f.keyFile, "get", "Patient/9000000009")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "9000000009", decode(t, r.stdout)["id"])
}

func TestSearchCommand(t *testing.T) {
	f := newFixture(t)
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_CLIENT_ID": "editor", "FHIR_CLIENT_SECRET": "edit-s3cret"}
	r := fhirctl(t, env, "", "search", "Observation", "patient=9000000009", "_count=2")
	require.Equal(t, exitOK, r.code, r.stderr)
	b := decode(t, r.stdout)
	assert.Equal(t, "Bundle", b["resourceType"])
	assert.Len(t, b["entry"], 7, "all four pages")
	assert.EqualValues(t, 7, b["total"])
	for i := 1; i <= 4; i++ {
		assert.Contains(t, r.stderr, fmt.Sprintf("page %d:", i))
	}

	r = fhirctl(t, env, "", "-max-pages", "2", "search", "Observation", "patient=9000000009")
	require.Equal(t, exitIncomplete, r.code, r.stderr)
	assert.Len(t, decode(t, r.stdout)["entry"], 4)
	assert.Contains(t, r.stderr, "stopped at -max-pages 2")

	r = fhirctl(t, f.env, "", "search", "Observation")
	assert.Equal(t, exitAuth, r.code)
	assert.Contains(t, r.stderr, "does not permit Observation")
}

func TestWriteCommands(t *testing.T) {
	f := newFixture(t)
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_CLIENT_ID": "editor", "FHIR_CLIENT_SECRET": "edit-s3cret"}

	r := fhirctl(t, env, `{"resourceType":"Patient","name":[{"family":"Jones"}]}`, "create", "Patient", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	created := decode(t, r.stdout)
	id := created["id"].(string)
	assert.Equal(t, "Jones", created["name"].([]any)[0].(map[string]any)["family"])

	file := filepath.Join(t.TempDir(), "p.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"resourceType":"Patient","id":"`+id+`","meta":{"versionId":"1"},"active":true}`), 0o600))
	r = fhirctl(t, env, "", "update", "Patient/"+id, file)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "2", decode(t, r.stdout)["meta"].(map[string]any)["versionId"])

	// The same file again: its version 1 is stale now, so the update is refused.
	r = fhirctl(t, env, "", "update", "Patient/"+id, file)
	assert.Equal(t, exitFHIR, r.code)
	assert.Contains(t, r.stderr, "HTTP 412")
	assert.Contains(t, r.stderr, "is at version 2")
	f.fhir.mu.Lock()
	assert.Equal(t, []string{`W/"1"`, `W/"1"`}, f.fhir.ifMatch)
	f.fhir.mu.Unlock()

	r = fhirctl(t, env, "", "create", "Patient", file+".missing")
	assert.Equal(t, exitFailure, r.code)
	r = fhirctl(t, env, `{"resourceType":"Observation"}`, "create", "Patient", "-")
	assert.Equal(t, exitFailure, r.code, "body of another type is refused before sending")
	assert.Contains(t, r.stderr, "want \"Patient\"")

	r = fhirctl(t, env, "", "delete", "Patient/"+id)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "deleted Patient/"+id)
	r = fhirctl(t, env, "", "get", "Patient/"+id)
	assert.Equal(t, exitNotFound, r.code)

	// The Patient-only client may not write Observations.
	r = fhirctl(t, f.env, `{"resourceType":"Observation"}`, "create", "Observation", "-")
	assert.Equal(t, exitAuth, r.code)
	assert.Contains(t, r.stderr, "HTTP 403")
}

func TestCapabilitiesCommand(t *testing.T) {
	f := newFixture(t)
	r := fhirctl(t, map[string]string{"FHIR_BASE": f.env["FHIR_BASE"]}, "", "capabilities")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "CapabilityStatement", decode(t, r.stdout)["resourceType"])
}

func TestUsageErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no command", f.env, nil, "missing command"},
		{"unknown command", f.env, []string{"frobnicate"}, "unknown command"},
		{"unknown flag", f.env, []string{"-nope", "get", "Patient/1"}, "flag provided but not defined"},
		{"no base", map[string]string{}, []string{"capabilities"}, "missing -base"},
		{"relative base", f.env, []string{"-base", "fhir", "capabilities"}, "-base"},
		{"base with query", f.env, []string{"-base", f.env["FHIR_BASE"] + "?x=1", "capabilities"}, "-base"},
		{"remote plain http with a token", f.env, []string{"-base", "http://fhir.example/fhir", "-token-url", "https://as.example/token", "get", "Patient/1"}, "-insecure-http"},
		{"get without arg", f.env, []string{"get"}, "want 1 argument"},
		{"get type only", f.env, []string{"get", "Patient"}, "is not Type/id"},
		{"get traversal", f.env, []string{"get", "Patient/../metadata"}, "is not Type/id"},
		{"search without type", f.env, []string{"search"}, "missing resource type"},
		{"search bad param", f.env, []string{"search", "Patient", "name"}, "is not param=value"},
		{"create no file", f.env, []string{"create", "Patient"}, "want 2 argument"},
		{"create bad type", f.env, []string{"create", "patient", "-"}, "not a resource type"},
		{"update extra", f.env, []string{"update", "Patient/1", "a", "b"}, "want 2 argument"},
		{"token without credentials", map[string]string{"FHIR_BASE": "http://x/fhir"}, []string{"token"}, "needs -client-id"},
		{"secret without id", map[string]string{"FHIR_BASE": "http://x/fhir", "FHIR_CLIENT_SECRET": "s"}, []string{"get", "Patient/1"}, "missing -client-id"},
		{"key and secret", f.env, []string{"-key", f.keyFile, "-client-secret", "s", "token"}, "either -key or -client-secret"},
		{"bad version", f.env, []string{"-fhir-version", "DSTU2", "capabilities"}, "want STU3 or R4"},
		{"bad auth", f.env, []string{"-client-auth", "jwt", "capabilities"}, "want basic or post"},
		{"bad max pages", f.env, []string{"-max-pages", "0", "search", "Patient"}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fhirctl(t, tt.env, "", tt.args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Empty(t, r.stdout)
		})
	}
	r := fhirctl(t, f.env, "", "-h")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "usage: fhirctl")
}

func TestKeyFileErrors(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p256, err := jwk.Import(ec)
	require.NoError(t, err)
	require.NoError(t, p256.Set(jwk.KeyIDKey, "k"))
	p256JSON, _ := json.Marshal(p256)
	files := map[string][]byte{
		"garbage.jwk": []byte("not a key"),
		"public.jwk":  []byte(f.iss.JWKS()),
		"p256.jwk":    p256JSON,
		"huge.jwk":    bytes.Repeat([]byte(" "), maxKeyFile+10),
	}
	env := map[string]string{"FHIR_BASE": f.env["FHIR_BASE"], "FHIR_CLIENT_ID": "backend"}
	for name, data := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		r := fhirctl(t, env, "", "-key", path, "token")
		assert.Equal(t, exitFailure, r.code, name)
		assert.Contains(t, r.stderr, "-key", name)
	}
	r := fhirctl(t, env, "", "-key", filepath.Join(dir, "missing.jwk"), "token")
	assert.Equal(t, exitFailure, r.code)
}

func TestSanitize(t *testing.T) {
	assert.Equal(t, "a?[31mred? ok\n", sanitize("a\x1b[31mred\x07 ok\n"))
	assert.Equal(t, "?[31m ?evil? ?gpj.exe ??", sanitize("\u009b[31m \u2066evil\u2069 \u202egpj.exe \u2028\u2029"))
}
