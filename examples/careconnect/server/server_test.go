package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

type running struct {
	srv    *server.Server
	stdout *logbuf.Buffer
	stderr *logbuf.Buffer
	stop   func() error
}

// start runs careconnect through RunConfig, exactly as the program does,
// on a free loopback port.
func start(t *testing.T, extra ...string) *running {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0", "-backend-key", filepath.Join(t.TempDir(), "backend.jwk.json")}, extra...)
	stderr := &logbuf.Buffer{}
	cfg, err := server.ParseArgs(args, stderr)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &logbuf.Buffer{}, stderr: stderr}
	started := make(chan *server.Server, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- server.RunConfig(ctx, cfg, r.stdout, stderr, func(s *server.Server) { started <- s })
	}()
	select {
	case r.srv = <-started:
	case err := <-errc:
		cancel()
		t.Fatalf("careconnect did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("careconnect did not start in 30s")
	}
	var once sync.Once
	var runErr error
	r.stop = func() error {
		once.Do(func() { cancel(); runErr = <-errc })
		return runErr
	}
	t.Cleanup(func() { _ = r.stop() })
	return r
}

type reply struct {
	status int
	header http.Header
	body   []byte
	doc    map[string]any
}

func call(t *testing.T, method, u, token string, body io.Reader, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &r.doc)
	return r
}

// tokenFor gets a token by client credentials with HTTP Basic client
// authentication, as the Care Connect guide does.
func tokenFor(t *testing.T, s *server.Server, id, secret, scope string) reply {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, err := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &r.doc)
	return r
}

func accessToken(t *testing.T, s *server.Server, id string) string {
	t.Helper()
	r := tokenFor(t, s, id, id+"-secret", "")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	tok, _ := r.doc["access_token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

func total(r reply) any { return r.doc["total"] }

func TestStartupTextAndTheCurlFlow(t *testing.T) {
	r := start(t)
	s := r.srv
	out := r.stdout.String()
	assert.Contains(t, out, "FHIR base       "+s.BaseURL())
	for _, id := range []string{server.PatientAccessClient, server.ReadClient, server.WriteClient, server.PatientAppClient, server.BackendClient} {
		assert.Contains(t, out, id)
	}
	assert.Contains(t, out, "patient-access-secret")
	assert.Contains(t, out, "system/*.rs")
	assert.Contains(t, out, "9990000018")
	assert.Contains(t, out, server.TryItHeading)
	for _, c := range server.CurlCommands(s.URL(), "patient-access", "patient-access-secret", "Patient/1", "Observation?patient=1") {
		assert.Contains(t, out, "  "+c+"\n")
	}

	// The curl-equivalent flow over HTTP: token, read 200, refused 403 with the reason.
	tr := tokenFor(t, s, "patient-access", "patient-access-secret", "")
	require.Equal(t, http.StatusOK, tr.status, string(tr.body))
	assert.Equal(t, "Bearer", tr.doc["token_type"])
	assert.Equal(t, float64(5400), tr.doc["expires_in"], "90-minute tokens")
	assert.Equal(t, "user/Patient.read", tr.doc["scope"])
	tok := tr.doc["access_token"].(string)

	res := call(t, http.MethodGet, s.BaseURL()+"/Patient/1", tok, nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, "Patient", res.doc["resourceType"])
	res = call(t, http.MethodGet, s.BaseURL()+"/Observation?patient=1", tok, nil)
	require.Equal(t, http.StatusForbidden, res.status)
	assert.Contains(t, string(res.body), "do not permit search on Observation")
	assert.Contains(t, res.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)

	assert.NotContains(t, r.stderr.String(), tok, "the token never appears in logs")
	assert.Contains(t, r.stderr.String(), "fhirwarden audit")
}

// TestPrintedCommandsWorkVerbatim runs the printed copy-and-paste block
// with a real shell and curl.
func TestPrintedCommandsWorkVerbatim(t *testing.T) {
	bash, err1 := exec.LookPath("bash")
	_, err2 := exec.LookPath("curl")
	if err1 != nil || err2 != nil {
		t.Skip("bash or curl not installed")
	}
	r := start(t)
	var block []string
	sc := bufio.NewScanner(strings.NewReader(r.stdout.String()))
	in := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == server.TryItHeading:
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			block = append(block, strings.TrimPrefix(line, "  "))
		}
	}
	require.Len(t, block, 3, r.stdout.String())
	script := "set -e\n" + block[0] + "\necho '--- read'\n" + block[1] + "\necho\necho '--- refused'\n" + block[2] + "\n"
	out, err := exec.Command(bash, "-c", script).CombinedOutput()
	require.NoError(t, err, string(out))
	read, refused, ok := strings.Cut(string(out), "--- refused")
	require.True(t, ok, string(out))
	assert.Contains(t, read, `"resourceType":"Patient"`)
	assert.Contains(t, read, `"id":"1"`)
	assert.Contains(t, refused, "HTTP/1.1 403 Forbidden")
	assert.Contains(t, refused, "do not permit search on Observation")
}

func TestSecurityWalkthrough(t *testing.T) {
	r := start(t)
	s := r.srv
	base := s.BaseURL()

	// Public endpoints.
	res := call(t, http.MethodGet, base+"/metadata", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, string(res.body), s.TokenURL())
	assert.Contains(t, string(res.body), "SMART-on-FHIR")
	res = call(t, http.MethodGet, base+"/.well-known/smart-configuration", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, s.TokenURL(), res.doc["token_endpoint"])
	res = call(t, http.MethodGet, s.URL()+"/.well-known/openid-configuration", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, s.URL(), res.doc["issuer"])

	// No token, a bad token.
	res = call(t, http.MethodGet, base+"/Patient/1", "", nil)
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Equal(t, "OperationOutcome", res.doc["resourceType"])
	res = call(t, http.MethodGet, base+"/Patient/1", "not.a.token", nil)
	assert.Equal(t, http.StatusUnauthorized, res.status)

	// Wrong secret; a scope outside the client's allowance.
	assert.Equal(t, http.StatusUnauthorized, tokenFor(t, s, "patient-access", "wrong", "").status)
	bad := tokenFor(t, s, "patient-access", "patient-access-secret", "user/Observation.read")
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Equal(t, "invalid_scope", bad.doc["error"])

	// The reader reads all nine types and writes nothing.
	reader := accessToken(t, s, server.ReadClient)
	for _, typ := range []string{"Patient", "Observation", "Encounter", "Condition", "Procedure", "AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Immunization"} {
		res := call(t, http.MethodGet, base+"/"+typ+"?_count=50", reader, nil)
		require.Equal(t, http.StatusOK, res.status, typ)
		assert.NotZero(t, total(res), typ)
	}
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/2"}}`
	res = call(t, http.MethodPost, base+"/Observation", reader, strings.NewReader(obs), "Content-Type", "application/fhir+json")
	assert.Equal(t, http.StatusForbidden, res.status)

	// The writer writes; invalid resources are refused with 400 and not stored.
	writer := accessToken(t, s, server.WriteClient)
	res = call(t, http.MethodPost, base+"/Observation", writer, strings.NewReader(obs), "Content-Type", "application/fhir+json")
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	assert.NotEmpty(t, res.header.Get("Location"))
	res = call(t, http.MethodPost, base+"/Observation", writer, strings.NewReader(`{"resourceType":"Observation","status":"bogus"}`), "Content-Type", "application/fhir+json")
	assert.Equal(t, http.StatusBadRequest, res.status)

	// The patient app sees its own patient only.
	app := accessToken(t, s, server.PatientAppClient)
	res = call(t, http.MethodGet, base+"/Observation", app, nil)
	require.Equal(t, http.StatusOK, res.status)
	for _, e := range res.doc["entry"].([]any) {
		subj := e.(map[string]any)["resource"].(map[string]any)["subject"].(map[string]any)["reference"]
		assert.Equal(t, "Patient/1", subj)
	}
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, base+"/Patient/2", app, nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, base+"/Observation/obs-lab-2", app, nil).status)
	assert.Equal(t, http.StatusForbidden, call(t, http.MethodGet, base+"/Observation?patient=2", app, nil).status)
	res = call(t, http.MethodGet, base+"/Patient/1/$everything", app, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Len(t, res.doc["entry"], 10)
	res = call(t, http.MethodGet, base+"/Patient?_revinclude=Observation:patient", app, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Len(t, res.doc["entry"], 3, "Patient/1 and its two observations")

	// Batch: allowed entries run, the other patient's read is refused per entry.
	batch := `{"resourceType":"Bundle","type":"batch","entry":[
 {"request":{"method":"GET","url":"Patient/1"}},
 {"request":{"method":"GET","url":"Patient/2"}},
 {"request":{"method":"GET","url":"Observation?category=laboratory"}}]}`
	res = call(t, http.MethodPost, base, app, strings.NewReader(batch), "Content-Type", "application/fhir+json")
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	var st []string
	for _, e := range res.doc["entry"].([]any) {
		st = append(st, e.(map[string]any)["response"].(map[string]any)["status"].(string))
	}
	require.Len(t, st, 3)
	assert.True(t, strings.HasPrefix(st[0], "200"), st[0])
	assert.False(t, strings.HasPrefix(st[1], "200"), st[1])
	assert.True(t, strings.HasPrefix(st[2], "200"), st[2])
	third := res.doc["entry"].([]any)[2].(map[string]any)["resource"].(map[string]any)
	assert.Len(t, third["entry"], 1, "the search inside the batch is narrowed to patient 1")

	// Paging links are plain searches, authorized again on every page.
	res = call(t, http.MethodGet, base+"/Observation?_count=1", reader, nil)
	next := ""
	for _, l := range res.doc["link"].([]any) {
		if l.(map[string]any)["relation"] == "next" {
			next = l.(map[string]any)["url"].(string)
		}
	}
	require.NotEmpty(t, next)
	assert.Equal(t, http.StatusOK, call(t, http.MethodGet, next, reader, nil).status)
	patientOnly := accessToken(t, s, server.PatientAccessClient)
	assert.Equal(t, http.StatusForbidden, call(t, http.MethodGet, next, patientOnly, nil).status, "paging replay with a weaker token")
}

func TestBackendServiceWithPrivateKeyJWT(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "backend.jwk.json")
	r := start(t, "-backend-key", keyFile)
	s := r.srv
	info, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Contains(t, r.stdout.String(), keyFile)
	raw, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	key, err := jwk.ParseKey(raw)
	require.NoError(t, err)

	assertion := func(jti string, lifetime time.Duration) string {
		now := time.Now()
		tok, err := jwt.NewBuilder().Issuer(server.BackendClient).Subject(server.BackendClient).
			Audience([]string{s.TokenURL()}).IssuedAt(now).Expiration(now.Add(lifetime)).JwtID(jti).Build()
		require.NoError(t, err)
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES384(), key))
		require.NoError(t, err)
		return string(signed)
	}
	post := func(a string) reply {
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {a},
		}
		return call(t, http.MethodPost, s.TokenURL(), "", strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
	}
	a := assertion("jti-1", 4*time.Minute)
	res := post(a)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, "system/*.rs", res.doc["scope"])
	tok := res.doc["access_token"].(string)
	res = call(t, http.MethodGet, s.BaseURL()+"/Observation?_count=100", tok, nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, float64(6), total(res), "system/ scopes are not narrowed")

	assert.Equal(t, http.StatusUnauthorized, post(a).status, "replayed jti")
	assert.Equal(t, http.StatusUnauthorized, post(assertion("jti-2", time.Hour)).status, "assertion lifetime over 5 minutes")
}

func TestClientsFileAndR4(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(`[
 {"client_id":"labs-only","client_secret":"s3cret-labs","scope":"user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}]`), 0o600))
	r := start(t, "-clients", file, "-fhir-version", "R4")
	s := r.srv
	out := r.stdout.String()
	assert.Contains(t, out, "FHIR R4")
	assert.Contains(t, out, "labs-only")
	assert.NotContains(t, out, "s3cret-labs", "secrets from the user's file are not printed")
	assert.NotContains(t, out, "patient-access", "the demo clients are replaced")
	assert.Contains(t, out, "$CLIENT_SECRET")

	assert.Equal(t, http.StatusUnauthorized, tokenFor(t, s, "patient-access", "patient-access-secret", "").status)
	tr := tokenFor(t, s, "labs-only", "s3cret-labs", "")
	require.Equal(t, http.StatusOK, tr.status, string(tr.body))
	tok := tr.doc["access_token"].(string)
	res := call(t, http.MethodGet, s.BaseURL()+"/Observation", tok, nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	for _, e := range res.doc["entry"].([]any) {
		assert.Contains(t, e.(map[string]any)["fullUrl"], "obs-lab-", "only laboratory observations")
	}
	assert.Len(t, res.doc["entry"], 3)
	res = call(t, http.MethodGet, s.BaseURL()+"/Observation/obs-vital-1", tok, nil)
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, res.status)
	res = call(t, http.MethodGet, s.BaseURL()+"/metadata", "", nil)
	assert.Contains(t, string(res.body), `"fhirVersion":"4.0.1"`)
}

func TestFlags(t *testing.T) {
	cases := []struct {
		args []string
		want error
	}{
		{[]string{"-h"}, flag.ErrHelp},
		{[]string{"-fhir-version", "DSTU2"}, server.ErrUsage},
		{[]string{"-nope"}, server.ErrUsage},
		{[]string{"extra"}, server.ErrUsage},
		{[]string{"-issuer", "ftp://idp"}, server.ErrUsage},
		{[]string{"-issuer", "https://idp.example", "-clients", "x.json"}, server.ErrUsage},
		{[]string{"-public-url", "http://h/fhir"}, server.ErrUsage},
	}
	for _, tc := range cases {
		_, err := server.ParseArgs(tc.args, io.Discard)
		assert.ErrorIs(t, err, tc.want, tc.args)
	}
	cfg, err := server.ParseArgs(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", cfg.Addr)
	assert.Equal(t, "STU3", string(cfg.FHIRVersion))

	var stderr bytes.Buffer
	err = server.Run(context.Background(), []string{"-addr", "127.0.0.1:0", "-clients", filepath.Join(t.TempDir(), "missing.json")}, io.Discard, &stderr)
	assert.Error(t, err, "a missing clients file stops the start")
}

func TestGracefulShutdown(t *testing.T) {
	r := start(t)
	s := r.srv
	require.NoError(t, r.stop(), "cancelling the context shuts down cleanly")
	select {
	case <-s.Done():
	default:
		t.Fatal("server still serving after shutdown")
	}
	_, err := http.Get(s.BaseURL() + "/metadata")
	assert.Error(t, err)
	assert.True(t, errors.Is(s.Err(), nil))
}

func TestScopesPage(t *testing.T) {
	r := start(t)
	s := r.srv
	res := call(t, http.MethodGet, s.URL()+"/", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	page := string(res.body)
	assert.Contains(t, page, "Security scopes")
	assert.Contains(t, page, "user/Patient.read")
	assert.Contains(t, page, `<script src="/static/app.js"`)
	assert.NotContains(t, page, "http://cdn", "no external resources")
	assert.NotContains(t, page, "https://cdn")
	csp := res.header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self'")
	assert.NotContains(t, csp, "unsafe-inline")
	js := call(t, http.MethodGet, s.URL()+"/static/app.js", "", nil)
	assert.Equal(t, http.StatusOK, js.status)
	assert.Contains(t, string(js.body), "client_credentials")
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, s.URL()+"/nothing", "", nil).status)
	assert.Equal(t, http.StatusMethodNotAllowed, call(t, http.MethodPost, s.URL()+"/", "", nil).status)
}

// TestExternalIssuer runs one careconnect as the identity provider and a
// second one trusting it with -issuer: the second discovers the issuer's
// JWKS, accepts its tokens, and has no embedded issuer of its own.
func TestExternalIssuer(t *testing.T) {
	idp := start(t).srv
	r := start(t, "-issuer", idp.URL(), "-audience", idp.BaseURL())
	s := r.srv
	assert.Contains(t, r.stdout.String(), "external issuer")
	assert.Equal(t, idp.TokenURL(), s.TokenURL())
	assert.Nil(t, s.Clients())

	tok := accessToken(t, idp, server.PatientAccessClient)
	res := call(t, http.MethodGet, s.BaseURL()+"/Patient/1", tok, nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, http.StatusForbidden, call(t, http.MethodGet, s.BaseURL()+"/Observation", tok, nil).status)

	res = call(t, http.MethodPost, s.URL()+"/oauth2/token", "", strings.NewReader("grant_type=client_credentials"),
		"Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, http.StatusNotFound, res.status, "the embedded issuer is off")
	res = call(t, http.MethodGet, s.BaseURL()+"/metadata", "", nil)
	assert.Contains(t, string(res.body), idp.TokenURL())
	res = call(t, http.MethodGet, s.URL()+"/", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, string(res.body), "Tokens come from an external issuer")
	assert.Contains(t, res.header.Get("Content-Security-Policy"), "connect-src 'self' "+idp.URL())

	// A token for another audience is refused.
	other := start(t).srv
	res = call(t, http.MethodGet, s.BaseURL()+"/Patient/1", accessToken(t, other, server.PatientAccessClient), nil)
	assert.Equal(t, http.StatusUnauthorized, res.status)
}
