package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/internal/logbuf"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// upstreamBase is the naive server's base path: deliberately not the
// gateway's, so path mapping and link rewriting are exercised.
const upstreamBase = "/baseR4"

// gw is a gateway under test (run in-process) in front of a naive FHIR
// server, trusting a tokentest issuer.
type gw struct {
	url    string // "http://127.0.0.1:port/fhir"
	iss    *tokentest.Issuer
	fhir   *naivefhir.Server
	up     *httptest.Server
	stderr *logbuf.Buffer
}

func startGateway(t *testing.T, extra ...string) *gw {
	t.Helper()
	return startGatewayWith(t, nil, extra...)
}

// startGatewayWith starts a gateway whose upstream is the naive server,
// wrapped by wrap when not nil.
func startGatewayWith(t *testing.T, wrap func(http.Handler) http.Handler, extra ...string) *gw {
	t.Helper()
	return startGatewayPrepared(t, nil, wrap, extra...)
}

// startGatewayPrepared is startGatewayWith with prepare called on the
// issuer before the gateway starts (to make it fail, say).
func startGatewayPrepared(t *testing.T, prepare func(*tokentest.Issuer), wrap func(http.Handler) http.Handler, extra ...string) *gw {
	t.Helper()
	g := &gw{iss: tokentest.NewIssuer(), fhir: naivefhir.New(upstreamBase, naivefhir.Sample()...), stderr: &logbuf.Buffer{}}
	t.Cleanup(g.iss.Close)
	if prepare != nil {
		prepare(g.iss)
	}
	var upstream http.Handler = g.fhir
	if wrap != nil {
		upstream = wrap(upstream)
	}
	g.up = httptest.NewServer(upstream)
	t.Cleanup(g.up.Close)
	args := append([]string{
		"-addr", "127.0.0.1:0",
		"-upstream", g.up.URL + upstreamBase,
		"-issuer", g.iss.URL,
		"-audience", g.iss.Audience(),
		"-shared-types", "Practitioner,Organization",
	}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, g.stderr)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("gateway did not start: %v; stderr: %s", <-done, g.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	for f := range strings.FieldsSeq(line) {
		if strings.HasPrefix(f, "http://127.0.0.1:") {
			g.url = f
			break
		}
	}
	require.NotEmpty(t, g.url, "startup line: %q", line)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return g
}

func (g *gw) token(scope, patient string) string {
	claims := map[string]any{"sub": "u1", "client_id": "app", "scope": scope}
	if patient != "" {
		claims["patient"] = patient
	}
	return g.iss.Mint(claims)
}

// do sends a request to the gateway; path is relative to its base.
func (g *gw) do(t *testing.T, method, path, tok, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	u := g.url
	if path != "" && path[0] != '?' && !strings.HasPrefix(path, "http") {
		u += "/"
	}
	if strings.HasPrefix(path, "http") {
		u = ""
	}
	req, err := http.NewRequest(method, u+path, strings.NewReader(body))
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if tok != "" {
		require.NotContains(t, string(b), tok)
	}
	return res, b
}

func TestRunRejectsBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"nothing":          {},
		"no upstream":      {"-issuer", "https://idp.example", "-audience", "x"},
		"relative":         {"-upstream", "/fhir", "-issuer", "https://idp.example", "-audience", "x"},
		"upstream query":   {"-upstream", "http://h/fhir?x=1", "-issuer", "https://idp.example", "-audience", "x"},
		"bad version":      {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x", "-fhir-version", "R5"},
		"bad base":         {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x", "-base", "fhir/"},
		"bad shared type":  {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x", "-shared-types", "Observation"},
		"unknown flag":     {"-nope"},
		"extra arguments":  {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x", "extra"},
		"negative maximum": {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x", "-max-response", "0"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), args, io.Discard, &stderr)
		var usage usageError
		assert.ErrorAs(t, err, &usage, name)
	}
}

// The gateway in front of a naive FHIR server keeps every other patient's
// data from a patient-context client: searches, reads by id, _include,
// _revinclude, chains, POST _search, batches.
func TestGatewayLeaksNothing(t *testing.T) {
	g := startGateway(t)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	for _, a := range naivefhir.Attacks {
		t.Run(a.Name, func(t *testing.T) {
			res, body := g.do(t, a.Method, a.Path, tok, a.ContentType, a.Body)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d body: %s", res.StatusCode, body)
			assert.Less(t, res.StatusCode, 500, "body: %s", body)
			assert.NotContains(t, string(body), g.up.URL, "upstream URLs are rewritten")
			if strings.Contains(a.Name, "own") {
				assert.Equal(t, 200, res.StatusCode)
			}
		})
	}
	// Narrowed, not broken: Alice gets exactly her Observations.
	res, body := g.do(t, http.MethodGet, "Observation", tok, "", "")
	require.Equal(t, 200, res.StatusCode)
	var b struct {
		Entry []struct{ Resource struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(body, &b))
	var ids []string
	for _, e := range b.Entry {
		ids = append(ids, e.Resource.ID)
	}
	assert.ElementsMatch(t, []string{"obs-p1-by-p2", "obs-p1-lab", "obs-p1-vital"}, ids)
	for _, r := range g.fhir.Requests() {
		assert.Empty(t, r.Header.Get("Authorization"), "the caller's token is not forwarded: %s %s", r.Method, r.URL)
	}
}

// Paging links point at the gateway, and following them is authorized
// again: Alice's pages hold only her data; Bob's next link does not work
// with Alice's token.
func TestGatewayPaging(t *testing.T) {
	g := startGateway(t)
	alice := g.token("patient/Observation.rs", naivefhir.Alice)
	next := "Observation?_count=1"
	var seen []string
	for range 10 {
		res, body := g.do(t, http.MethodGet, next, alice, "", "")
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
		var b struct {
			Link  []struct{ Relation, URL string }
			Entry []struct {
				FullURL  string `json:"fullUrl"`
				Resource struct{ ID string }
			}
		}
		require.NoError(t, json.Unmarshal(body, &b))
		next = ""
		for _, l := range b.Link {
			assert.True(t, strings.HasPrefix(l.URL, g.url+"/"), "link %q points at the gateway", l.URL)
			if l.Relation == "next" {
				next = l.URL
			}
		}
		for _, e := range b.Entry {
			assert.Equal(t, g.url+"/Observation/"+e.Resource.ID, e.FullURL)
			seen = append(seen, e.Resource.ID)
		}
		if next == "" {
			break
		}
	}
	assert.ElementsMatch(t, []string{"obs-p1-by-p2", "obs-p1-lab", "obs-p1-vital"}, seen)

	// Bob's first page carries a next link for Bob's search; Alice's
	// token cannot follow it.
	bob := g.token("patient/Observation.rs", naivefhir.Bob)
	res, body := g.do(t, http.MethodGet, "Observation?_count=1", bob, "", "")
	require.Equal(t, 200, res.StatusCode)
	var b struct {
		Link []struct{ Relation, URL string }
	}
	require.NoError(t, json.Unmarshal(body, &b))
	var bobNext string
	for _, l := range b.Link {
		if l.Relation == "next" {
			bobNext = l.URL
		}
	}
	require.NotEmpty(t, bobNext)
	res, body = g.do(t, http.MethodGet, bobNext, alice, "", "")
	assert.Equal(t, 403, res.StatusCode, "paging replay: %s", body)
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
}

// Opaque paging tokens (HAPI's _getpages) could replay any search: the
// page is checked entry by entry.
func TestGatewayOpaquePaging(t *testing.T) {
	g := startGatewayWith(t, func(naive http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("_getpages") {
				// This upstream's page token stands for "all Observations".
				r = r.Clone(r.Context())
				r.URL.Path, r.URL.RawQuery = upstreamBase+"/Observation", ""
			}
			naive.ServeHTTP(w, r)
		})
	})
	tok := g.token("patient/*.rs", naivefhir.Alice)
	res, body := g.do(t, http.MethodGet, "?_getpages=0a1b2c&_getpagesoffset=1&_count=10", tok, "", "")
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "body: %s", body)
	assert.NotContains(t, string(body), `"total"`)
	assert.Contains(t, string(body), "obs-p1-lab")
}

// What the upstream sees: its own Host, X-Forwarded-* naming the client
// side, the gateway's narrowing, and no Authorization header unless asked.
func TestGatewayForwarding(t *testing.T) {
	g := startGateway(t)
	tok := g.token("patient/*.rs", naivefhir.Alice)
	res, _ := g.do(t, http.MethodGet, "Observation?code=8867-4", tok, "", "")
	require.Equal(t, 200, res.StatusCode)
	reqs := g.fhir.Requests()
	require.NotEmpty(t, reqs)
	up := reqs[len(reqs)-1]
	u, err := url.Parse(up.URL)
	require.NoError(t, err)
	assert.Equal(t, upstreamBase+"/Observation", u.Path)
	assert.Equal(t, []string{"Patient/p1"}, u.Query()["patient"])
	assert.Empty(t, up.Header.Get("Authorization"))
	gwURL, _ := url.Parse(g.url)
	upURL, _ := url.Parse(g.up.URL)
	assert.Equal(t, gwURL.Host, up.Header.Get("X-Forwarded-Host"))
	assert.Equal(t, "http", up.Header.Get("X-Forwarded-Proto"))
	assert.Equal(t, "127.0.0.1", up.Header.Get("X-Forwarded-For"))
	assert.NotEqual(t, upURL.Host, gwURL.Host)

	t.Run("forward-authorization", func(t *testing.T) {
		g := startGateway(t, "-forward-authorization")
		tok := g.token("user/Patient.rs", "")
		res, _ := g.do(t, http.MethodGet, "Patient/p1", tok, "", "")
		require.Equal(t, 200, res.StatusCode)
		reqs := g.fhir.Requests()
		assert.Equal(t, "Bearer "+tok, reqs[len(reqs)-1].Header.Get("Authorization"))
	})
	t.Run("no DPoP proof upstream", func(t *testing.T) {
		// A proof names the gateway's URL and hashes the caller's token;
		// the gateway checks none, and the upstream must not get one
		// (with -forward-authorization, together with its token).
		for _, extra := range [][]string{nil, {"-forward-authorization"}} {
			g := startGateway(t, extra...)
			tok := g.token("user/Patient.rs", "")
			req, err := http.NewRequest(http.MethodGet, g.url+"/Patient/p1", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+tok)
			key, err := client.GenerateDPoPKey()
			require.NoError(t, err)
			proof, err := key.Proof(http.MethodGet, req.URL.String(), tok, "")
			require.NoError(t, err)
			req.Header.Set("DPoP", proof)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, 200, res.StatusCode)
			reqs := g.fhir.Requests()
			up := reqs[len(reqs)-1]
			assert.Empty(t, up.Header.Values("DPoP"), "%v", extra)
		}
	})
	t.Run("Location of a created resource", func(t *testing.T) {
		loc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://"+r.Host+upstreamBase+"/Observation/o9/_history/1")
			w.Header().Set("Content-Type", "application/fhir+json")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o9","status":"final","code":{"text":"x"}}`)
		}))
		defer loc.Close()
		iss := tokentest.NewIssuer()
		defer iss.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pr, pw := io.Pipe()
		go func() {
			_ = run(ctx, []string{"-addr", "127.0.0.1:0", "-upstream", loc.URL + upstreamBase, "-issuer", iss.URL, "-audience", iss.Audience(), "-fhir-version", "R4"}, pw, io.Discard)
		}()
		line, err := bufio.NewReader(pr).ReadString('\n')
		require.NoError(t, err)
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		base := strings.Fields(line)[4]
		req, _ := http.NewRequest(http.MethodPost, base+"/Observation", strings.NewReader(`{"resourceType":"Observation","status":"final","code":{"text":"x"}}`))
		req.Header.Set("Authorization", "Bearer "+iss.Mint(map[string]any{"sub": "u", "scope": "user/Observation.c"}))
		req.Header.Set("Content-Type", "application/fhir+json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, 201, res.StatusCode)
		assert.Equal(t, base+"/Observation/o9/_history/1", res.Header.Get("Location"))
	})
}

// Patient-context writes: the gateway reads the stored version through the
// upstream and refuses to overwrite or delete another patient's resource.
func TestGatewayWrites(t *testing.T) {
	g := startGateway(t)
	tok := g.token("patient/*.cruds", naivefhir.Alice)
	takeover := `{"resourceType":"Observation","id":"obs-p2-lab","status":"final","code":{"text":"mine now"},"subject":{"reference":"Patient/p1"}}`
	res, body := g.do(t, http.MethodPut, "Observation/obs-p2-lab", tok, "application/fhir+json", takeover)
	assert.Equal(t, 404, res.StatusCode, "body: %s", body)
	res, body = g.do(t, http.MethodDelete, "Observation/obs-p2-lab", tok, "", "")
	assert.Equal(t, 404, res.StatusCode, "body: %s", body)
	stored, ok := g.fhir.Get("Observation", "obs-p2-lab")
	require.True(t, ok)
	assert.Contains(t, string(stored), "Patient/p2")

	own := `{"resourceType":"Observation","id":"obs-p1-lab","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	res, body = g.do(t, http.MethodPut, "Observation/obs-p1-lab", tok, "application/fhir+json", own)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	reqs := g.fhir.Requests()
	last := reqs[len(reqs)-1]
	assert.Equal(t, http.MethodPut, last.Method)
	assert.Equal(t, `W/"1"`, last.Header.Get("If-Match"))
	for _, r := range reqs {
		assert.NotEqual(t, http.MethodDelete, r.Method)
		if r.Method == http.MethodPut {
			assert.Equal(t, upstreamBase+"/Observation/obs-p1-lab", r.URL)
		}
	}
}

func TestGatewayPublicAndFailures(t *testing.T) {
	g := startGateway(t)
	res, body := g.do(t, http.MethodGet, "metadata", "", "", "")
	assert.Equal(t, 200, res.StatusCode, "metadata is public: %s", body)

	res, body = g.do(t, http.MethodGet, ".well-known/smart-configuration", "", "", "")
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	var sc map[string]any
	require.NoError(t, json.Unmarshal(body, &sc))
	assert.Equal(t, g.iss.TokenURL(), sc["token_endpoint"])
	assert.Equal(t, g.iss.JWKSURL(), sc["jwks_uri"])
	assert.Contains(t, sc, "capabilities")

	res, _ = g.do(t, http.MethodGet, "Patient/p1", "", "", "")
	assert.Equal(t, 401, res.StatusCode)
	assert.Equal(t, `Bearer realm="fhir"`, res.Header.Get("WWW-Authenticate"))

	// A token for another audience.
	other := g.iss.Mint(map[string]any{"sub": "u", "scope": "user/*.rs", "aud": "https://other.example/fhir"})
	res, _ = g.do(t, http.MethodGet, "Patient/p1", other, "", "")
	assert.Equal(t, 401, res.StatusCode)

	// The upstream goes away: 502 with an OperationOutcome, no upstream URL.
	g.up.Close()
	res, body = g.do(t, http.MethodGet, "Patient/p1", g.token("user/Patient.rs", ""), "", "")
	assert.Equal(t, 502, res.StatusCode)
	assert.Equal(t, "application/fhir+json", res.Header.Get("Content-Type"))
	assert.Contains(t, string(body), "OperationOutcome")
	assert.NotContains(t, string(body), "127.0.0.1")
}

// STU3 and another base path: the same guarantees.
func TestGatewaySTU3(t *testing.T) {
	g := startGatewayWith(t, stu3Metadata, "-fhir-version", "STU3", "-base", "/stu3")
	require.True(t, strings.HasSuffix(g.url, "/stu3"), g.url)
	tok := g.token("patient/*.read", naivefhir.Alice)
	for _, p := range []string{"Observation", "Observation?_include=Observation:performer", "Observation/obs-p2-lab", "Practitioner?_revinclude=Observation:performer"} {
		res, body := g.do(t, http.MethodGet, p, tok, "", "")
		assert.Less(t, res.StatusCode, 500, "%s: %s", p, body)
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "%s: %s", p, body)
	}
	res, body := g.do(t, http.MethodGet, "Observation", tok, "", "")
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	assert.Contains(t, string(body), g.url+"/Observation/obs-p1-lab")
	res, _ = g.do(t, http.MethodGet, "Patient/p2", tok, "", "")
	assert.Equal(t, 404, res.StatusCode)
}

// stu3Metadata makes the upstream's CapabilityStatement say STU3.
func stu3Metadata(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/metadata") {
			w.Header().Set("Content-Type", "application/fhir+json")
			_, _ = io.WriteString(w, `{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"3.0.2","format":["json"]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
