package middleware_test

// Hostile or odd answers of the server behind the middleware: whatever it
// sends for a checked request, nothing of another patient reaches Alice's
// client. The bytes on the wire are searched, not a parser's reading of
// them, since clients parse differently.

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// upstreamAnswer is a canned answer of the wrapped handler.
type upstreamAnswer struct {
	status int
	header map[string][]string
	body   string
	gzip   bool
}

func (a upstreamAnswer) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Upstream", "1") // must not survive a refusal
		for k, v := range a.header {
			w.Header()[k] = v
		}
		if _, ok := a.header["Content-Type"]; !ok {
			w.Header().Set("Content-Type", "application/fhir+json")
		}
		status := a.status
		if status == 0 {
			status = 200
		}
		if a.gzip {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(status)
			zw := gzip.NewWriter(w)
			_, _ = io.WriteString(zw, a.body)
			_ = zw.Close()
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, a.body)
	})
}

// bobMarkers are strings that appear only in data of Bob (Patient/p2).
var bobMarkers = []string{"Patient/p2", `"p2"`, "Bob", "obs-p2"}

func assertNothingOfBob(t *testing.T, res *http.Response, body []byte) {
	t.Helper()
	for _, m := range bobMarkers {
		assert.NotContains(t, string(body), m, "status %d body: %s", res.StatusCode, body)
		for _, h := range []http.Header{res.Header, res.Trailer} {
			for k, vs := range h {
				for _, v := range vs {
					assert.NotContains(t, v, m, "header %s", k)
				}
			}
		}
	}
}

const (
	aliceObs = `{"resourceType":"Observation","id":"x","status":"final","code":{"text":"t"},"subject":{"reference":"Patient/p1"}}`
	bobObs   = `{"resourceType":"Observation","id":"obs-p2","status":"final","code":{"text":"t"},"subject":{"reference":"Patient/p2"}}`
	bob      = `{"resourceType":"Patient","id":"p2","name":[{"given":["Bob"]}]}`
)

// Answers to a read of Observation/x, which needs a response check.
func TestAttackUpstreamReadAnswers(t *testing.T) {
	for name, a := range map[string]upstreamAnswer{
		"Bob's Observation":                  {body: bobObs},
		"duplicate subject, Alice last":      {body: `{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/p2"},"subject":{"reference":"Patient/p1"}}`},
		"duplicate subject, Alice first":     {body: `{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/p1"},"subject":{"reference":"Patient/p2"}}`},
		"case-variant subject":               {body: `{"resourceType":"Observation","id":"x","Subject":{"reference":"Patient/p2"},"subject":{"reference":"Patient/p1"}}`},
		"duplicate reference":                {body: `{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/p1","reference":"Patient/p2"}}`},
		"escaped key":                        {body: `{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/p1"},"s\u0075bject":{"reference":"Patient/p2"}}`},
		"resourceType case variant":          {body: `{"resourcetype":"Observation","resourceType":"Patient","id":"p2","name":[{"given":["Bob"]}]}`},
		"byte order mark":                    {body: "\ufeff" + bobObs},
		"comment":                            {body: `{"resourceType":"Observation",/*x*/"id":"obs-p2","subject":{"reference":"Patient/p2"}}`},
		"trailing second document":           {body: aliceObs + bob},
		"a Patient instead":                  {body: bob},
		"a Bundle instead":                   {body: `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + bob + `}]}`},
		"gzip without being asked":           {body: bobObs, gzip: true},
		"identity then gzip":                 {body: bobObs, header: map[string][]string{"Content-Encoding": {"identity", "gzip"}}},
		"Content-Encoding list":              {body: bobObs, header: map[string][]string{"Content-Encoding": {"identity, br"}}},
		"text/plain JSON":                    {body: bobObs, header: map[string][]string{"Content-Type": {"text/plain"}}},
		"two Content-Types":                  {body: bobObs, header: map[string][]string{"Content-Type": {"application/fhir+json", "text/html"}}},
		"XML":                                {body: `<Patient><id value="p2"/><name><given value="Bob"/></name></Patient>`, header: map[string][]string{"Content-Type": {"application/fhir+xml"}}},
		"HTML":                               {body: `<html>Bob Patient/p2</html>`, header: map[string][]string{"Content-Type": {"text/html"}}},
		"no Content-Type":                    {body: bobObs, header: map[string][]string{"Content-Type": nil}},
		"206 Partial Content":                {status: 206, body: bobObs},
		"203 Non-Authoritative":              {status: 203, body: bobObs},
		"302 with a body":                    {status: 302, body: bobObs, header: map[string][]string{"Location": {"/fhir/Patient/p2"}}},
		"304 with a body":                    {status: 304, body: bobObs},
		"302 without a body, to Bob":         {status: 302, header: map[string][]string{"Location": {"http://fhir.test/fhir/Patient/p2/Observation/obs-p2"}}},
		"301 without a body, to Bob":         {status: 301, header: map[string][]string{"Location": {"http://fhir.test/fhir/Patient/p2"}}},
		"307 OperationOutcome, to Bob":       {status: 307, body: `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}`, header: map[string][]string{"Location": {"http://fhir.test/fhir/Patient/p2"}}},
		"304 without a body":                 {status: 304, header: map[string][]string{"Content-Location": {"http://fhir.test/fhir/Observation/obs-p2"}}},
		"404 OperationOutcome, Location":     {status: 404, body: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`, header: map[string][]string{"Location": {"http://fhir.test/fhir/Patient/p2"}}},
		"500 OperationOutcome, Location":     {status: 500, body: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`, header: map[string][]string{"Location": {"http://fhir.test/fhir/Patient/p2"}, "Content-Location": {"http://fhir.test/fhir/Observation/obs-p2"}}},
		"200 without a body, Location":       {status: 200, header: map[string][]string{"Location": {"http://fhir.test/fhir/Patient/p2"}}},
		"404 naming Bob":                     {status: 404, body: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Observation/x belongs to Bob, Patient/p2"}]}`},
		"410 naming Bob":                     {status: 410, body: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"deleted","diagnostics":"deleted by Bob"}]}`},
		"500 with Bob":                       {status: 500, body: bob},
		"500 with Bob, case-variant OO":      {status: 500, body: `{"resourceType":"Patient","id":"p2","name":[{"given":["Bob"]}],"RESOURCETYPE":"OperationOutcome"}`},
		"500 with Bob, duplicate OO":         {status: 500, body: `{"resourceType":"Patient","id":"p2","name":[{"given":["Bob"]}],"resourceType":"OperationOutcome"}`},
		"500 with Bob contained in an OO":    {status: 500, body: `{"resourceType":"OperationOutcome","contained":[` + bob + `],"issue":[]}`},
		"400 with Bob, escaped OO key":       {status: 400, body: `{"resourceType":"Patient","id":"p2","name":[{"given":["Bob"]}],"resource\u0054ype":"OperationOutcome"}`},
		"Location naming Bob":                {body: aliceObs, header: map[string][]string{"Location": {"http://fhir.test/fhir/Patient/p2"}}},
		"Content-Location naming Bob":        {body: aliceObs, header: map[string][]string{"Content-Location": {"http://fhir.test/fhir/Observation/obs-p2/_history/1"}}},
		"Content-Location naming a suffix":   {body: aliceObs, header: map[string][]string{"Content-Location": {"http://fhir.test/fhir/Observation/x/_history/1/../../../Patient/p2"}}},
		"trailer naming Bob":                 {body: aliceObs, header: map[string][]string{"Trailer": {"X-Owner"}, http.TrailerPrefix + "X-Note": {"Patient/p2"}}},
		"lower-case location naming Bob":     {body: aliceObs, header: map[string][]string{"location": {"http://fhir.test/fhir/Patient/p2"}}},
		"upper-case Content-Location":        {body: aliceObs, header: map[string][]string{"CONTENT-LOCATION": {"http://fhir.test/fhir/Observation/obs-p2"}}},
		"lower-case content-encoding":        {body: bobObs, header: map[string][]string{"content-encoding": {"br"}}},
		"Content-Type in two cases":          {body: bobObs, header: map[string][]string{"content-type": {"text/html"}}},
		"oversized":                          {body: `{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/p1"},"note":[{"text":"` + strings.Repeat("Bob ", 5000) + `"}]}`},
		"JSON after whitespace and a second": {body: " \n" + aliceObs + "\n" + bobObs},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withInner(a.handler()), withMW(middleware.WithMaxResponseSize(16<<10)))
			res, body := e.get(t, "/fhir/Observation/x", e.token("patient/*.rs", naivefhir.Alice))
			assertNothingOfBob(t, res, body)
			if strings.Contains(a.body, "p2") || a.gzip {
				assert.NotEqual(t, 200, res.StatusCode, "body: %s", body)
			}
			if res.StatusCode == 404 {
				// existence hiding: the middleware's own answer, the
				// server's headers gone
				assert.Empty(t, res.Header.Get("ETag"))
				assert.Contains(t, string(body), "resource not found")
			}
			if res.StatusCode == 404 || res.StatusCode == 403 || res.StatusCode == 502 {
				// a refusal carries none of the server's headers
				assert.Empty(t, res.Header.Get("X-Upstream"), "status %d", res.StatusCode)
			}
		})
	}
	t.Run("Alice's own Observation keeps a Content-Location naming it", func(t *testing.T) {
		a := upstreamAnswer{body: aliceObs, header: map[string][]string{
			"Content-Location": {"http://fhir.test/fhir/Observation/x/_history/3"}, "Etag": {`W/"3"`}}}
		e := newEnv(t, withInner(a.handler()))
		res, body := e.get(t, "/fhir/Observation/x", e.token("patient/*.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Equal(t, "http://fhir.test/fhir/Observation/x/_history/3", res.Header.Get("Content-Location"))
		assert.Equal(t, `W/"3"`, res.Header.Get("ETag"))
		assert.JSONEq(t, aliceObs, string(body))
	})
}

// A header the checks read, written by the handler in another letter
// case, is checked as the header it is (net/http would send it as written
// and clients read it case-insensitively).
func TestCheckedHeaderInAnotherCase(t *testing.T) {
	a := upstreamAnswer{body: aliceObs, header: map[string][]string{"content-type": {"text/html"}}}
	e := newEnv(t, withInner(a.handler()))
	res, body := e.get(t, "/fhir/Observation/x", e.token("patient/*.rs", naivefhir.Alice))
	assert.Equal(t, http.StatusBadGateway, res.StatusCode, "two Content-Types: %s", body)
	assert.Len(t, res.Header.Values("Content-Type"), 1, "the refusal's own Content-Type only")
}

// A checked response whose header map an outer handler has already
// written to: the server's headers pass with an allowed resource and are
// all gone from a refusal, while the outer handler's stay either way.
func TestCheckedResponseUnderOuterHeaders(t *testing.T) {
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Outer", "1")
			next.ServeHTTP(w, r)
		})
	}
	etag := map[string][]string{"Etag": {`W/"3"`}}
	t.Run("allowed", func(t *testing.T) {
		e := newEnv(t, withInner(upstreamAnswer{body: aliceObs, header: etag}.handler()), withOuter(outer))
		res, body := e.get(t, "/fhir/Observation/x", e.token("patient/*.rs", naivefhir.Alice))
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Equal(t, "1", res.Header.Get("X-Outer"))
		assert.Equal(t, "1", res.Header.Get("X-Upstream"))
		assert.Equal(t, `W/"3"`, res.Header.Get("ETag"))
		assert.Equal(t, int64(len(aliceObs)), res.ContentLength)
	})
	t.Run("withheld", func(t *testing.T) {
		e := newEnv(t, withInner(upstreamAnswer{body: bobObs, header: etag}.handler()), withOuter(outer))
		res, body := e.get(t, "/fhir/Observation/x", e.token("patient/*.rs", naivefhir.Alice))
		require.Equal(t, 404, res.StatusCode, "body: %s", body)
		assertNothingOfBob(t, res, body)
		assert.Equal(t, "1", res.Header.Get("X-Outer"))
		assert.Empty(t, res.Header.Get("X-Upstream"))
		assert.Empty(t, res.Header.Get("ETag"))
	})
}

// Answers to a search that needs a response check (an _include).
func TestAttackUpstreamSearchAnswers(t *testing.T) {
	entry := func(res string) string {
		return `{"fullUrl":"http://fhir.test/fhir/X/1","resource":` + res + `,"search":{"mode":"match"}}`
	}
	searchset := func(members string) string { return `{"resourceType":"Bundle","type":"searchset",` + members + `}` }
	for name, body := range map[string]string{
		"entries of another type":          searchset(`"entry":[` + entry(bob) + `]`),
		"include entry of Bob":             searchset(`"entry":[` + entry(aliceObs) + `,{"resource":` + bob + `,"search":{"mode":"include"}}]`),
		"Bob's Observation as a match":     searchset(`"entry":[` + entry(bobObs) + `]`),
		"total counting Bob":               searchset(`"total":7,"entry":[` + entry(aliceObs) + `]`),
		"OperationOutcome entry with Bob":  searchset(`"entry":[{"resource":{"resourceType":"OperationOutcome","contained":[` + bob + `],"issue":[]},"search":{"mode":"outcome"}}]`),
		"entry response.outcome with Bob":  searchset(`"entry":[{"resource":` + aliceObs + `,"response":{"status":"200","outcome":` + bob + `}}]`),
		"entry with a second resource key": searchset(`"entry":[{"resource":` + aliceObs + `,"Resource":` + bob + `}]`),
		"entry with a duplicate resource":  searchset(`"entry":[{"resource":` + bob + `,"resource":` + aliceObs + `}]`),
		"entry with an unknown member":     searchset(`"entry":[{"resource":` + aliceObs + `,"extra":` + bob + `}]`),
		"Bundle issues with Bob":           searchset(`"issues":` + bob + `,"entry":[` + entry(aliceObs) + `]`),
		"Bundle signature with Bob":        searchset(`"signature":{"data":"Bob Patient/p2"},"entry":[` + entry(aliceObs) + `]`),
		"case-variant entry member":        searchset(`"entry":[` + entry(aliceObs) + `],"Entry":[` + entry(bob) + `]`),
		"duplicate entry member":           searchset(`"entry":[` + entry(bob) + `],"entry":[` + entry(aliceObs) + `]`),
		"nested Bundle with Bob":           searchset(`"entry":[{"resource":{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + bob + `}]}}]`),
		"entry: null":                      searchset(`"entry":null`),
		"resourceType case variant":        `{"resourceType":"Bundle","RESOURCETYPE":"Patient","type":"searchset","entry":[` + entry(bob) + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withInner(upstreamAnswer{body: body}.handler()))
			res, out := e.get(t, "/fhir/Observation?_include=Observation:performer", e.token("patient/*.rs", naivefhir.Alice))
			assertNothingOfBob(t, res, out)
			assert.NotContains(t, string(out), `"total"`)
			assert.Contains(t, []int{200, 404, 502}, res.StatusCode, "body: %s", out)
		})
	}
}

// Answers to a batch whose entries need response checks.
func TestAttackUpstreamBatchAnswers(t *testing.T) {
	response := func(entries string) string {
		return `{"resourceType":"Bundle","type":"batch-response","entry":[` + entries + `]}`
	}
	for name, body := range map[string]string{
		"Bob's Observation":                     response(`{"resource":` + bobObs + `,"response":{"status":"200 OK"}}`),
		"case-variant resource member":          response(`{"resource":` + aliceObs + `,"Resource":` + bob + `,"response":{"status":"200 OK"}}`),
		"duplicate resource, Bob first":         response(`{"resource":` + bob + `,"resource":` + aliceObs + `,"response":{"status":"200 OK"}}`),
		"response.outcome is Bob":               response(`{"response":{"status":"200 OK","outcome":` + bob + `}}`),
		"response.outcome contains Bob":         response(`{"response":{"status":"404 Not Found","outcome":{"resourceType":"OperationOutcome","contained":[` + bob + `],"issue":[]}}}`),
		"error entry: Bob as a case-variant OO": response(`{"resource":{"resourceType":"Patient","id":"p2","name":[{"given":["Bob"]}],"RESOURCETYPE":"OperationOutcome"},"response":{"status":"404"}}`),
		"response.location of Bob":              response(`{"resource":` + aliceObs + `,"response":{"status":"200 OK","location":"Patient/p2/_history/1"}}`),
		"unknown entry member":                  response(`{"resource":` + aliceObs + `,"response":{"status":"200 OK"},"note":` + bob + `}`),
		"case-variant response member":          response(`{"resource":` + aliceObs + `,"response":{"status":"200 OK"},"Response":{"outcome":` + bob + `}}`),
		"top-level case-variant entry":          `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"200 OK"}}],"Entry":[{"resource":` + bob + `}]}`,
		"top-level duplicate entry":             `{"resourceType":"Bundle","type":"batch-response","entry":[{"resource":` + bob + `}],"entry":[{"response":{"status":"200 OK"}}]}`,
		"top-level extra member":                `{"resourceType":"Bundle","type":"batch-response","extra":` + bob + `,"entry":[{"response":{"status":"200 OK"}}]}`,
		"two entries for one":                   response(`{"response":{"status":"200 OK"}},{"resource":` + bob + `,"response":{"status":"200 OK"}}`),
		"not a Bundle":                          bob,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withInner(upstreamAnswer{body: body}.handler()))
			h := bearer(e.token("patient/*.rs", naivefhir.Alice))
			h.Set("Content-Type", "application/fhir+json")
			res, out := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/x"}}]}`)
			assertNothingOfBob(t, res, out)
			assert.Contains(t, []int{200, 502}, res.StatusCode, "body: %s", out)
		})
	}
}

// The answer to a batch whose entries' responses are checked goes
// without the server's Location and Content-Location, as a checked
// single response does: they would name, unchecked, what the entries
// held or another patient's resource. A batch-response or an error has
// no location of its own.
func TestAttackUpstreamBatchLocations(t *testing.T) {
	locations := map[string][]string{
		"Location":         {"http://fhir.test/fhir/Patient/p2"},
		"content-location": {"http://fhir.test/fhir/Observation/obs-p2"},
	}
	for name, a := range map[string]upstreamAnswer{
		"batch-response": {header: locations, body: `{"resourceType":"Bundle","type":"batch-response","entry":[{"resource":` + aliceObs + `,"response":{"status":"200 OK"}}]}`},
		"error":          {header: locations, status: 500, body: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withInner(a.handler()))
			h := bearer(e.token("patient/*.rs", naivefhir.Alice))
			h.Set("Content-Type", "application/fhir+json")
			res, out := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/x"}}]}`)
			require.Equal(t, max(a.status, 200), res.StatusCode, "body: %s", out)
			assertNothingOfBob(t, res, out)
			assert.Empty(t, res.Header.Values("Location"))
			assert.Empty(t, res.Header.Values("Content-Location"))
		})
	}
}

// Streamed, chunked, slow and huge answers of a checked request are
// buffered up to the limit and then refused, never passed on partly.
func TestAttackUpstreamStreamingAnswers(t *testing.T) {
	streaming := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Header().Set("Transfer-Encoding", "chunked")
		_, _ = io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","entry":[`)
		for i := range 2000 {
			if i > 0 {
				_, _ = io.WriteString(w, ",")
			}
			_, _ = io.WriteString(w, `{"resource":`+bob+`}`)
			http.NewResponseController(w).Flush()
		}
		_, _ = io.WriteString(w, `]}`)
	})
	e := newEnv(t, withInner(streaming), withMW(middleware.WithMaxResponseSize(32<<10)))
	res, body := e.get(t, "/fhir/Observation?_include=Observation:performer", e.token("patient/*.rs", naivefhir.Alice))
	assert.Equal(t, 502, res.StatusCode, "body: %s", body)
	assertNothingOfBob(t, res, body)

	t.Run("hijacking through the buffer is impossible", func(t *testing.T) {
		hijacker := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, _, err := http.NewResponseController(w).Hijack(); err == nil {
				t.Error("a checked response could be hijacked")
			}
			w.Header().Set("Content-Type", "application/fhir+json")
			_, _ = io.WriteString(w, bob)
		})
		e := newEnv(t, withInner(hijacker))
		res, body := e.get(t, "/fhir/Observation/x", e.token("patient/*.rs", naivefhir.Alice))
		assertNothingOfBob(t, res, body)
	})
	t.Run("a slow server is waited for, then checked", func(t *testing.T) {
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+json")
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"x",`)
			http.NewResponseController(w).Flush()
			time.Sleep(200 * time.Millisecond)
			_, _ = io.WriteString(w, `"subject":{"reference":"Patient/p2"}}`)
		})
		e := newEnv(t, withInner(slow))
		res, body := e.get(t, "/fhir/Observation/x", e.token("patient/*.rs", naivefhir.Alice))
		assert.Equal(t, 404, res.StatusCode)
		assertNothingOfBob(t, res, body)
	})
}

// A server that answers a read of an existing resource with a success
// status and no body (a bare 200, a 204, a 202 of an asynchronous
// request) and a missing one with 404: under existence hiding the
// caller must not tell the two apart, as a batch entry answered so
// cannot be told either.
func TestAttackUpstreamBodilessRead(t *testing.T) {
	for _, status := range []int{200, 202, 204} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `W/"3"`)
				if r.URL.Path == "/fhir/Observation/obs-p2" {
					w.WriteHeader(status)
					return
				}
				w.Header().Set("Content-Type", "application/fhir+json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`)
			})
			e := newEnv(t, withInner(inner))
			tok := e.token("patient/*.rs", naivefhir.Alice)
			hr, hb := e.get(t, "/fhir/Observation/obs-p2", tok)
			mr, mb := e.get(t, "/fhir/Observation/no-such", tok)
			assert.Equal(t, http.StatusNotFound, hr.StatusCode)
			assert.Equal(t, string(mb), string(hb))
			hr.Header.Del("Date")
			mr.Header.Del("Date")
			assert.Equal(t, mr.Header, hr.Header)
		})
	}
}
