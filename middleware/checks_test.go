package middleware_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// lastUpstream is the last request the naive server received.
func lastUpstream(t *testing.T, e *env) naivefhir.Recorded {
	t.Helper()
	reqs := e.fhir.Requests()
	require.NotEmpty(t, reqs)
	return reqs[len(reqs)-1]
}

func TestNarrowingByQueryRewrite(t *testing.T) {
	t.Run("search gets the compartment parameter", func(t *testing.T) {
		e := newEnv(t)
		res, body := e.get(t, "/fhir/Observation?code=8867-4", e.token("patient/Observation.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		u, err := url.Parse(lastUpstream(t, e).URL)
		require.NoError(t, err)
		assert.Equal(t, []string{"8867-4"}, u.Query()["code"])
		assert.Equal(t, []string{"Patient/p1"}, u.Query()["patient"])
		assert.Equal(t, []string{"Observation/obs-p1-vital"}, parseBundle(t, body).ids())
	})
	t.Run("idempotent on an already narrowed query", func(t *testing.T) {
		e := newEnv(t)
		res, _ := e.get(t, "/fhir/Observation?patient=p1", e.token("patient/Observation.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode)
		u, err := url.Parse(lastUpstream(t, e).URL)
		require.NoError(t, err)
		assert.Equal(t, []string{"p1"}, u.Query()["patient"])
	})
	t.Run("a plain query that already narrows is passed on as sent", func(t *testing.T) {
		e := newEnv(t)
		res, _ := e.get(t, "/fhir/Observation?patient=p1&code=8867-4&_count=5", e.token("patient/Observation.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode)
		assert.Equal(t, "/fhir/Observation?patient=p1&code=8867-4&_count=5", lastUpstream(t, e).URL, "not re-encoded (not sorted)")
	})
	t.Run("the same query with an escape is re-encoded", func(t *testing.T) {
		e := newEnv(t)
		res, _ := e.get(t, "/fhir/Observation?patient=p1&code=8867%2D4", e.token("patient/Observation.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode)
		assert.Equal(t, "/fhir/Observation?code=8867-4&patient=p1", lastUpstream(t, e).URL, "the server reads what fhirauth parsed, written plainly")
	})
	t.Run("a plain query still loses _elements when the response is checked", func(t *testing.T) {
		e := newEnv(t)
		res, body := e.get(t, "/fhir/Observation/obs-p1-lab?_elements=id", e.token("patient/Observation.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Equal(t, "/fhir/Observation/obs-p1-lab", lastUpstream(t, e).URL)
	})
	t.Run("off: the query reaches the server unchanged", func(t *testing.T) {
		e := newEnv(t, withMW(middleware.WithQueryNarrowing(false)))
		res, _ := e.get(t, "/fhir/Observation?code=8867-4", e.token("patient/Observation.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode)
		assert.Equal(t, "/fhir/Observation?code=8867-4", lastUpstream(t, e).URL)
	})
	t.Run("POST _search form body", func(t *testing.T) {
		e := newEnv(t)
		res, body := e.request(t, http.MethodPost, "/fhir/Observation/_search",
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {"Bearer " + e.token("patient/Observation.rs", naivefhir.Alice)}},
			"code=2339-0")
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		form, err := url.ParseQuery(string(lastUpstream(t, e).Body))
		require.NoError(t, err)
		assert.Equal(t, []string{"Patient/p1"}, form["patient"])
		assert.Equal(t, []string{"2339-0"}, form["code"])
		assert.Equal(t, []string{"Observation/obs-p1-lab"}, parseBundle(t, body).ids())
	})
	// medplum searches a POST [type]/_search with its form body alone
	// and drops the URL's query: a search whose parameters are all in the
	// URL, its body empty, returned every patient's Observations when the
	// narrowing went to the URL alone. The narrowing goes to the body
	// too, written as a form whatever the client sent.
	for _, ct := range []string{"application/x-www-form-urlencoded", "", "application/fhir+json"} {
		t.Run("POST _search, query in the URL, empty body, Content-Type "+ct, func(t *testing.T) {
			e := newEnv(t)
			h := bearer(e.token("patient/Observation.rs", naivefhir.Alice))
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			res, body := e.request(t, http.MethodPost, "/fhir/Observation/_search?code=2339-0", h, "")
			require.Equal(t, 200, res.StatusCode, "body: %s", body)
			up := lastUpstream(t, e)
			assert.Equal(t, "application/x-www-form-urlencoded", up.Header.Get("Content-Type"))
			form, err := url.ParseQuery(string(up.Body))
			require.NoError(t, err)
			assert.Equal(t, []string{"Patient/p1"}, form["patient"], "the form body %q the server may read alone", up.Body)
			u, err := url.Parse(up.URL)
			require.NoError(t, err)
			assert.Equal(t, []string{"Patient/p1"}, u.Query()["patient"])
			assert.Equal(t, []string{"2339-0"}, u.Query()["code"])
		})
	}
	t.Run("conditional create If-None-Exist", func(t *testing.T) {
		e := newEnv(t)
		h := bearer(e.token("patient/Observation.crs", naivefhir.Alice))
		h.Set("Content-Type", "application/fhir+json")
		h.Set("If-None-Exist", "code=8867-4")
		res, body := e.request(t, http.MethodPost, "/fhir/Observation", h,
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		require.Equal(t, 201, res.StatusCode, "body: %s", body)
		ine, err := url.ParseQuery(lastUpstream(t, e).Header.Get("If-None-Exist"))
		require.NoError(t, err)
		assert.Equal(t, []string{"8867-4"}, ine["code"])
		assert.Equal(t, []string{"Patient/p1"}, ine["patient"])
	})
}

// The GET entries of a batch are narrowed by the same rules as a GET
// request: from fhirauth's parse of the entry's query, a plain query
// that already narrows passed on as written, any other re-encoded.
func TestNarrowingOfBatchEntries(t *testing.T) {
	e := newEnv(t)
	h := bearer(e.token("patient/Observation.rs", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":[`+
		`{"request":{"method":"GET","url":"Observation?code=8867-4"}},`+
		`{"request":{"method":"GET","url":"Observation?patient=p1&code=8867-4&_count=5"}},`+
		`{"request":{"method":"GET","url":"Observation?patient=p1&code=8867%2D4"}},`+
		`{"request":{"method":"GET","url":"Observation/obs-p1-lab?_elements=id"}}]}`)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	var sent struct {
		Entry []struct {
			Request struct{ URL string }
		}
	}
	require.NoError(t, json.Unmarshal(lastUpstream(t, e).Body, &sent))
	var urls []string
	for _, en := range sent.Entry {
		urls = append(urls, en.Request.URL)
	}
	assert.Equal(t, []string{
		"Observation?code=8867-4&patient=Patient%2Fp1",
		"Observation?patient=p1&code=8867-4&_count=5",
		"Observation?code=8867-4&patient=p1",
		"Observation/obs-p1-lab",
	}, urls)
}

func TestResponseCheckOfReads(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)

	res, body := e.get(t, "/fhir/Observation/obs-p1-lab", tok)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	want, _ := e.fhir.Get("Observation", "obs-p1-lab")
	assert.JSONEq(t, string(want), string(body))
	assert.Equal(t, `W/"1"`, res.Header.Get("ETag"))

	// Existence hiding: Bob's Observation and one that does not exist
	// answer the same 404, byte for byte.
	resBob, bodyBob := e.get(t, "/fhir/Observation/obs-p2-lab", tok)
	resNone, bodyNone := e.get(t, "/fhir/Observation/does-not-exist", tok)
	require.Equal(t, 404, resBob.StatusCode, "body: %s", bodyBob)
	require.Equal(t, 404, resNone.StatusCode)
	assert.Equal(t, string(bodyNone), string(bodyBob))
	assert.Equal(t, resNone.Header.Get("Content-Type"), resBob.Header.Get("Content-Type"))
	assert.Empty(t, naivefhir.Leaks(bodyBob, naivefhir.Alice))
	a := e.lastAudit(t)
	assert.Equal(t, 404, a.Status)

	resBob, bodyBob = e.get(t, "/fhir/Observation/obs-p2-lab/_history/1", tok)
	require.Equal(t, 404, resBob.StatusCode, "vread: %s", bodyBob)

	t.Run("HEAD is no existence oracle", func(t *testing.T) {
		// fhirauth refuses HEAD when the response must be checked; were it
		// allowed, the middleware would fetch with GET and check. Either
		// way Bob's Observation and a missing one answer alike.
		own, _ := e.request(t, http.MethodHead, "/fhir/Observation/obs-p1-lab", bearer(tok), "")
		bob, _ := e.request(t, http.MethodHead, "/fhir/Observation/obs-p2-lab", bearer(tok), "")
		none, _ := e.request(t, http.MethodHead, "/fhir/Observation/nope", bearer(tok), "")
		assert.Equal(t, none.StatusCode, bob.StatusCode)
		assert.NotEqual(t, 200, bob.StatusCode)
		assert.Contains(t, []int{200, 400}, own.StatusCode)
		for _, r := range e.fhir.Requests() {
			assert.NotEqual(t, http.MethodHead, r.Method, "a HEAD never reaches the server unchecked")
		}
	})
	t.Run("conditional headers are not forwarded", func(t *testing.T) {
		h := bearer(tok)
		h.Set("If-None-Match", `W/"1"`)
		h.Set("Accept-Encoding", "gzip")
		res, _ := e.request(t, http.MethodGet, "/fhir/Observation/obs-p2-lab", h, "")
		assert.Equal(t, 404, res.StatusCode, "a 304 would confirm the resource exists")
		up := lastUpstream(t, e)
		assert.Empty(t, up.Header.Get("If-None-Match"))
		assert.NotEqual(t, "gzip", up.Header.Get("Accept-Encoding"))
	})
	t.Run("403 without existence hiding", func(t *testing.T) {
		e := newEnv(t, withPolicy(fhirauth.WithExistenceHiding(false)))
		res, body := e.get(t, "/fhir/Observation/obs-p2-lab", e.token("patient/*.rs", naivefhir.Alice))
		require.Equal(t, 403, res.StatusCode)
		assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
		assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "compartment")
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
	})
}

func TestResponseCheckOfSearches(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	// The include reaches Bob (performer of obs-p1-by-p2); the naive server
	// returns him; the middleware removes him and drops total.
	res, body := e.get(t, "/fhir/Observation?_include=Observation:performer", tok)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	b := parseBundle(t, body)
	assert.Nil(t, b.Total, "total may count what was removed")
	assert.ElementsMatch(t, []string{"Observation/obs-p1-lab", "Observation/obs-p1-vital", "Observation/obs-p1-by-p2", "Practitioner/pr1"}, b.ids())
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
	assert.Equal(t, 1, e.lastAudit(t).Withheld)
	assert.Contains(t, e.logs.String(), "entries removed from a response Bundle")
}

// The middleware fails closed when the response cannot be checked.
func TestResponseCheckFailsClosed(t *testing.T) {
	handler := func(status int, ctype, encoding, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ctype != "" {
				w.Header().Set("Content-Type", ctype)
			}
			if encoding == "gzip" {
				w.Header().Set("Content-Encoding", "gzip")
				w.WriteHeader(status)
				zw := gzip.NewWriter(w)
				_, _ = io.WriteString(zw, body)
				_ = zw.Close()
				return
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		})
	}
	obs := `{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"}}`
	cases := []struct {
		name   string
		inner  http.Handler
		opts   []middleware.Option
		status int
		code   string
	}{
		{"ok", handler(200, "application/fhir+json", "", obs), nil, 200, ""},
		{"ok without content type", handler(200, "", "", obs), nil, 200, ""},
		{"too large", handler(200, "application/fhir+json", "", obs), []middleware.Option{middleware.WithMaxResponseSize(int64(len(obs) - 1))}, 502, "too-costly"},
		{"xml", handler(200, "application/fhir+xml", "", `<Observation xmlns="http://hl7.org/fhir"/>`), nil, 502, "exception"},
		{"html", handler(200, "text/html", "", obs), nil, 502, "exception"},
		{"gzip", handler(200, "application/fhir+json", "gzip", obs), nil, 502, "exception"},
		{"not json", handler(200, "application/fhir+json", "", `{"resourceType":"Observation",`), nil, 502, "exception"},
		{"error that is no outcome", handler(500, "application/fhir+json", "", obs), nil, 502, "exception"},
		{"error page", handler(500, "text/plain", "", "boom"), nil, 502, "exception"},
		{"wrong type", handler(200, "application/fhir+json", "", `{"resourceType":"Patient","id":"p1"}`), nil, 404, "not-found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withInner(c.inner), withMW(c.opts...))
			res, body := e.get(t, "/fhir/Observation/o1", e.token("patient/*.rs", naivefhir.Alice))
			require.Equal(t, c.status, res.StatusCode, "body: %s", body)
			if c.status == 200 {
				assert.JSONEq(t, obs, string(body))
				return
			}
			assert.Equal(t, "application/fhir+json", res.Header.Get("Content-Type"))
			assert.Equal(t, c.code, parseOutcome(t, body).Issue[0].Code)
			assert.NotContains(t, string(body), `"subject"`)
		})
	}
	t.Run("upstream error outcome passes", func(t *testing.T) {
		oo := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`
		e := newEnv(t, withInner(handler(500, "application/fhir+json", "", oo)))
		res, body := e.get(t, "/fhir/Observation/o1", e.token("patient/*.rs", naivefhir.Alice))
		require.Equal(t, 500, res.StatusCode)
		assert.JSONEq(t, oo, string(body))
	})
}

func TestBatch(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	batch := `{"resourceType":"Bundle","type":"batch","entry":[
		{"request":{"method":"GET","url":"Patient/p1"}},
		{"request":{"method":"GET","url":"Patient/p2"}},
		{"request":{"method":"GET","url":"Observation/obs-p2-lab"}},
		{"request":{"method":"GET","url":"Observation?code=8867-4"}},
		{"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}},
		{"request":{"method":"GET","url":"Observation/obs-p1-lab"}}
	]}`
	h := bearer(tok)
	h.Set("Content-Type", "application/fhir+json")
	res, body := e.request(t, http.MethodPost, "/fhir", h, batch)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	b := parseBundle(t, body)
	assert.Equal(t, "batch-response", b.Type)
	require.Len(t, b.Entry, 6)
	var statuses []string
	for _, en := range b.Entry {
		require.NotNil(t, en.Response)
		statuses = append(statuses, en.Response.Status)
	}
	assert.Equal(t, []string{"200 OK", "404 Not Found", "404 Not Found", "200 OK", "403 Forbidden", "200 OK"}, statuses)
	assert.Equal(t, "Patient/p1", resourceRef(b.Entry[0].Resource))
	assert.Equal(t, []string{"Observation/obs-p1-vital"}, parseBundle(t, b.Entry[3].Resource).ids())
	assert.Equal(t, "Observation/obs-p1-lab", resourceRef(b.Entry[5].Resource))
	o := parseOutcome(t, b.Entry[4].Response.Outcome)
	assert.Equal(t, "forbidden", o.Issue[0].Code)
	assert.Equal(t, parseOutcome(t, b.Entry[1].Response.Outcome), parseOutcome(t, b.Entry[2].Response.Outcome), "hidden entries look alike")
	assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))

	// The server saw only the allowed entries, the search narrowed.
	sent := parseBundle(t, lastUpstream(t, e).Body)
	var urls []string
	for _, en := range sent.Entry {
		urls = append(urls, en.Request.URL)
	}
	require.Len(t, urls, 4)
	assert.Equal(t, "Patient/p1", urls[0])
	assert.Equal(t, "Observation/obs-p2-lab", urls[1])
	q, err := url.ParseQuery(strings.TrimPrefix(urls[2], "Observation?"))
	require.NoError(t, err)
	assert.Equal(t, []string{"Patient/p1"}, q["patient"])
	assert.Equal(t, "Observation/obs-p1-lab", urls[3])

	a := e.lastAudit(t)
	assert.Equal(t, []string{"batch", "read", "read", "read", "search-type", "create", "read"}, a.Interactions)

	t.Run("every entry denied: the server is not called", func(t *testing.T) {
		n := len(e.fhir.Requests())
		res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/p3"}},{"request":{"method":"DELETE","url":"Patient/p1"}}]}`)
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		b := parseBundle(t, body)
		require.Len(t, b.Entry, 2)
		assert.Equal(t, "404 Not Found", b.Entry[0].Response.Status)
		assert.Equal(t, "403 Forbidden", b.Entry[1].Response.Status)
		assert.Len(t, e.fhir.Requests(), n)
	})
	t.Run("transaction with one denied entry is refused whole", func(t *testing.T) {
		n := len(e.fhir.Requests())
		res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"Patient/p1"}},{"request":{"method":"GET","url":"Condition?code=x&patient=p2"}}]}`)
		require.Equal(t, 403, res.StatusCode, "body: %s", body)
		assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
		assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "entry 1")
		assert.Len(t, e.fhir.Requests(), n)
	})
	t.Run("user-level batch passes through untouched", func(t *testing.T) {
		utok := e.token("user/*.rs", "")
		in := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/p2"}}]}`
		res, body := e.request(t, http.MethodPost, "/fhir", bearer(utok), in)
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Equal(t, in, string(lastUpstream(t, e).Body))
		assert.Equal(t, "200 OK", parseBundle(t, body).Entry[0].Response.Status)
	})
	t.Run("server answering the wrong number of entries", func(t *testing.T) {
		bad := newEnv(t, withInner(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+json")
			_, _ = io.WriteString(w, `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"200 OK"}},{"response":{"status":"200 OK"}}]}`)
		})))
		res, body := bad.request(t, http.MethodPost, "/fhir", bearer(bad.token("patient/*.rs", "p1")), `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/o1"}}]}`)
		require.Equal(t, 502, res.StatusCode, "body: %s", body)
	})
}

// Writes under patient context: the stored version is read through the
// wrapped handler and checked before the write reaches it.
func TestStoredVersionChecks(t *testing.T) {
	update := func(id, subject string) string {
		b, _ := json.Marshal(map[string]any{"resourceType": "Observation", "id": id, "status": "final",
			"code": map[string]any{"text": "changed"}, "subject": map[string]any{"reference": "Patient/" + subject}})
		return string(b)
	}
	e := newEnv(t)
	h := bearer(e.token("patient/*.cruds", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")

	res, body := e.request(t, http.MethodPut, "/fhir/Observation/obs-p2-lab", h, update("obs-p2-lab", naivefhir.Alice))
	require.Equal(t, 404, res.StatusCode, "taking over Bob's Observation: %s", body)
	stored, _ := e.fhir.Get("Observation", "obs-p2-lab")
	assert.Contains(t, string(stored), "Patient/p2", "Bob's Observation is untouched")
	assert.NotEqual(t, http.MethodPut, lastUpstream(t, e).Method)

	res, body = e.request(t, http.MethodDelete, "/fhir/Observation/obs-p2-lab", h, "")
	require.Equal(t, 404, res.StatusCode, "deleting Bob's Observation: %s", body)
	_, ok := e.fhir.Get("Observation", "obs-p2-lab")
	assert.True(t, ok)

	res, body = e.request(t, http.MethodPut, "/fhir/Observation/obs-p1-lab", h, update("obs-p1-lab", naivefhir.Alice))
	require.Equal(t, 200, res.StatusCode, "own Observation: %s", body)
	up := lastUpstream(t, e)
	assert.Equal(t, http.MethodPut, up.Method)
	assert.Equal(t, `W/"1"`, up.Header.Get("If-Match"), "the write is pinned to the checked version")

	t.Run("conditional update cannot be checked: refused", func(t *testing.T) {
		n := len(e.fhir.Requests())
		res, body := e.request(t, http.MethodPut, "/fhir/Observation?code=2339-0", h, update("x", naivefhir.Alice))
		require.Equal(t, 403, res.StatusCode, "body: %s", body)
		assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "conditional")
		assert.Len(t, e.fhir.Requests(), n)
	})
	t.Run("token in a batch entry", func(t *testing.T) {
		res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation?access_token=abc"}}]}`)
		require.Equal(t, 400, res.StatusCode, "body: %s", body)
	})
	t.Run("off: the server's job", func(t *testing.T) {
		e := newEnv(t, withMW(middleware.WithStoredChecks(false)))
		h := bearer(e.token("patient/*.cruds", naivefhir.Alice))
		res, _ := e.request(t, http.MethodPut, "/fhir/Observation/obs-p2-lab", h, update("obs-p2-lab", naivefhir.Alice))
		assert.Equal(t, 200, res.StatusCode, "the naive server overwrites: natively narrowing servers must check")
		require.NotNil(t, e.lastAudit(t))
	})
}

// Writes inside a batch get the same stored-version check, entry by entry;
// inside a transaction a failed check refuses the whole transaction.
func TestBatchStoredChecks(t *testing.T) {
	e := newEnv(t)
	h := bearer(e.token("patient/*.cruds", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	entries := `[
		{"request":{"method":"PUT","url":"Observation/obs-p2-lab"},"resource":{"resourceType":"Observation","id":"obs-p2-lab","status":"final","code":{"text":"mine"},"subject":{"reference":"Patient/p1"}}},
		{"request":{"method":"PUT","url":"Observation/obs-p1-lab"},"resource":{"resourceType":"Observation","id":"obs-p1-lab","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}},
		{"request":{"method":"GET","url":"Observation/does-not-exist"}}]`

	res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":`+entries+`}`)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	b := parseBundle(t, body)
	require.Len(t, b.Entry, 3)
	assert.Equal(t, "404 Not Found", b.Entry[0].Response.Status)
	assert.Equal(t, "200 OK", b.Entry[1].Response.Status)
	assert.Equal(t, "404 Not Found", b.Entry[2].Response.Status)
	assert.Equal(t, "not-found", parseOutcome(t, b.Entry[2].Response.Outcome).Issue[0].Code)
	stored, _ := e.fhir.Get("Observation", "obs-p2-lab")
	assert.Contains(t, string(stored), "Patient/p2")
	stored, _ = e.fhir.Get("Observation", "obs-p1-lab")
	assert.Contains(t, string(stored), "amended")
	sent := lastUpstream(t, e)
	var sentBundle struct {
		Entry []struct {
			Request map[string]string `json:"request"`
		} `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(sent.Body, &sentBundle))
	require.Len(t, sentBundle.Entry, 2)
	assert.Equal(t, map[string]string{"method": "PUT", "url": "Observation/obs-p1-lab", "ifMatch": `W/"1"`}, sentBundle.Entry[0].Request)

	// The transaction without the read: under existence hiding a
	// transaction cannot hold a checked read (TestAttackTransactionReadExistence).
	n := len(e.fhir.Requests())
	writes := entries[:strings.LastIndex(entries, ",\n")] + "]"
	res, body = e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"transaction","entry":`+writes+`}`)
	require.Equal(t, 403, res.StatusCode, "body: %s", body)
	assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "entry 0")
	for _, r := range e.fhir.Requests()[n:] {
		assert.Equal(t, http.MethodGet, r.Method, "only stored-version reads reached the server")
	}
}

// TestCheckedResponseLength: a checked response reaches the client with
// its true length, never the handler's (the body may have been rewritten
// or the handler may lie), framed by Content-Length whether net/http
// counts a small body itself or the middleware sets it for a large one.
func TestCheckedResponseLength(t *testing.T) {
	observation := func(note int) string {
		return `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},` +
			`"subject":{"reference":"Patient/p1"},"note":[{"text":"` + strings.Repeat("n", note) + `"}]}`
	}
	for _, c := range []struct {
		name string
		body string
	}{
		{"small", observation(10)},
		{"at the buffer size", observation(2048 - len(observation(0)))},
		{"just over it", observation(2049 - len(observation(0)))},
		{"large", observation(64 << 10)},
	} {
		t.Run(c.name, func(t *testing.T) {
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/fhir+json")
				w.Header().Set("Content-Length", "7")           // a lie the middleware must not pass on
				w.Header().Set("Transfer-Encoding", "identity") // framing is the server's, not the handler's
				_, _ = io.WriteString(w, c.body)
			})
			e := newEnv(t, withInner(inner))
			tok := e.token("patient/Observation.rs", naivefhir.Alice)
			res, body := e.get(t, "/fhir/Observation/o1", tok)
			require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
			assert.Equal(t, c.body, string(body))
			assert.Equal(t, int64(len(c.body)), res.ContentLength)
			assert.Empty(t, res.TransferEncoding, "framed by its length, not chunked")
		})
	}
}

// The If-None-Exist of a conditional create reaches the server as the
// parameters fhirauth judged, also when the decision narrows nothing: a
// header written "Type?query" or as the absolute URL of the type (HAPI's
// Java client) is read by fhirauth from after the "?", which a server
// reading the header as a plain query would not do (it would see one
// parameter named "http://host/fhir/Observation?identifier", refuse it or,
// leniently, ignore that criterion).
func TestConditionalCreateSendsJudgedQuery(t *testing.T) {
	for _, c := range []struct{ name, scope, patient, ine, want string }{
		{"absolute URL, user token", "user/Observation.crs", "", "http://127.0.0.1:8081/fhir/Observation?identifier=urn%3Aoid%3A1%7Cx&code=8867-4", "code=8867-4&identifier=urn%3Aoid%3A1%7Cx"},
		{"Type?query, user token", "user/Observation.crs", "", "Observation?identifier=x", "identifier=x"},
		{"?query, user token", "user/Observation.crs", "", "?identifier=x", "identifier=x"},
		{"plain query passed as sent", "user/Observation.crs", "", "identifier=x&code=8867-4", "identifier=x&code=8867-4"},
		{"escaped query re-encoded", "user/Observation.crs", "", "identifier=a%2Db", "identifier=a-b"},
		{"absolute URL, patient token", "patient/Observation.crs", naivefhir.Alice, "http://127.0.0.1:8081/fhir/Observation?identifier=x", "identifier=x&patient=Patient%2Fp1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			h := bearer(e.token(c.scope, c.patient))
			h.Set("Content-Type", "application/fhir+json")
			h.Set("If-None-Exist", c.ine)
			res, body := e.request(t, http.MethodPost, "/fhir/Observation", h,
				`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
			require.Equal(t, 201, res.StatusCode, "body: %s", body)
			assert.Equal(t, c.want, lastUpstream(t, e).Header.Get("If-None-Exist"))
		})
	}
}

// The request.ifNoneExist of a conditional create in a batch or
// transaction reaches the server as the parameters fhirauth judged, as
// the header of a single request does (TestConditionalCreateSendsJudgedQuery).
func TestConditionalCreateEntrySendsJudgedQuery(t *testing.T) {
	for _, c := range []struct{ name, ine, want string }{
		{"absolute URL", "http://127.0.0.1:8081/fhir/Observation?identifier=x&code=8867-4", "code=8867-4&identifier=x"},
		{"Type?query", "Observation?identifier=x", "identifier=x"},
		{"plain query passed as sent", "identifier=x&code=8867-4", "identifier=x&code=8867-4"},
	} {
		for _, kind := range []string{"batch", "transaction"} {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				e := newEnv(t)
				h := bearer(e.token("user/Observation.crs", ""))
				h.Set("Content-Type", "application/fhir+json")
				ine, err := json.Marshal(c.ine)
				require.NoError(t, err)
				res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"`+kind+`","entry":[`+
					`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}},`+
					`"request":{"method":"POST","url":"Observation","ifNoneExist":`+string(ine)+`}}]}`)
				require.Equal(t, 200, res.StatusCode, "body: %s", body)
				var sent struct {
					Entry []struct {
						Request struct {
							IfNoneExist string `json:"ifNoneExist"`
						} `json:"request"`
					} `json:"entry"`
				}
				require.NoError(t, json.Unmarshal(lastUpstream(t, e).Body, &sent))
				require.Len(t, sent.Entry, 1)
				assert.Equal(t, c.want, sent.Entry[0].Request.IfNoneExist)
			})
		}
	}
}
