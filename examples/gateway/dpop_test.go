package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// publicURL is the origin DPoP proofs name in these tests: not the
// loopback address the gateway listens on, as behind a proxy.
const publicURL = "https://gw.example"

func startDPoPGateway(t *testing.T, wrap func(http.Handler) http.Handler, extra ...string) *gw {
	t.Helper()
	return startGatewayWith(t, wrap, append([]string{"-dpop", "-public-url", publicURL}, extra...)...)
}

func dpopKey(t *testing.T) *client.DPoPKey {
	t.Helper()
	k, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	return k
}

// boundToken mints a token like g.token, bound to key (cnf.jkt).
func (g *gw) boundToken(key *client.DPoPKey, scope, patient string) string {
	claims := map[string]any{"sub": "u1", "client_id": "app", "scope": scope, "cnf": map[string]any{"jkt": key.Thumbprint()}}
	if patient != "" {
		claims["patient"] = patient
	}
	return g.iss.Mint(claims)
}

// public is the URL a client behind the proxy addresses for the
// gateway's URL u.
func (g *gw) public(u string) string {
	return publicURL + strings.TrimPrefix(u, strings.TrimSuffix(g.url, "/fhir"))
}

func proof(t *testing.T, key *client.DPoPKey, method, u, tok, nonce string) string {
	t.Helper()
	p, err := key.Proof(method, u, tok, nonce)
	require.NoError(t, err)
	return p
}

// sendDPoP sends method u with "Authorization: DPoP tok" and the proof
// (none when "").
func sendDPoP(t *testing.T, method, u, tok, dpop string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	req.Header.Set("Prefer", "respond-async")
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Authorization", "DPoP "+tok)
	if dpop != "" {
		req.Header.Set("DPoP", dpop)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// withProof sends method u as sendDPoP, with a fresh proof for it.
func (g *gw) withProof(t *testing.T, key *client.DPoPKey, method, u, tok string) (*http.Response, []byte) {
	t.Helper()
	return sendDPoP(t, method, u, tok, proof(t, key, method, g.public(u), tok, ""))
}

// refusedDPoP asserts a 401 with a DPoP challenge (RFC 9449 section 7.1)
// carrying code.
func refusedDPoP(t *testing.T, res *http.Response, body []byte, code string) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "body: %s", body)
	var dpop string
	for _, v := range res.Header.Values("WWW-Authenticate") {
		if strings.HasPrefix(v, "DPoP ") {
			dpop = v
		}
	}
	assert.Contains(t, dpop, `error="`+code+`"`, "challenges: %q", res.Header.Values("WWW-Authenticate"))
	assert.Contains(t, dpop, `algs="`)
}

func entryIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var b struct {
		Entry []struct{ Resource struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(body, &b), "body: %s", body)
	ids := []string{}
	for _, e := range b.Entry {
		ids = append(ids, e.Resource.ID)
	}
	return ids
}

// A DPoP-bound token with a valid proof is decided and narrowed as a
// bearer token with the same scopes; as Bearer it is refused.
func TestGatewayDPoP(t *testing.T) {
	g := startDPoPGateway(t, nil)
	key := dpopKey(t)
	tok := g.boundToken(key, "patient/*.rs", naivefhir.Alice)

	res, body := g.withProof(t, key, http.MethodGet, g.url+"/Observation", tok)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
	assert.ElementsMatch(t, []string{"obs-p1-by-p2", "obs-p1-lab", "obs-p1-vital"}, entryIDs(t, body))
	_, bearerBody := g.do(t, http.MethodGet, "Observation", g.token("patient/*.rs", naivefhir.Alice), "", "")
	assert.ElementsMatch(t, entryIDs(t, bearerBody), entryIDs(t, body), "narrowed as a bearer token is")

	res, body = g.withProof(t, key, http.MethodGet, g.url+"/Patient/"+naivefhir.Bob, tok)
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, res.StatusCode, "another patient: %s", body)

	res, body = g.do(t, http.MethodGet, "Observation", tok, "", "")
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "a bound token as Bearer: %s", body)
	assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
	for _, r := range g.fhir.Requests() {
		assert.Empty(t, r.Header.Get("DPoP"), "no proof goes upstream")
	}
}

// Proofs made for another request, replayed, or signed by a key the token
// is not bound to are refused with the DPoP challenge, and the Host the
// request came with is not the URL proofs must name.
func TestGatewayAttackDPoPProofs(t *testing.T) {
	g := startDPoPGateway(t, nil)
	key, other := dpopKey(t), dpopKey(t)
	tok := g.boundToken(key, "patient/*.rs", naivefhir.Alice)
	u := g.url + "/Observation"

	for name, p := range map[string]string{
		"another URL":          proof(t, key, http.MethodGet, g.public(g.url+"/Patient"), tok, ""),
		"another method":       proof(t, key, http.MethodPost, g.public(u), tok, ""),
		"the Host's URL":       proof(t, key, http.MethodGet, u, tok, ""),
		"another key":          proof(t, other, http.MethodGet, g.public(u), tok, ""),
		"another access token": proof(t, key, http.MethodGet, g.public(u), g.boundToken(key, "patient/*.rs", naivefhir.Alice), ""),
	} {
		res, body := sendDPoP(t, http.MethodGet, u, tok, p)
		refusedDPoP(t, res, body, "invalid_dpop_proof")
		assert.NotContains(t, string(body), "obs-p1", name)
	}
	res, body := sendDPoP(t, http.MethodGet, u, tok, "")
	refusedDPoP(t, res, body, "invalid_dpop_proof")

	p := proof(t, key, http.MethodGet, g.public(u), tok, "")
	res, body = sendDPoP(t, http.MethodGet, u, tok, p)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
	res, body = sendDPoP(t, http.MethodGet, u, tok, p)
	refusedDPoP(t, res, body, "invalid_dpop_proof")
	assert.Contains(t, string(body), "replay")

	// An unbound token with the DPoP scheme: the client believes it bound.
	unbound := g.token("patient/*.rs", naivefhir.Alice)
	res, body = sendDPoP(t, http.MethodGet, u, unbound, proof(t, key, http.MethodGet, g.public(u), unbound, ""))
	refusedDPoP(t, res, body, "invalid_token")
}

// With server nonces, a proof without the current nonce is refused with
// use_dpop_nonce and the nonce to use; with it, admitted.
func TestGatewayDPoPNonce(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "nonce.key")
	require.NoError(t, os.WriteFile(secret, []byte(strings.Repeat("k", 32)), 0o600))
	g := startDPoPGateway(t, nil, "-dpop-nonce-secret", secret)
	key := dpopKey(t)
	tok := g.boundToken(key, "patient/*.rs", naivefhir.Alice)
	u := g.url + "/Observation"
	res, body := g.withProof(t, key, http.MethodGet, u, tok)
	refusedDPoP(t, res, body, "use_dpop_nonce")
	nonce := res.Header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	res, body = sendDPoP(t, http.MethodGet, u, tok, proof(t, key, http.MethodGet, g.public(u), tok, nonce))
	assert.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
}

// An export started with a DPoP-bound token is polled, downloaded and
// cancelled with it and a proof for each URL and method; a proof for
// another URL or method, by another key, replayed, or the token as
// Bearer, gets the middleware's DPoP refusal.
func TestGatewayExportJobDPoP(t *testing.T) {
	b := &bulkUpstream{polls: map[string]int{}}
	g := startDPoPGateway(t, b.wrap)
	key, other := dpopKey(t), dpopKey(t)
	tok := g.boundToken(key, "system/*.rs", "")

	res, body := g.withProof(t, key, http.MethodGet, g.url+"/Patient/$export", tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	status := res.Header.Get("Content-Location")
	require.True(t, strings.HasPrefix(status, g.url+"/$export-poll-status?_jobId="), status)
	file := g.url + "/bulkfiles/j1-Patient.ndjson"
	polls := b.count()

	for name, p := range map[string]string{
		"a file's URL":   proof(t, key, http.MethodGet, g.public(file), tok, ""),
		"DELETE":         proof(t, key, http.MethodDelete, g.public(status), tok, ""),
		"the Host's URL": proof(t, key, http.MethodGet, status, tok, ""),
		"another key":    proof(t, other, http.MethodGet, g.public(status), tok, ""),
	} {
		res, body := sendDPoP(t, http.MethodGet, status, tok, p)
		refusedDPoP(t, res, body, "invalid_dpop_proof")
		assert.Equal(t, polls, b.count(), "%s: the upstream is not asked", name)
	}
	res, body = send(t, http.MethodGet, status, tok)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "as Bearer: %s", body)
	assert.Equal(t, polls, b.count())

	p := proof(t, key, http.MethodGet, g.public(status), tok, "")
	res, body = sendDPoP(t, http.MethodGet, status, tok, p)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	res, body = sendDPoP(t, http.MethodGet, status, tok, p)
	refusedDPoP(t, res, body, "invalid_dpop_proof")

	res, body = g.withProof(t, key, http.MethodGet, status, tok)
	require.Equal(t, http.StatusOK, res.StatusCode, "manifest: %s", body)
	assert.Contains(t, string(body), file)
	res, body = g.withProof(t, key, http.MethodGet, file, tok)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, bulkFile, string(body))
	res, body = sendDPoP(t, http.MethodGet, file, tok, proof(t, other, http.MethodGet, g.public(file), tok, ""))
	refusedDPoP(t, res, body, "invalid_dpop_proof")
	assert.NotContains(t, string(body), bulkFile)

	// The job routes and the middleware share one replay cache: the
	// cancellation's proof, replayed once the job is forgotten, is spent.
	p = proof(t, key, http.MethodDelete, g.public(status), tok, "")
	res, _ = sendDPoP(t, http.MethodDelete, status, tok, p)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	res, body = sendDPoP(t, http.MethodDelete, status, tok, p)
	refusedDPoP(t, res, body, "invalid_dpop_proof")
	assert.Contains(t, string(body), "replay")
}

// Another client's DPoP token on a job's URL is decided by the
// middleware as if no job existed, its proof checked once: a valid one
// is not refused as a replay, which would tell that a job is there.
func TestGatewayAttackExportJobDPoPStranger(t *testing.T) {
	b := &bulkUpstream{polls: map[string]int{}}
	g := startDPoPGateway(t, b.wrap)
	owner := dpopKey(t)
	status := startExportDPoP(t, g, owner, g.boundToken(owner, "system/*.rs", ""))
	key := dpopKey(t)
	stranger := g.iss.Mint(map[string]any{"sub": "u2", "client_id": "other", "scope": "system/*.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	res, body := g.withProof(t, key, http.MethodGet, status, stranger)
	like, likeBody := g.withProof(t, key, http.MethodGet, g.url+"/$export-poll-status?_jobId=nope", stranger)
	assert.Equal(t, like.StatusCode, res.StatusCode, "body: %s", body)
	assert.NotEqual(t, http.StatusUnauthorized, res.StatusCode, "body: %s", body)
	assert.JSONEq(t, string(likeBody), string(body))
}

func startExportDPoP(t *testing.T, g *gw, key *client.DPoPKey, tok string) string {
	t.Helper()
	res, body := g.withProof(t, key, http.MethodGet, g.url+"/Patient/$export", tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	return res.Header.Get("Content-Location")
}

// verifiedOnce answers a call only with a verification made by the same
// kind of call: a bound token's verification for the DPoP scheme never
// admits it as Bearer; and what it answers for DPoP keeps the token's
// binding, which the checker compares with every proof's key.
func TestVerifiedOnceKeepsTheBinding(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	require.NoError(t, err)
	defer ver.Close()
	key, other := dpopKey(t), dpopKey(t)
	tok := iss.Mint(map[string]any{"sub": "u1", "client_id": "app", "scope": "system/*.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	bound, err := ver.AuthenticateBound(context.Background(), tok)
	require.NoError(t, err)
	ctx := context.WithValue(context.Background(), verificationKey{}, &verification{raw: tok, bound: true, p: bound})
	a := verifiedOnce{ver}

	_, err = a.Authenticate(ctx, tok)
	require.ErrorIs(t, err, token.ErrSenderConstrained, "a DPoP verification answers no Bearer use")

	checker, err := token.NewDPoPChecker(token.DPoPConfig{})
	require.NoError(t, err)
	const u = publicURL + "/fhir/$export-poll-status"
	req := token.ProofRequest{Method: http.MethodGet, URL: u}
	_, err = checker.Authenticate(ctx, a, tok, proof(t, other, http.MethodGet, u, tok, ""), req)
	require.ErrorIs(t, err, token.ErrDPoPProof, "another key's proof, memoized token")
	p, err := checker.Authenticate(ctx, a, tok, proof(t, key, http.MethodGet, u, tok, ""), req)
	require.NoError(t, err)
	assert.Equal(t, key.Thumbprint(), p.Confirmation.JKT)

	ctx = context.WithValue(context.Background(), verificationKey{}, &verification{raw: tok, p: bound})
	_, err = checker.Authenticate(ctx, a, tok, proof(t, key, http.MethodGet, u, tok, ""), req)
	require.NoError(t, err, "a Bearer verification is not served to DPoP: the token is verified afresh")
}

// DPoP's settings are checked at start-up: the URL proofs name is
// required and must be an origin; settings without DPoP, and a short
// nonce secret, are refused.
func TestDPoPConfigErrors(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short.key")
	require.NoError(t, os.WriteFile(short, []byte("too short"), 0o600))
	base := []string{"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x"}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no public URL":         {[]string{"-dpop"}, "-public-url"},
		"public URL with path":  {[]string{"-dpop", "-public-url", "https://gw.example/fhir"}, "not an http(s) origin"},
		"public URL with query": {[]string{"-dpop", "-public-url", "https://gw.example?x=1"}, "not an http(s) origin"},
		"public URL not http":   {[]string{"-dpop", "-public-url", "ftp://gw.example"}, "not an http(s) origin"},
		"public URL relative":   {[]string{"-dpop", "-public-url", "gw.example"}, "not an http(s) origin"},
		"public URL, no DPoP":   {[]string{"-public-url", "https://gw.example"}, "only with DPoP"},
		"nonces, no DPoP":       {[]string{"-dpop-nonce-secret", short}, "only with DPoP"},
		"short nonce secret":    {[]string{"-dpop", "-public-url", "https://gw.example", "-dpop-nonce-secret", short}, "shorter than 32"},
		"missing nonce secret":  {[]string{"-dpop", "-public-url", "https://gw.example", "-dpop-nonce-secret", short + ".nope"}, "no such file"},
	} {
		var stderr strings.Builder
		err := run(context.Background(), append(append([]string{}, base...), tc.args...), io.Discard, &stderr)
		var usage usageError
		require.ErrorAs(t, err, &usage, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}

	p := writeConfig(t, "upstream: http://h/fhir\nissuers: [{issuer: https://idp.example}]\naudiences: [x]\ndpop:\n  enabled: true\n")
	_, err := parseFlags([]string{"-config", p}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p+":5:")
	c, err := parseFlags([]string{"-config", p, "-public-url", "HTTPS://GW.example:443/"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "https://gw.example", c.dpop.publicURL)
	var out strings.Builder
	c.describe(&out)
	assert.Contains(t, out.String(), "DPoP          proofs name https://gw.example")
}

// -dpop=false turns off the file's DPoP, settings and all: bound tokens
// are then refused, which is the safe side.
func TestDPoPFlagOverridesFile(t *testing.T) {
	p := writeConfig(t, goodConfig)
	c, err := parseFlags([]string{"-config", p, "-dpop=false"}, io.Discard)
	require.NoError(t, err)
	assert.Nil(t, c.dpop)
	c, err = parseFlags([]string{"-config", p}, io.Discard)
	require.NoError(t, err)
	require.NotNil(t, c.dpop)
	assert.Equal(t, "https://gw.example", c.dpop.publicURL)
}

// The job routes require the server nonce as the middleware does, and
// accept the one it hands out.
func TestGatewayExportJobDPoPNonce(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "nonce.key")
	require.NoError(t, os.WriteFile(secret, []byte(strings.Repeat("k", 32)), 0o600))
	b := &bulkUpstream{polls: map[string]int{}}
	g := startDPoPGateway(t, b.wrap, "-dpop-nonce-secret", secret)
	key := dpopKey(t)
	tok := g.boundToken(key, "system/*.rs", "")
	kickoff := g.url + "/Patient/$export"
	res, body := g.withProof(t, key, http.MethodGet, kickoff, tok)
	refusedDPoP(t, res, body, "use_dpop_nonce")
	nonce := res.Header.Get("DPoP-Nonce")
	res, body = sendDPoP(t, http.MethodGet, kickoff, tok, proof(t, key, http.MethodGet, g.public(kickoff), tok, nonce))
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	status := res.Header.Get("Content-Location")
	polls := b.count()
	res, body = g.withProof(t, key, http.MethodGet, status, tok)
	refusedDPoP(t, res, body, "use_dpop_nonce")
	assert.Equal(t, polls, b.count(), "the upstream is not asked")
	res, body = sendDPoP(t, http.MethodGet, status, tok, proof(t, key, http.MethodGet, g.public(status), tok, res.Header.Get("DPoP-Nonce")))
	assert.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
}

// With -forward-authorization, a DPoP token's Authorization header is
// not forwarded: without a proof, which is the gateway's and never
// forwarded, no upstream can verify it, and one that reads the scheme
// loosely would take the bound token as a bearer token. A bearer token
// is still forwarded, on the FHIR and the job routes alike.
func TestGatewayForwardsNoDPoPAuthorization(t *testing.T) {
	b := &bulkUpstream{polls: map[string]int{}}
	var seen seenUpstream
	g := startDPoPGateway(t, func(next http.Handler) http.Handler { return seen.wrap(b.wrap(next)) }, "-forward-authorization")
	key := dpopKey(t)
	tok := g.boundToken(key, "patient/*.rs", naivefhir.Alice)
	res, body := g.withProof(t, key, http.MethodGet, g.url+"/Observation", tok)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
	assert.Empty(t, seen.last(t).header.Get("Authorization"))
	assert.Empty(t, seen.last(t).header.Get("DPoP"))

	sys := g.boundToken(key, "system/*.rs", "")
	status := startExportDPoP(t, g, key, sys)
	assert.Empty(t, seen.last(t).header.Get("Authorization"), "kick-off")
	res, body = g.withProof(t, key, http.MethodGet, status, sys)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	assert.Empty(t, seen.last(t).header.Get("Authorization"), "job route")

	bearer := g.token("patient/*.rs", naivefhir.Alice)
	res, _ = g.do(t, http.MethodGet, "Observation", bearer, "", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Bearer "+bearer, seen.last(t).header.Get("Authorization"))
}
