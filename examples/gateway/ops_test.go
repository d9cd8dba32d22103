package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// fastRetry makes the background connection attempts quick for a test.
func fastRetry(t *testing.T) {
	saved := retry
	retry.first, retry.max = 20*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { retry = saved })
}

// root is the gateway's root URL (where /healthz and /readyz are).
func (g *gw) root(t *testing.T) string {
	u, err := url.Parse(g.url)
	require.NoError(t, err)
	return u.Scheme + "://" + u.Host
}

func (g *gw) getText(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := http.Get(g.root(t) + path)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// waitReady polls /readyz until it answers 200.
func (g *gw) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := g.getText(t, "/readyz")
		if status == http.StatusOK {
			return
		}
		require.True(t, time.Now().Before(deadline), "never ready: %s; logs: %s", body, g.stderr.String())
		time.Sleep(20 * time.Millisecond)
	}
}

// An issuer that cannot be discovered at start: the gateway starts all
// the same, is alive but not ready, answers FHIR requests 503 with
// Retry-After and an OperationOutcome, and serves once the issuer is back.
func TestGatewayStartsWithoutIssuer(t *testing.T) {
	fastRetry(t)
	g := startGatewayPrepared(t, func(iss *tokentest.Issuer) { iss.FailDiscovery(http.StatusInternalServerError) }, nil)
	status, body := g.getText(t, "/healthz")
	assert.Equal(t, 200, status, body)
	status, body = g.getText(t, "/readyz")
	assert.Equal(t, 503, status)
	assert.Contains(t, body, "discovering the issuer")

	tok := g.token("user/Patient.rs", "")
	res, out := g.do(t, http.MethodGet, "Patient/p1", tok, "", "")
	assert.Equal(t, 503, res.StatusCode)
	assert.Equal(t, "5", res.Header.Get("Retry-After"))
	assert.Equal(t, "application/fhir+json", res.Header.Get("Content-Type"))
	assert.Contains(t, string(out), `"transient"`)
	for _, r := range g.fhir.Requests() {
		assert.Equal(t, upstreamBase+"/metadata", r.URL, "only the version is read before the gateway is ready")
	}

	g.iss.FailDiscovery(0)
	g.waitReady(t)
	res, out = g.do(t, http.MethodGet, "Patient/p1", tok, "", "")
	assert.Equal(t, 200, res.StatusCode, "%s", out)
	assert.Contains(t, g.stderr.String(), "gateway: ready")
}

// The operational endpoints are outside the FHIR base and take no token;
// /readyz follows the upstream; /metrics counts decisions and the
// verifier's work in the Prometheus text format.
func TestGatewayHealthAndMetrics(t *testing.T) {
	var down atomic.Bool
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	g.waitReady(t)
	alice := g.token("patient/*.rs", naivefhir.Alice)
	g.do(t, http.MethodGet, "Observation/obs-p1-lab", alice, "", "")
	g.do(t, http.MethodGet, "Observation/obs-p2-lab", alice, "", "")
	g.do(t, http.MethodGet, "Observation", "", "", "")
	status, body := g.getText(t, "/metrics")
	require.Equal(t, 200, status)
	for _, want := range []string{
		`fhirwarden_decisions_total{interaction="read",outcome="allow",reason="",resource_type="Observation",status="200"} 1`,
		`fhirwarden_decisions_total{interaction="read",outcome="deny",reason="not-found",resource_type="Observation",status="404"} 1`,
		`fhirwarden_decisions_total{interaction="",outcome="deny",reason="invalid-token",resource_type="",status="401"} 1`,
		`fhirwarden_request_duration_seconds_count{interaction="read",outcome="allow"} 1`,
		"fhirwarden_jwks_keys 2", // tokentest publishes two keys
		"fhirwarden_tokens_verified_total ",
		"fhirwarden_token_cache_hits_total 1",
	} {
		assert.Contains(t, body, want)
	}
	assert.Regexp(t, `(?m)^fhirwarden_token_cache_entries 1$`, body)
	assert.Regexp(t, `(?m)^fhirwarden_token_cache_bytes [1-9][0-9]{2,}$`, body, "one token's estimated bytes")
	// Under the FHIR base, the same names are FHIR requests, not these.
	res, _ := g.do(t, http.MethodGet, "healthz", "", "", "")
	assert.Equal(t, 401, res.StatusCode)

	down.Store(true)
	require.Eventually(t, func() bool {
		status, body = g.getText(t, "/readyz")
		return status == 503
	}, 3*capabilityTTL, 50*time.Millisecond, "readiness follows the upstream within capabilityTTL")
	assert.Contains(t, body, "upstream")
	status, _ = g.getText(t, "/healthz")
	assert.Equal(t, 200, status, "alive all the same")
	down.Store(false)
	g.waitReady(t)
}

// readSeries returns the read-interaction series of the decision counter
// and the latency histogram on /metrics (served without a token), once
// the counter has counted n reads: a metric is observed after the
// response, which the client may have read by then.
func readSeries(t *testing.T, g *gw, n int) map[string]string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		status, body := g.getText(t, "/metrics")
		require.Equal(t, http.StatusOK, status)
		out, reads := map[string]string{}, 0
		for l := range strings.SplitSeq(body, "\n") {
			if !strings.Contains(l, `interaction="read"`) ||
				!strings.HasPrefix(l, "fhirwarden_decisions_total{") && !strings.HasPrefix(l, "fhirwarden_request_duration_seconds") {
				continue
			}
			k, v, _ := strings.Cut(l, "} ")
			out[k+"}"] = v
			if strings.HasPrefix(l, "fhirwarden_decisions_total{") {
				c, err := strconv.Atoi(v)
				require.NoError(t, err)
				reads += c
			}
		}
		if reads >= n || time.Now().After(deadline) {
			require.Equal(t, n, reads, "reads counted")
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Existence hiding holds on the unauthenticated /metrics too: probing a
// missing Observation and another patient's adds to the same series of
// the decision counter and of the latency histogram (the answers are the
// same 404), so a scrape cannot tell which ids exist.
func TestGatewayMetricsHideExistence(t *testing.T) {
	g := startGatewayWith(t, nil)
	tok := g.token("launch/patient patient/*.rs", naivefhir.Alice)

	res1, body1, err := fetchRaw(g.url+"/Observation/does-not-exist", tok)
	require.NoError(t, err)
	after1 := readSeries(t, g, 1)
	res2, body2, err := fetchRaw(g.url+"/Observation/obs-p2-lab", tok) // Bob's
	require.NoError(t, err)
	after2 := readSeries(t, g, 2)

	require.Equal(t, http.StatusNotFound, res1.StatusCode)
	require.Equal(t, res1.StatusCode, res2.StatusCode)
	require.Equal(t, string(body1), string(body2), "the client's answers are identical")
	keys := func(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
	assert.Equal(t, keys(after1), keys(after2), "no new series")
	counter := `fhirwarden_decisions_total{interaction="read",outcome="deny",reason="not-found",resource_type="Observation",status="404"}`
	assert.Equal(t, "1", after1[counter])
	assert.Equal(t, "2", after2[counter])
	count := `fhirwarden_request_duration_seconds_count{interaction="read",outcome="deny"}`
	assert.Equal(t, "1", after1[count])
	assert.Equal(t, "2", after2[count])
}

// Without -fhir-version the gateway reads the upstream's: in front of
// careconnect (STU3 by default) it must not assume R4.
func TestGatewayInFrontOfCareConnect(t *testing.T) {
	cc, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler)}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Shutdown(context.Background()) })

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-upstream", cc.BaseURL(), "-issuer", cc.URL(),
			"-audience", cc.BaseURL(), "-forward-authorization"}, pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, "gateway did not start: %v", err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	assert.Contains(t, line, "(FHIR STU3, issuer "+cc.URL()+")")

	var patientClient server.DemoClient
	for _, c := range cc.Clients() {
		if c.Patient != "" && c.SecretAuth && strings.Contains(c.Scope, "patient/") {
			patientClient = c
			break
		}
	}
	require.NotEmpty(t, patientClient.ID)
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, cc.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(patientClient.ID, patientClient.Secret)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&tr))
	res.Body.Close()
	require.NotEmpty(t, tr.AccessToken)

	gwBase := strings.Fields(line)[4]
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, gwBase+path, nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	status, body := get("/Patient/" + patientClient.Patient)
	assert.Equal(t, 200, status, "%s", body)
	status, body = get("/Observation")
	require.Equal(t, 200, status, "%s", body)
	assert.NotContains(t, string(body), `"Patient/2"`, "narrowed to the token's patient")
}

// A -fhir-version that contradicts the upstream's CapabilityStatement is
// an error at start.
func TestGatewayVersionMismatch(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	up := naivefhir.New(upstreamBase, naivefhir.Sample()...) // says 4.0.1
	srv := httptestServer(t, up)
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-upstream", srv + upstreamBase, "-issuer", iss.URL,
		"-audience", iss.Audience(), "-fhir-version", "STU3"}, io.Discard, io.Discard)
	require.ErrorIs(t, err, errVersionMismatch)
	assert.ErrorContains(t, err, `"4.0.1"`)
}

// The upstream's metadata, hostile: the version cannot be read from it,
// and without -fhir-version the gateway does not guess.
func TestCapabilityVersionHostile(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":           `<CapabilityStatement/>`,
		"wrong type":         `{"resourceType":"Patient","fhirVersion":"4.0.1"}`,
		"no version":         `{"resourceType":"CapabilityStatement"}`,
		"R4B":                `{"resourceType":"CapabilityStatement","fhirVersion":"4.3.0"}`,
		"R5":                 `{"resourceType":"CapabilityStatement","fhirVersion":"5.0.0"}`,
		"version not string": `{"resourceType":"CapabilityStatement","fhirVersion":4.0}`,
		"huge version":       `{"resourceType":"CapabilityStatement","fhirVersion":"` + strings.Repeat("4", 1<<16) + `"}`,
		"empty":              ``,
	} {
		_, _, err := capabilityVersion([]byte(body))
		assert.Error(t, err, name)
		if err != nil {
			assert.Less(t, len(err.Error()), 300, "%s: the error quotes a clipped value", name)
		}
	}
	v, raw, err := capabilityVersion([]byte(`{"resourceType":"CapabilityStatement","fhirVersion":"4.0.0"}`))
	require.NoError(t, err)
	assert.Equal(t, "R4", v.String())
	assert.Equal(t, "4.0.0", raw)
}

// Shutdown drains: a request in flight when the gateway is told to stop
// is answered.
func TestGatewayDrainsOnShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	iss := tokentest.NewIssuer()
	defer iss.Close()
	naive := naivefhir.New(upstreamBase, naivefhir.Sample()...)
	up := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Patient/p1") && once.CompareAndSwap(false, true) {
			close(started)
			<-release
		}
		naive.ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-upstream", up + upstreamBase, "-issuer", iss.URL, "-audience", iss.Audience()}, pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base := strings.Fields(line)[4]
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"/Patient/p1", nil)
		req.Header.Set("Authorization", "Bearer "+iss.Mint(map[string]any{"sub": "u", "scope": "user/Patient.rs"}))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		res.Body.Close()
		got <- res.StatusCode
	}()
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond) // shutdown has begun
	close(release)
	assert.Equal(t, 200, <-got, "the in-flight request is answered")
	assert.NoError(t, <-done)
}

func httptestServer(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// /readyz answers anyone, without a token: while the gateway is not
// ready it says which stage failed, not the error behind it, which names
// the upstream's internal address (and the issuer's network errors).
// The log keeps the details.
func TestReadyzDoesNotLeakInternalAddresses(t *testing.T) {
	fastRetry(t)
	var down atomic.Bool
	down.Store(true)
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() { // drop the connection: a network error
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	status, body := g.getText(t, "/readyz")
	assert.Equal(t, 503, status)
	assert.Contains(t, body, "upstream")
	u, err := url.Parse(g.up.URL)
	require.NoError(t, err)
	assert.NotContains(t, body, u.Host, "the upstream's address")
	assert.NotContains(t, body, upstreamBase, "the upstream's path")
	assert.Contains(t, g.stderr.String(), u.Host, "the log has the details")
	down.Store(false)
	g.waitReady(t)
}

// GET metadata and /readyz answer without a token; they share one read of
// the upstream's CapabilityStatement per capabilityTTL, so a flood of them
// is not a flood upstream.
func TestCapabilityReadsAreShared(t *testing.T) {
	var reads atomic.Int32
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/metadata") {
				reads.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	g.waitReady(t)
	before := reads.Load()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				res, _ := g.do(t, http.MethodGet, "metadata", "", "", "")
				assert.Equal(t, 200, res.StatusCode)
				return
			}
			status, _ := g.getText(t, "/readyz")
			assert.Equal(t, 200, status)
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, reads.Load()-before, int32(1), "one read per capabilityTTL at most")
}
