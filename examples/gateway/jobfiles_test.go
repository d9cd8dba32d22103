package main

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A job's Binary file is withheld from other clients under every URL
// of that Binary, not only the one the manifest names: another query,
// HEAD or its history would otherwise hand the file (or its size) to
// any token that may read Binary, and DELETE take it from its owner.
// Once the job is forgotten they are ordinary requests again.
func TestGatewayAttackExportBinaryFileOtherURLs(t *testing.T) {
	g, b, tok, status, binary := exportedBinary(t)

	reader := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-reader", "scope": "system/Binary.rs"})
	for _, u := range []string{
		binary + "?_pretty=true",
		binary + "?_format=json",
		binary + "/_history/1",
		binary + "/_history",
	} {
		withheld(t, b, u, reader)
	}
	writer := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-writer", "scope": "system/Binary.cruds"})
	for _, m := range []string{http.MethodHead, http.MethodDelete} {
		before := b.count()
		res, _ := send(t, m, binary, writer)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, m)
		assert.Equal(t, before, b.count(), "the upstream is not asked: %s", m)
	}
	res, _ := send(t, http.MethodGet, binary+"?_pretty=true", tok)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the owner, through the policy")

	res, _ = send(t, http.MethodDelete, status, tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	res, _ = send(t, http.MethodGet, binary+"?_pretty=true", reader)
	assert.Equal(t, http.StatusOK, res.StatusCode, "an ordinary Binary read once the job is gone")
}

// An upstream that names an ordinary FHIR URL in another spelling
// (percent-encoded, with a trailing slash, a ";" parameter, an empty or
// dot segment, or more query parameters than the policy reads) as a
// job's status URL or file does not open it to the job's owner: the
// gateway sends the upstream the decoded path, and servers read the
// rest as the FHIR URL too (servlet containers drop ";" parameters and
// resolve dot segments). Here the owner may export Observations only.
func TestGatewayAttackExportJobNamesFHIRURLsSpelledOtherwise(t *testing.T) {
	many := "/Patient?_count=1000"
	for i := range 100 {
		many += fmt.Sprintf("&x%d=", i)
	}
	for _, named := range []string{
		"/P%61tient", "/Patient/", "/Patient;x", "/x/../Patient", "//Patient", many,
		"/P%61tient/p1", "/Patient/p1%2F", "/Patient/p1/", "/Patient/p1;x", "/Patient//p1", "/Binary/b/../../Patient/p1",
	} {
		t.Run(named, func(t *testing.T) { notAJobURL(t, named, strings.Contains(named, "p1")) })
	}
}

// notAJobURL starts a gateway (with args) in front of an upstream that
// names named as a job's status URL, or as its one file, and asserts
// that the job's owner, who may export Observations only, does not reach
// it past the policy: it gets an error, and the upstream is not asked.
func notAJobURL(t *testing.T, named string, file bool, args ...string) {
	t.Helper()
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return namingUpstream(next, named, file)
	}, args...)
	tok := g.token("system/Observation.rs", "")
	status := startObservationExport(t, g, tok)
	if file {
		m, _ := manifestOf(t, status, tok)
		require.Equal(t, g.url+named, m["output"][0]["url"])
	} else {
		require.Equal(t, g.url+named, status)
	}
	before := len(g.fhir.Requests())
	res, body := send(t, http.MethodGet, g.url+named, tok)
	assert.GreaterOrEqual(t, res.StatusCode, 400, "not the job's: the policy decides: %s", body)
	assert.Equal(t, before, len(g.fhir.Requests()), "the upstream is not asked")
}

// namingUpstream names named as a job's status URL (file false) or its
// one file, and serves everything else as a servlet container would:
// ";" parameters dropped, dot and empty segments resolved.
func namingUpstream(next http.Handler, named string, file bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host + upstreamBase
		switch {
		case strings.HasSuffix(r.URL.Path, "/$export"):
			status := base + "/$export-poll-status?_jobId=j1"
			if !file {
				status = base + named
			}
			w.Header().Set("Content-Location", status)
			w.WriteHeader(http.StatusAccepted)
		case file && r.URL.Path == upstreamBase+"/$export-poll-status":
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"transactionTime":"2026-01-01T00:00:00Z","request":"x","requiresAccessToken":true,"output":[{"type":"Observation","url":%q}],"error":[]}`,
				base+named)
		default:
			segs := strings.Split(r.URL.Path, "/")
			for i, seg := range segs {
				segs[i], _, _ = strings.Cut(seg, ";")
			}
			r.URL.Path = path.Clean(strings.Join(segs, "/"))
			r.URL.RawPath = ""
			next.ServeHTTP(w, r)
		}
	})
}

// The token counters on /metrics, which anyone who reaches the gateway
// may read, move for another client's request on a job's status URL
// exactly as for one on an unknown URL: they do not tell that a job
// exists.
func TestGatewayAttackExportJobTokenCounters(t *testing.T) {
	g, _ := startBulkGateway(t)
	status := startExport(t, g, g.token("system/*.rs", ""))
	unknown := g.url + "/$export-poll-status?_jobId=nope"
	metrics := strings.TrimSuffix(g.url, "/fhir") + "/metrics"
	counters := func() map[string]float64 {
		_, body := send(t, http.MethodGet, metrics, "")
		m := map[string]float64{}
		for _, line := range strings.Split(string(body), "\n") {
			name, value, _ := strings.Cut(line, " ")
			if strings.HasPrefix(name, "fhirwarden_token") && strings.HasSuffix(name, "_total") {
				m[name], _ = strconv.ParseFloat(value, 64)
			}
		}
		return m
	}
	delta := func(u, tok string) map[string]float64 {
		before := counters()
		send(t, http.MethodGet, u, tok)
		d := counters()
		for name := range d {
			d[name] -= before[name]
		}
		return d
	}
	// Each request with a token not seen before: the cache counts alike.
	other := func(sub string) string {
		return g.iss.Mint(map[string]any{"sub": sub, "client_id": "other", "scope": "system/*.rs"})
	}
	assert.Equal(t, delta(unknown, other("u1")), delta(status, other("u2")), "another client")
	assert.Equal(t, delta(unknown, "not-a-token-1"), delta(status, "not-a-token-2"), "a bad token")
	assert.Equal(t, delta(unknown, "not!a!token!1"), delta(status, "not!a!token!2"), "not a b64token")
	assert.Equal(t, delta(unknown, other("u3")+"x"), delta(status, other("u4")+"x"), "a bad signature")
}

// An upstream that answers a kick-off with the status URL of a job it
// runs already (HAPI reuses the job of an identical export request) does
// not hand that job to the second client, nor take it from the first.
func TestGatewayAttackExportJobReusedStatusURL(t *testing.T) {
	b := &bulkUpstream{polls: map[string]int{}}
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		inner := b.wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/$export") {
				w.Header().Set("Content-Location", "http://"+r.Host+upstreamBase+"/$export-poll-status?_jobId=j1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			inner.ServeHTTP(w, r)
		})
	})
	first := g.token("system/*.rs", "")
	status := startExport(t, g, first)
	m, _ := manifestOf(t, status, first)
	file := m["output"][0]["url"]

	second := g.iss.Mint(map[string]any{"sub": "u2", "client_id": "other", "scope": "system/*.rs"})
	require.Equal(t, status, startExport(t, g, second))
	same(t, g, b, http.MethodGet, status, g.url+"/$export-poll-status?_jobId=nope", second)
	same(t, g, b, http.MethodGet, file, g.url+"/bulkfiles/nope.ndjson", second)

	res, _ := send(t, http.MethodGet, status, first)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the first client's job still")
	res, _ = send(t, http.MethodGet, file, first)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the first client's file still")
}

// Firely Server's shapes are a job's: its status URL is an operation,
// its files an operation with a trailing "/" and a query.
func TestGatewayExportJobFirelyShapes(t *testing.T) {
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			base := "http://" + r.Host + upstreamBase
			switch r.URL.Path {
			case upstreamBase + "/$export":
				w.Header().Set("Content-Location", base+"/$exportstatus?_id=j1")
				w.WriteHeader(http.StatusAccepted)
			case upstreamBase + "/$exportstatus":
				w.Header().Set("Content-Type", "application/json")
				_, _ = fmt.Fprintf(w, `{"transactionTime":"2026-01-01T00:00:00Z","request":"x","requiresAccessToken":true,"output":[{"type":"Patient","url":%q}],"error":[]}`,
					base+"/$exportfilerequest/?_id=j1&filename=Patient.ndjson")
			case upstreamBase + "/$exportfilerequest/":
				w.Header().Set("Content-Type", "application/fhir+ndjson")
				_, _ = io.WriteString(w, bulkFile)
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
	tok := g.token("system/*.rs", "")
	res, body := send(t, http.MethodGet, g.url+"/$export", tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
	status := res.Header.Get("Content-Location")
	m, _ := manifestOf(t, status, tok)
	file := m["output"][0]["url"]
	require.Equal(t, g.url+"/$exportfilerequest/?_id=j1&filename=Patient.ndjson", file)
	res, body = send(t, http.MethodGet, file, tok)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, bulkFile, string(body))
	other := g.iss.Mint(map[string]any{"sub": "u2", "client_id": "other", "scope": "system/*.rs"})
	res, body = send(t, http.MethodGet, file, other)
	guess, guessBody := send(t, http.MethodGet, strings.Replace(file, "j1", "j2", 1), other)
	assert.Equal(t, guess.StatusCode, res.StatusCode, "another client, as for a guessed file")
	assert.Equal(t, string(guessBody), string(body))
	assert.GreaterOrEqual(t, res.StatusCode, 400)
}

// A job's Binary file is withheld whatever form the Authorization
// header takes that the middleware accepts: "Bearer" followed by more
// than one space went past the guard, which read one space only, to the
// policy, which let a token with Binary read have the file. And a
// stranger the policy refuses Binary gets the refusal any Binary gets,
// not a 404 that would tell a job's file from other Binaries.
func TestGatewayAttackExportBinaryFileHeaderForms(t *testing.T) {
	g, b, tok, _, binary := exportedBinary(t)

	reader := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-reader", "scope": "system/Binary.r"})
	for _, h := range []string{"Bearer  " + reader, "Bearer    " + reader, "bEaReR  " + reader} {
		before := b.count()
		res, body := sendHeader(t, http.MethodGet, binary, h)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "%q: %s", h[:10], body)
		assert.Contains(t, string(body), `"code":"not-found"`)
		assert.Equal(t, before, b.count(), "the upstream is not asked")
	}
	res, body := sendHeader(t, http.MethodGet, binary+"?_pretty=true", "Bearer  "+tok)
	assert.Equal(t, http.StatusOK, res.StatusCode, "the owner, through the policy: %s", body)

	obs := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "observer", "scope": "system/Observation.rs"})
	same(t, g, b, http.MethodGet, binary, g.url+"/Binary/not-a-job-file", obs)
}

// A job's status and files are the owner's alone, reached past the
// middleware: whatever caching the upstream allows, no cache in front
// of the gateway may keep them for the next caller of their URLs.
func TestGatewayExportJobAnswersNotCached(t *testing.T) {
	b := &bulkUpstream{polls: map[string]int{}}
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		inner := b.wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=600")
			w.Header().Set("CDN-Cache-Control", "max-age=600")
			w.Header().Set("Surrogate-Control", "max-age=600")
			inner.ServeHTTP(w, r)
		})
	})
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)
	m, _ := manifestOf(t, status, tok)
	for _, u := range []string{status, m["output"][0]["url"], m["output"][2]["url"]} {
		res, body := send(t, http.MethodGet, u, tok)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", u, body)
		assert.NotContains(t, strings.ToLower(res.Header.Get("Cache-Control")), "public", u)
		assert.Empty(t, res.Header.Get("CDN-Cache-Control"), u)
		assert.Empty(t, res.Header.Get("Surrogate-Control"), u)
	}
}

// A job's Binary file is also found by requests that name no Binary
// path: a Binary search (GET or POST _search), Binary or system
// history, a system search that may return Binaries, a conditional
// write on Binary, and a batch entry. Another client that may read (or
// write) Binary would get the file's content, or delete it, through
// them: while a job's file is a Binary they are refused and the
// upstream is not asked. Once the job is forgotten they pass again.
func TestGatewayAttackExportBinaryFileFoundOtherwise(t *testing.T) {
	g, _ := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)
	manifestOf(t, status, tok)

	stranger := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-user", "scope": "system/*.cruds"})
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Binary/export-j1"}}]}`
	type attempt struct{ method, path, contentType, body string }
	attempts := []attempt{
		{http.MethodGet, "Binary?_id=export-j1", "", ""},
		{http.MethodPost, "Binary/_search", "application/x-www-form-urlencoded", "_id=export-j1"},
		{http.MethodGet, "Binary/_history", "", ""},
		{http.MethodGet, "_history", "", ""},
		{http.MethodGet, "?_type=Binary&_id=export-j1", "", ""},
		{http.MethodGet, "?_id=export-j1", "", ""},
		{http.MethodDelete, "Binary?_id=export-j1", "", ""},
		{http.MethodGet, "Observation?_include=*", "", ""},
		{http.MethodPost, "", "application/fhir+json", batch},
	}
	for _, a := range attempts {
		// The token also as the middleware takes it after "Bearer" and
		// more than one space.
		for _, spelled := range []string{stranger, "  " + stranger} {
			before := len(g.fhir.Requests())
			res, body := g.do(t, a.method, a.path, spelled, a.contentType, a.body)
			assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s: %s", a.method, a.path, body)
			assert.Equal(t, before, len(g.fhir.Requests()), "the upstream is not asked: %s %s", a.method, a.path)
		}
	}
	res, body := g.do(t, http.MethodGet, "Observation?patient=p1", stranger, "", "")
	assert.Equal(t, http.StatusOK, res.StatusCode, "other requests pass: %s", body)
	res, body = g.do(t, http.MethodPost, "Binary", stranger, "application/fhir+json", `{"resourceType":"Binary","contentType":"text/plain"}`)
	assert.Equal(t, http.StatusCreated, res.StatusCode, "a new Binary may be created: %s", body)

	res, _ = send(t, http.MethodDelete, status, tok)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	for _, a := range attempts[:1] {
		res, body := g.do(t, a.method, a.path, stranger, a.contentType, a.body)
		assert.Equal(t, http.StatusOK, res.StatusCode, "once the job is gone: %s %s: %s", a.method, a.path, body)
	}
}

// Another client's request for a job's file is answered as one for a
// URL no job recorded: the same status, body and headers (its own
// X-Request-Id sent back), and the same decision counters on /metrics,
// which anyone may read. A 404 from the gateway itself, where a guessed
// URL gets the policy's refusal, told any client with a token which
// guessed URLs (HAPI's Binary ids are sequential) are live export files.
func TestGatewayAttackExportJobFileExistence(t *testing.T) {
	g, b := startBulkGateway(t)
	tok := g.token("system/*.rs", "")
	status := startExport(t, g, tok)
	m, _ := manifestOf(t, status, tok)
	metrics := strings.TrimSuffix(g.url, "/fhir") + "/metrics"
	decisions := func() map[string]float64 {
		_, body := send(t, http.MethodGet, metrics, "")
		m := map[string]float64{}
		for _, line := range strings.Split(string(body), "\n") {
			if name, value, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, "fhirwarden_decisions_total") {
				m[name], _ = strconv.ParseFloat(value, 64)
			}
		}
		return m
	}
	// answer is what a request shows: status, body, headers and the
	// decision counters it moved.
	answer := func(method, u, tok string) (int, string, []string, map[string]float64) {
		before := decisions()
		req, err := http.NewRequest(method, u, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Request-Id", "probe-1")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		var names []string
		for name := range res.Header {
			if name != "Date" {
				names = append(names, name+": "+strings.Join(res.Header[name], ","))
			}
		}
		slices.Sort(names)
		moved := decisions()
		for name, v := range moved {
			if moved[name] = v - before[name]; moved[name] == 0 {
				delete(moved, name)
			}
		}
		return res.StatusCode, string(body), names, moved
	}
	other := g.iss.Mint(map[string]any{"sub": "u2", "client_id": "other", "scope": "system/Observation.rs"})
	for _, c := range []struct {
		file, unknown string
		methods       []string
	}{
		{m["output"][0]["url"], g.url + "/bulkfiles/nope.ndjson", []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete}},
		{m["output"][2]["url"], g.url + "/Binary/nope", []string{http.MethodGet, http.MethodHead, http.MethodDelete}},
		{status, g.url + "/$export-poll-status?_jobId=nope", []string{http.MethodGet, http.MethodDelete}},
	} {
		file, unknown := c.file, c.unknown
		for _, method := range c.methods {
			before := b.count()
			s1, b1, h1, d1 := answer(method, unknown, other)
			s2, b2, h2, d2 := answer(method, file, other)
			assert.Equal(t, s1, s2, "%s %s", method, file)
			assert.Equal(t, b1, b2, "%s %s", method, file)
			assert.Equal(t, h1, h2, "%s %s", method, file)
			assert.Equal(t, d1, d2, "the decision counters move alike: %s %s", method, file)
			assert.Equal(t, before, b.count(), "the upstream is not asked: %s %s", method, file)
		}
	}
}

// An upstream that names an operation the policy decides ($export,
// $everything, or one the configuration registers) as a job's status
// URL or file does not open it to the job's owner, at any level and in
// any case of its name (Policy.KnowsOperation): only operations the
// policy knows nothing of (HAPI's $export-poll-status, Firely's
// $exportstatus) may be a job's. Here the owner may export Observations
// only.
func TestGatewayAttackExportJobNamesKnownOperations(t *testing.T) {
	cfg := writeConfig(t, "operations:\n  - {name: stats, levels: [type], types: [Patient], permission: r}\n")
	for _, named := range []string{"/Patient/$everything", "/$export", "/Patient/$stats", "/Patient/p1/$everything", "/Patient/$Everything", "/Patient/$STATS",
		"/$stats", "/$STATS", "/$EXPORT", "/$Stats?p1", "/$everything", "/$everything?p1", "/$Everything", "/$eVerything?p1"} {
		t.Run(named, func(t *testing.T) { notAJobURL(t, named, strings.Contains(named, "p1"), "-config", cfg) })
	}
}

// HAPI answers a kick-off identical to one it runs already with that
// job, unless the kick-off says Cache-Control: no-cache. The job stays
// its starter's, so a second client that asked the same export got a
// status URL it may not poll: its export refused, and a sign that
// another client runs the same export. Every kick-off now asks the
// upstream for a job of its own.
func TestGatewayAttackExportJobReuseAvoided(t *testing.T) {
	b := &bulkUpstream{polls: map[string]int{}}
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		inner := b.wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/$export") && b.count() > 0 && !strings.Contains(r.Header.Get("Cache-Control"), "no-cache") {
				w.Header().Set("Content-Location", "http://"+r.Host+upstreamBase+"/$export-poll-status?_jobId=j1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			inner.ServeHTTP(w, r)
		})
	})
	first := g.token("system/*.rs", "")
	startExport(t, g, first)
	second := g.iss.Mint(map[string]any{"sub": "u2", "client_id": "other", "scope": "system/*.rs"})
	status := startExport(t, g, second)
	res, body := send(t, http.MethodGet, status, second)
	assert.Equal(t, http.StatusAccepted, res.StatusCode, "the second client polls its own job: %s", body)
}

// HAPI gives export files numeric ids and reads an id of digits alone
// by its number: Binary/0123 is its Binary/123. A job's file that is
// such a Binary is withheld from other clients under every spelling of
// its number, in the path and in a batch entry.
func TestGatewayAttackExportBinaryFileNumericID(t *testing.T) {
	var asked []string
	var mu sync.Mutex
	g := startGatewayWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			base := "http://" + r.Host + upstreamBase
			switch {
			case strings.HasSuffix(r.URL.Path, "/$export"):
				w.Header().Set("Content-Location", base+"/$export-poll-status?_jobId=j1")
				w.WriteHeader(http.StatusAccepted)
			case r.URL.Path == upstreamBase+"/$export-poll-status":
				w.Header().Set("Content-Type", "application/json")
				_, _ = fmt.Fprintf(w, `{"transactionTime":"2026-01-01T00:00:00Z","request":"x","requiresAccessToken":true,"output":[{"type":"Patient","url":%q}],"error":[]}`,
					base+"/Binary/123")
			case strings.HasPrefix(r.URL.Path, upstreamBase+"/Binary/"):
				mu.Lock()
				asked = append(asked, r.URL.Path)
				mu.Unlock()
				id := strings.Split(strings.TrimPrefix(r.URL.Path, upstreamBase+"/Binary/"), "/")[0]
				if n, err := strconv.Atoi(id); err == nil && n == 123 {
					w.Header().Set("Content-Type", "application/fhir+ndjson")
					_, _ = io.WriteString(w, bulkFile)
					return
				}
				next.ServeHTTP(w, r)
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
	tok := g.token("system/*.rs", "")
	status := startObservationExport(t, g, tok)
	m, _ := manifestOf(t, status, tok)
	require.Equal(t, g.url+"/Binary/123", m["output"][0]["url"])

	reader := g.iss.Mint(map[string]any{"sub": "svc", "client_id": "binary-reader", "scope": "system/Binary.rs"})
	for _, p := range []string{"Binary/123", "Binary/0123", "Binary/000123", "Binary/0123/_history/1", "Binary/0123?_pretty=true"} {
		res, body := g.do(t, http.MethodGet, p, reader, "", "")
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s: %.200s", p, body)
	}
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Binary/0123"}}]}`
	res, body := g.do(t, http.MethodPost, "", reader, "application/fhir+json", batch)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "%.200s", body)
	mu.Lock()
	assert.Empty(t, asked, "the upstream is not asked")
	mu.Unlock()
	res, _ = g.do(t, http.MethodGet, "Binary/1230", reader, "", "")
	assert.NotEqual(t, http.StatusOK, res.StatusCode)
}

// An operation on a type or a resource names what it reads: HAPI's
// Binary/[id]/$binary-access-read, for one, returns that Binary's
// content though the policy knows nothing of it. Status and file URLs
// of every known server are system-level operations or no FHIR
// interaction; an upstream that names a type- or instance-level
// operation as a job's does not open it to the job's owner.
func TestGatewayAttackExportJobNamesResourceOperations(t *testing.T) {
	for _, named := range []string{"/Patient/p1/$binary-access-read", "/Patient/$x-poll", "/Binary/b1/$binary-access-read?p1"} {
		t.Run(named, func(t *testing.T) { notAJobURL(t, named, strings.Contains(named, "p1")) })
	}
}

// Resource type names are case-sensitive to the policy, which refuses
// /fhir/patient for that reason: a server may read it as Patient. An
// upstream that names such a spelling (or one of another FHIR path) as
// a job's URL does not open it to the job's owner past the policy.
func TestGatewayAttackExportJobNamesFHIRURLsInOtherCase(t *testing.T) {
	for _, named := range []string{"/patient?_count=1000", "/PATIENT", "/_HISTORY", "/Metadata", "/patient/p1", "/bInArY/b1", "/Patient/p1/x"} {
		t.Run(named, func(t *testing.T) { notAJobURL(t, named, strings.Contains(named, "1")) })
	}
}

// A token that names neither its client nor its subject has no
// identity a job could be bound to: its kick-offs went upstream outside
// the bounds on jobs (as many as it liked, each an export the upstream
// runs), for jobs nobody can poll. They are refused before the upstream.
func TestGatewayAttackExportJobWithoutIdentity(t *testing.T) {
	g, b := startBulkGateway(t)
	anon := g.iss.Mint(map[string]any{"scope": "system/*.rs"})
	res, body := send(t, http.MethodGet, g.url+"/Patient/$export", anon)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s", body)
	assert.Contains(t, string(body), "OperationOutcome")
	assert.Zero(t, b.count(), "the upstream is not asked")
	res, body = send(t, http.MethodGet, g.url+"/Patient/p1", anon)
	assert.Equal(t, http.StatusOK, res.StatusCode, "other requests pass: %s", body)
}
