package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bulkUpstream plays a Bulk Data server in front of the naive one:
// $export answers 202 with a status URL, the first poll of a job 202
// with X-Progress, later polls 200 with a manifest whose files are on
// the upstream (one elsewhere, one a Binary as HAPI serves them), and
// the files are NDJSON.
type bulkUpstream struct {
	mu    sync.Mutex
	asked []string // the bulk requests that reached the upstream
	polls map[string]int
	jobs  int
}

// bulkFile is the content of every file: large enough to stream.
var bulkFile = strings.Repeat(`{"resourceType":"Patient","id":"p1"}`+"\n", 20000)

func (b *bulkUpstream) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host + upstreamBase
		switch {
		case strings.HasSuffix(r.URL.Path, "/$export"):
			id := b.note(r, true)
			w.Header().Set("Content-Location", base+"/$export-poll-status?_jobId="+id)
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == upstreamBase+"/$export-poll-status":
			b.note(r, false)
			b.poll(w, r, base)
		case strings.HasPrefix(r.URL.Path, upstreamBase+"/bulkfiles/"), strings.HasPrefix(r.URL.Path, upstreamBase+"/Binary/export-"):
			b.note(r, false)
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			_, _ = io.WriteString(w, bulkFile)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// note records r and, for a kick-off, returns a new job id.
func (b *bulkUpstream) note(r *http.Request, kickoff bool) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asked = append(b.asked, r.Method+" "+r.URL.RequestURI())
	if !kickoff {
		return ""
	}
	b.jobs++
	return fmt.Sprintf("j%d", b.jobs)
}

func (b *bulkUpstream) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.asked)
}

func (b *bulkUpstream) poll(w http.ResponseWriter, r *http.Request, base string) {
	id := r.URL.Query().Get("_jobId")
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	b.mu.Lock()
	b.polls[id]++
	n := b.polls[id]
	b.mu.Unlock()
	if n == 1 {
		w.Header().Set("X-Progress", "50% done")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"transactionTime":"2026-01-01T00:00:00Z","request":%q,"requiresAccessToken":true,
"output":[{"type":"Patient","url":%q},{"type":"Observation","url":"https://storage.example/%s-Observation.ndjson"},{"type":"Patient","url":%q}],
"error":[{"type":"OperationOutcome","url":%q}],"deleted":[]}`,
		base+"/Patient/$export", base+"/bulkfiles/"+id+"-Patient.ndjson", id, base+"/Binary/export-"+id, base+"/bulkfiles/"+id+"-errors.ndjson")
}

func startBulkGateway(t *testing.T) (*gw, *bulkUpstream) {
	t.Helper()
	b := &bulkUpstream{polls: map[string]int{}}
	return startGatewayWith(t, b.wrap), b
}

// send is a request to an absolute URL with a bearer token (none when
// tok is ""); Prefer: respond-async rides along.
func send(t *testing.T, method, u, tok string) (*http.Response, []byte) {
	t.Helper()
	if tok != "" {
		tok = "Bearer " + tok
	}
	return sendHeader(t, method, u, tok)
}

// sendHeader is send with the Authorization header as given.
func sendHeader(t *testing.T, method, u, authorization string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	req.Header.Set("Prefer", "respond-async")
	req.Header.Set("Accept", "application/fhir+json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// startExport starts an export as tok and returns the status URL.
func startExport(t *testing.T, g *gw, tok string) string {
	t.Helper()
	res, body := send(t, http.MethodGet, g.url+"/Patient/$export", tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	status := res.Header.Get("Content-Location")
	require.True(t, strings.HasPrefix(status, g.url+"/$export-poll-status?_jobId="), status)
	return status
}

// manifestOf polls status as tok until the manifest arrives.
func manifestOf(t *testing.T, status, tok string) (manifest map[string][]map[string]string, raw []byte) {
	t.Helper()
	for range 3 {
		res, body := send(t, http.MethodGet, status, tok)
		if res.StatusCode == http.StatusAccepted {
			continue
		}
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m))
		manifest = map[string][]map[string]string{}
		for _, k := range []string{"output", "error", "deleted"} {
			list, _ := m[k].([]any)
			for _, e := range list {
				f := map[string]string{}
				for n, v := range e.(map[string]any) {
					f[n], _ = v.(string)
				}
				manifest[k] = append(manifest[k], f)
			}
		}
		return manifest, body
	}
	t.Fatal("no manifest")
	return nil, nil
}

// same asserts that u answers as unknown: exactly what the URL like
// shows, and the upstream is not asked.
func same(t *testing.T, g *gw, b *bulkUpstream, method, u, like, tok string) {
	t.Helper()
	before := b.count()
	res, body := send(t, method, u, tok)
	want, wantBody := send(t, method, like, tok)
	assert.Equal(t, want.StatusCode, res.StatusCode, "%s %s: %s", method, u, body)
	assert.Equal(t, string(wantBody), string(body), "%s %s", method, u)
	assert.GreaterOrEqual(t, res.StatusCode, 400, "%s %s", method, u)
	assert.Equal(t, before, b.count(), "the upstream is not asked: %s %s", method, u)
}

// exportedBinary starts an export of every type as an owner with
// system/*.rs and returns the gateway, the upstream, the owner's token,
// the job's status URL and its file that is a Binary (HAPI's shape).
func exportedBinary(t *testing.T) (g *gw, b *bulkUpstream, tok, status, binary string) {
	t.Helper()
	g, b = startBulkGateway(t)
	tok = g.token("system/*.rs", "")
	status = startExport(t, g, tok)
	m, _ := manifestOf(t, status, tok)
	binary = m["output"][2]["url"]
	require.Equal(t, g.url+"/Binary/export-j1", binary)
	return g, b, tok, status, binary
}

// withheld asserts that u, a file of another client's job, answers 404
// as a missing resource and the upstream is not asked.
func withheld(t *testing.T, b *bulkUpstream, u, tok string) {
	t.Helper()
	before := b.count()
	res, body := send(t, http.MethodGet, u, tok)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s: %s", u, body)
	assert.Contains(t, string(body), `"code":"not-found"`, u)
	assert.Equal(t, before, b.count(), "the upstream is not asked: %s", u)
}

// A file the upstream serves as a Binary (as HAPI does) is an ordinary
// FHIR read too, which the policy grants any token that may read Binary,
// whatever types the file holds: as a job's file it is the starter's
// alone, and another client that may read Binary gets 404. Once the job
// is forgotten, the URL is an ordinary read again.
func TestGatewayAttackExportBinaryFile(t *testing.T) {
	g, b, tok, status, binary := exportedBinary(t)

	reader := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-reader", "scope": "system/Binary.r"})
	withheld(t, b, binary, reader)
	res, body := send(t, http.MethodGet, binary, tok)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, bulkFile, string(body))

	res, _ = send(t, http.MethodDelete, status, tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	res, _ = send(t, http.MethodGet, binary, reader)
	assert.Equal(t, http.StatusOK, res.StatusCode, "an ordinary Binary read once the job is gone")
}

// The client that started an export polls it (202 with X-Progress, then
// the manifest with the gateway's URLs), downloads a file and cancels
// the job; then its URLs are unknown.
func TestGatewayExportJobOwner(t *testing.T) {
	g, b := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)

	res, body := send(t, http.MethodGet, status, tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	assert.Equal(t, "50% done", res.Header.Get("X-Progress"))

	m, raw := manifestOf(t, status, tok)
	assert.NotContains(t, string(raw), g.up.URL)
	file := g.url + "/bulkfiles/j1-Patient.ndjson"
	assert.Equal(t, file, m["output"][0]["url"])
	assert.Equal(t, "https://storage.example/j1-Observation.ndjson", m["output"][1]["url"], "files elsewhere keep their URL")
	assert.Equal(t, g.url+"/bulkfiles/j1-errors.ndjson", m["error"][0]["url"])

	res, body = send(t, http.MethodGet, file, tok)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/fhir+ndjson", res.Header.Get("Content-Type"))
	assert.Equal(t, bulkFile, string(body))
	assert.Contains(t, g.stderr.String(), "path=/fhir/bulkfiles/j1-Patient.ndjson")
	res, body = send(t, http.MethodGet, strings.TrimSuffix(g.url, "/fhir")+"/metrics", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), `interaction="operation"`)

	res, _ = send(t, http.MethodDelete, status, tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	same(t, g, b, http.MethodGet, status, g.url+"/$export-poll-status?_jobId=nope", tok)
	same(t, g, b, http.MethodGet, file, g.url+"/bulkfiles/nope.ndjson", tok)
}

// Nobody but the client (and subject) that started a job reaches it: its
// status URL and files answer as unknown URLs do, a file that is a
// Binary as a missing resource, and the upstream is not asked.
func TestGatewayAttackExportJobStrangers(t *testing.T) {
	g, b := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)
	m, _ := manifestOf(t, status, tok)
	file := m["output"][0]["url"]
	unknownStatus := g.url + "/$export-poll-status?_jobId=nope"
	unknownFile := g.url + "/bulkfiles/nope.ndjson"

	strangers := map[string]string{
		"another client":  g.iss.Mint(map[string]any{"sub": "u1", "client_id": "other", "scope": "system/*.rs"}),
		"another subject": g.iss.Mint(map[string]any{"sub": "u2", "client_id": "app", "scope": "system/*.rs"}),
		"no client":       g.iss.Mint(map[string]any{"sub": "u1", "scope": "system/*.rs"}),
	}
	for name, other := range strangers {
		t.Run(name, func(t *testing.T) {
			same(t, g, b, http.MethodGet, status, unknownStatus, other)
			same(t, g, b, http.MethodDelete, status, unknownStatus, other)
			same(t, g, b, http.MethodGet, file, unknownFile, other)
			withheld(t, b, m["output"][2]["url"], other)
		})
	}
	t.Run("no token or a bad one", func(t *testing.T) {
		for _, bad := range []string{"", "not-a-token", tok + "x"} {
			before := b.count()
			res, _ := send(t, http.MethodGet, status, bad)
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
			res, _ = send(t, http.MethodGet, file, bad)
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
			assert.Equal(t, before, b.count())
		}
	})
	t.Run("not the job's URLs", func(t *testing.T) {
		same(t, g, b, http.MethodGet, status+"&_outputFormat=x", unknownStatus, tok)
		upper := func(u string) string { return strings.Replace(u, "$export-poll-status", "$Export-Poll-Status", 1) }
		same(t, g, b, http.MethodGet, upper(status), upper(unknownStatus), tok)
		same(t, g, b, http.MethodGet, g.url+"/bulkfiles/j1-Observation.ndjson", unknownFile, tok)
		same(t, g, b, http.MethodGet, strings.Replace(file, "j1-", "J1-", 1), unknownFile, tok)
		same(t, g, b, http.MethodPost, status, unknownStatus, tok)
		same(t, g, b, http.MethodDelete, file, unknownFile, tok)
	})
	// The owner still has its job.
	res, _ := send(t, http.MethodGet, file, tok)
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// An expired job is forgotten: its URLs answer as unknown.
func TestGatewayAttackExportJobExpired(t *testing.T) {
	setJobLimits(t, jobLimits{ttl: 300 * time.Millisecond, max: 1000, perOwner: 10, files: 100})
	g, b := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)
	time.Sleep(400 * time.Millisecond)
	same(t, g, b, http.MethodGet, status, g.url+"/$export-poll-status?_jobId=nope", tok)
}

// A client may hold only so many jobs: the next kick-off is refused
// with 429 before it reaches the upstream. Others may still start one;
// a cancelled job makes room.
func TestGatewayAttackExportJobBound(t *testing.T) {
	g, b := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	var first string
	for i := range 10 {
		s := startExport(t, g, tok)
		if i == 0 {
			first = s
		}
	}
	before := b.count()
	res, body := send(t, http.MethodGet, g.url+"/Patient/$export", tok)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "body: %s", body)
	assert.Equal(t, "60", res.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "OperationOutcome")
	assert.Equal(t, before, b.count(), "the upstream is not asked")

	startExport(t, g, g.iss.Mint(map[string]any{"sub": "u9", "client_id": "other", "scope": "system/*.rs"}))
	res, _ = send(t, http.MethodDelete, first, tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	startExport(t, g, tok)
}

// Ordinary requests pass as before while jobs are recorded, and telling
// them from job URLs allocates nothing.
func TestGatewayExportJobsLeaveOthersAlone(t *testing.T) {
	g, _ := startBulkGateway(t)
	startExport(t, g, g.token("system/*.rs", ""))
	res, body := send(t, http.MethodGet, g.url+"/Patient/p1", g.token("user/Patient.rs", ""))
	assert.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)

	s := newJobStore(defaultJobLimits)
	id := identity{issuer: "i", client: "c", subject: "s"}
	require.True(t, s.reserve(id))
	s.record(id, jobKey{path: "/fhir/$export-poll-status", query: "_jobId=1"}, nil)
	u, err := url.Parse("http://gw/fhir/Observation?patient=p1")
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.lookup(u) }))
}

func setJobLimits(t *testing.T, l jobLimits) {
	jobLimitsMu.Lock()
	old := defaultJobLimits
	defaultJobLimits = l
	jobLimitsMu.Unlock()
	t.Cleanup(func() {
		jobLimitsMu.Lock()
		defaultJobLimits = old
		jobLimitsMu.Unlock()
	})
}

// An upstream that names an ordinary FHIR URL as a job's status URL or
// file does not open it to the job's owner: only operations (status)
// and Binary reads (files), or URLs that are no FHIR interaction, are
// recorded; the rest go through the policy as always. Here the owner may
// export Observations only, and the upstream names its Patient search.
func TestGatewayAttackExportJobNamesFHIRURLs(t *testing.T) {
	notAJobURL(t, "/Patient?_count=1000", false)
	notAJobURL(t, "/Patient/p1", true)
}

// startObservationExport starts a system export of Observations as tok
// and returns the status URL.
func startObservationExport(t *testing.T, g *gw, tok string) string {
	t.Helper()
	res, body := send(t, http.MethodGet, g.url+"/$export?_type=Observation", tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	return res.Header.Get("Content-Location")
}

// A job is its starter's by identity, but each poll and download is held
// to the kick-off again: a later token of the same client and subject
// whose scopes no longer grant the export (a consent withdrawn) gets 403
// and the upstream is not asked; the starter's full token still works.
func TestGatewayAttackExportJobScopesNarrowed(t *testing.T) {
	g, b := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)
	m, _ := manifestOf(t, status, tok)
	file := m["output"][0]["url"]

	narrowed := g.token("system/Observation.rs", "")
	for _, u := range []string{status, file} {
		before := b.count()
		res, body := send(t, http.MethodGet, u, narrowed)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s: %s", u, body)
		assert.Contains(t, string(body), "$export", "the reason says what is no longer granted: %s", body)
		assert.Equal(t, before, b.count(), "the upstream is not asked: %s", u)
	}
	res, _ := send(t, http.MethodDelete, status, narrowed)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	res, body := send(t, http.MethodGet, file, tok)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	assert.Equal(t, bulkFile, string(body))
}
