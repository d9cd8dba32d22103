package middleware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// streamedPath is a search whose response is checked (patient context
// with _include) and may stream.
const streamedPath = "/fhir/Observation?_include=Observation:performer"

const leakedPatient = `{"resourceType":"Patient","id":"p2","name":[{"family":"LEAKED"}]}`

// entries returns n entries of Alice's Observations, every third one of
// Bob's: ~250 bytes each.
func entries(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		who := naivefhir.Alice
		if i%3 == 2 {
			who = naivefhir.Bob
		}
		fmt.Fprintf(&b, `{"fullUrl":"http://up/fhir/Observation/o%d","resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"text":"heart rate"},"subject":{"reference":"Patient/%s"},"note":[{"text":"%s"}]},"search":{"mode":"match"}}`, i, i, who, strings.Repeat("n", 80))
	}
	return b.String()
}

// streamHead is the start of a search set, up to its entries.
const streamHead = `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"http://up/fhir/Observation"}],"entry":[`

// pieces is a handler that writes the given pieces, flushing after each
// (as a proxy copying an upstream does), then returns, or panics with
// http.ErrAbortHandler when abort is set (an upstream that broke off).
func pieces(abort bool, ps ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Header().Set("Location", "http://up/fhir/Patient/p2")
		for _, p := range ps {
			_, _ = io.WriteString(w, p)
			http.NewResponseController(w).Flush()
		}
		if abort {
			panic(http.ErrAbortHandler)
		}
	})
}

// fetch GETs path and reads the whole body, returning the read error
// instead of failing on it.
func (e *env) fetch(t testing.TB, path, tok string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res, body, err
}

// awaitAudit returns the last audit record once there is one: a client
// may read a body of known length before the handler has returned.
func (e *env) awaitAudit(t testing.TB) middleware.AuditRecord {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(e.auditRecords()) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return e.lastAudit(t)
}

// A search set streams: the client gets the same Bundle as when it is
// checked whole, chunked (no Content-Length), without Location.
func TestStreamedCheckMatchesBuffered(t *testing.T) {
	for _, n := range []int{2, 1000} {
		body := streamHead + entries(n) + `],"total":99}`
		var outs [2][]byte
		for i, on := range []bool{false, true} {
			e := newEnv(t, withInner(pieces(false, body[:7], body[7:len(body)/2], body[len(body)/2:])), withMW(middleware.WithStreamedChecks(on)))
			res, out, err := e.fetch(t, streamedPath, e.token("patient/*.rs", naivefhir.Alice))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Empty(t, res.Header.Get("Location"))
			assert.Equal(t, on && n > 2, res.ContentLength < 0, "a large streamed Bundle goes chunked")
			assert.NotContains(t, string(out), `"Patient/`+naivefhir.Bob+`"`)
			rec := e.awaitAudit(t)
			assert.Equal(t, middleware.AuditAllow, rec.Decision)
			assert.Equal(t, n/3, rec.Withheld)
			outs[i] = out
		}
		assert.Equal(t, string(outs[0]), string(outs[1]))
	}
}

// A check that fails after output was sent aborts the response: the
// client gets a read error and no complete Bundle, and the audit record
// says why. A check that fails before anything was sent is a clean 502.
func TestStreamedCheckAborts(t *testing.T) {
	big := streamHead + entries(400) // past the first 32 KiB of output
	for _, tc := range []struct {
		name   string
		h      http.Handler
		reason string
		limit  int64
	}{
		{"second entry", pieces(false, big, `],"entry":[{"resource":`+leakedPatient+`}]}`), "duplicate", 0},
		{"ENTRY", pieces(false, big, `],"ENTRY":[{"resource":`+leakedPatient+`}]}`), "case-variant", 0},
		{"late resourceType", pieces(false, big, `],"resourceType":"Patient"}`), "duplicate", 0},
		{"type history after entries", pieces(false, strings.Replace(big, `"type":"searchset",`, "", 1), `],"type":"history"}`), "history", 0},
		{"broken tail", pieces(false, big, `,{"resource":{"resourceType":"Obs`), "ends early", 0},
		{"invalid entry", pieces(false, big, `,{"resource":}]}`), "not valid JSON", 0},
		{"trailing garbage", pieces(false, big, `]} {"resourceType":"Bundle"}`), "after the Bundle", 0},
		{"upstream broke off", pieces(true, big), "broke off", 0},
		{"oversize entry", pieces(false, big, `,{"resource":{"resourceType":"Observation","id":"x","subject":{"reference":"Patient/p1"},"note":[{"text":"`+strings.Repeat("n", 200<<10)+`"}]}}]}`), "larger than", 150 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []middleware.Option{}
			if tc.limit > 0 {
				opts = append(opts, middleware.WithMaxResponseSize(tc.limit))
			}
			e := newEnv(t, withInner(tc.h), withMW(opts...))
			res, out, err := e.fetch(t, streamedPath, e.token("patient/*.rs", naivefhir.Alice))
			if err == nil {
				require.NotNil(t, res)
				t.Fatalf("the response was not aborted: %d, %d bytes", res.StatusCode, len(out))
			}
			assert.False(t, json.Valid(out), "no complete document")
			assert.NotContains(t, string(out), "LEAKED")
			assert.NotContains(t, string(out), `"Patient/`+naivefhir.Bob+`"`)
			rec := e.lastAudit(t)
			assert.Equal(t, middleware.AuditDeny, rec.Decision)
			assert.Equal(t, middleware.ReasonAborted, rec.ErrorKind)
			assert.Contains(t, rec.Reason, "aborted")
			assert.Contains(t, rec.Reason, tc.reason)
		})
	}
}

// Before any output was sent, a failed check is still an answer: 502,
// nothing of the Bundle.
func TestStreamedCheckRefusesBeforeOutput(t *testing.T) {
	for name, tc := range map[string]struct {
		h      http.Handler
		status int
	}{
		"second entry": {pieces(false, streamHead+entries(3), `],"entry":[{"resource":`+leakedPatient+`}]}`), http.StatusBadGateway},
		"broke off":    {pieces(true, streamHead+entries(3)), http.StatusBadGateway},
		"no Bundle":    {pieces(false, `{"resourceType":"Patient","id":"p1"}`), http.StatusBadGateway},
		// Checked whole, by the rules of a history.
		"history Bundle": {pieces(false, `{"resourceType":"Bundle","type":"history","entry":[{"resource":`+leakedPatient+`}]}`), http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withInner(tc.h))
			res, out, err := e.fetch(t, streamedPath, e.token("patient/*.rs", naivefhir.Alice))
			require.NoError(t, err)
			assert.Equal(t, tc.status, res.StatusCode, "%s", out)
			assert.NotContains(t, string(out), "LEAKED")
			assert.Equal(t, tc.status, e.awaitAudit(t).Status)
		})
	}
}

// Behind httputil.ReverseProxy, as in the gateway: a hostile upstream's
// late duplicate entry aborts the response; a good one streams whole.
func TestStreamedCheckBehindReverseProxy(t *testing.T) {
	good := streamHead + entries(1000) + `]}`
	bad := streamHead + entries(1000) + `],"entry":[{"resource":` + leakedPatient + `}]}`
	var body string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(upstream.Close)
	u, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	e := newEnv(t, withInner(httputil.NewSingleHostReverseProxy(u)))
	tok := e.token("patient/*.rs", naivefhir.Alice)

	body = good
	res, out, err := e.fetch(t, streamedPath, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, json.Valid(out))
	assert.Equal(t, 333, e.lastAudit(t).Withheld)

	// What cannot stream is checked whole: the proxy's writes all count.
	body = `{"resourceType":"Bundle","type":"history","entry":[` + entries(1000) + `]}`
	res, out, err = e.fetch(t, streamedPath, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%.300s", out)
	assert.Equal(t, 333, e.awaitAudit(t).Withheld)
	assert.Positive(t, res.ContentLength, "checked whole")

	body = bad
	_, out, err = e.fetch(t, streamedPath, tok)
	require.Error(t, err)
	assert.False(t, json.Valid(out))
	assert.NotContains(t, string(out), "LEAKED")
	assert.True(t, bytes.HasPrefix(out, []byte(`{"resourceType":"Bundle"`)))
	assert.Equal(t, middleware.ReasonAborted, e.lastAudit(t).ErrorKind)
}

// The check memory budget counts what a streamed check holds (an entry
// and the output not yet sent), not the response: four 2 MB search sets
// in flight at once stream within a 1 MB budget, which one of them alone
// would exhaust when checked whole.
func TestStreamedCheckWithinBudget(t *testing.T) {
	body := streamHead + entries(8000) + `]}` // ~2 MB
	const inFlight = 4
	var arrived sync.WaitGroup
	arrived.Add(inFlight)
	half := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, body[:len(body)/2])
		arrived.Done()
		arrived.Wait() // every response half written at once
		_, _ = io.WriteString(w, body[len(body)/2:])
	})
	e := newEnv(t, withInner(half), withMW(middleware.WithCheckMemoryBudget(1<<20)))
	tok := e.token("patient/*.rs", naivefhir.Alice)
	var done sync.WaitGroup
	for range inFlight {
		done.Add(1)
		go func() {
			defer done.Done()
			res, out, err := e.fetch(t, streamedPath, tok)
			assert.NoError(t, err)
			if assert.NotNil(t, res) {
				assert.Equal(t, http.StatusOK, res.StatusCode)
			}
			assert.True(t, json.Valid(out))
		}()
	}
	done.Wait()

	whole := newEnv(t, withInner(pieces(false, body)), withMW(middleware.WithCheckMemoryBudget(1<<20), middleware.WithStreamedChecks(false)))
	res, _, err := whole.fetch(t, streamedPath, whole.token("patient/*.rs", naivefhir.Alice))
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "checked whole, it does not fit")
}

// headerMaps are the two ways a checked handler's headers reach the
// client: in the response's own map, empty when the middleware starts
// (shared), or in a map of the buffer's own, copied once the check allows
// it, because an outer handler had already set a header.
var headerMaps = []struct {
	name  string
	outer func(http.Handler) http.Handler
}{
	{"shared", nil},
	{"own map", func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Outer", "1")
			next.ServeHTTP(w, r)
		})
	}},
}

// envWithOuter is newEnv, with outer around the middleware when it is
// not nil.
func envWithOuter(t testing.TB, outer func(http.Handler) http.Handler, opts ...envOption) *env {
	if outer != nil {
		opts = append(opts, withOuter(outer))
	}
	return newEnv(t, opts...)
}

// A streamed search set loses its Location and Content-Location (which
// name another patient's resources here) as a buffered one does, whether
// the handler's headers sit in the response's own map or are copied there
// when the output begins, and whether that is while the handler runs (a
// large Bundle) or after it returned (a small one).
func TestStreamedCheckDropsLocations(t *testing.T) {
	for _, hm := range headerMaps {
		for _, n := range []int{3, 1000} {
			t.Run(fmt.Sprintf("%s/%d entries", hm.name, n), func(t *testing.T) {
				body := streamHead + entries(n) + `]}`
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/fhir+json")
					w.Header().Set("Location", "http://up/fhir/Patient/"+naivefhir.Bob)
					w.Header().Set("Content-Location", "http://up/fhir/Observation?subject=Patient/"+naivefhir.Bob)
					w.Header().Set("X-Upstream", "1")
					for i := 0; i < len(body); i += 8192 {
						_, _ = io.WriteString(w, body[i:min(i+8192, len(body))])
					}
				})
				e := envWithOuter(t, hm.outer, withInner(h))
				res, out, err := e.fetch(t, streamedPath, e.token("launch/patient patient/*.rs", naivefhir.Alice))
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, res.StatusCode, "%.300s", out)
				assert.Equal(t, n > 3, res.ContentLength < 0, "a large Bundle streams")
				assert.Empty(t, res.Header.Values("Location"))
				assert.Empty(t, res.Header.Values("Content-Location"))
				assert.Equal(t, "1", res.Header.Get("X-Upstream"), "the server's other headers pass")
				if hm.outer != nil {
					assert.Equal(t, "1", res.Header.Get("X-Outer"))
				}
				assertNothingOfBob(t, res, out)
				assert.Equal(t, n/3, e.awaitAudit(t).Withheld)
			})
		}
	}
}

// trailing is a handler answering body (in pieces, as a proxy copies
// one) with a trailer naming Bob set after it: announced (a Trailer
// header before the body, the value after) or not (under
// http.TrailerPrefix). It holds the header map from the start, as a
// handler may: what it writes there after the body is written into the
// response's own map when the middleware shares it.
func trailing(body string, announced bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/fhir+json")
		if announced {
			h.Set("Trailer", "X-Owner")
		}
		for i := 0; i < len(body); i += 8192 {
			_, _ = io.WriteString(w, body[i:min(i+8192, len(body))])
		}
		if announced {
			h.Set("X-Owner", "Patient/p2 Bob")
		} else {
			h.Set(http.TrailerPrefix+"X-Owner", "Patient/p2 Bob")
		}
	})
}

// A checked search set goes without the server's trailers, which would
// arrive after the check, unchecked: announced or not, from a handler or
// through httputil.ReverseProxy (which copies the upstream's trailers
// into the header map after the body), small (sent once the handler
// returned) or large (sent while it runs), streamed or checked whole,
// with the handler's headers in the response's own map or not.
func TestCheckedSearchsetDropsTrailers(t *testing.T) {
	for _, hm := range headerMaps {
		for _, streamed := range []bool{true, false} {
			for _, n := range []int{3, 1000} {
				for _, announced := range []bool{true, false} {
					for _, proxied := range []bool{false, true} {
						name := fmt.Sprintf("%s/streamed=%v/%d entries/announced=%v/proxied=%v", hm.name, streamed, n, announced, proxied)
						t.Run(name, func(t *testing.T) {
							testDropsTrailers(t, hm.outer, streamed, n, announced, proxied)
						})
					}
				}
			}
		}
	}
}

func testDropsTrailers(t *testing.T, outer func(http.Handler) http.Handler, streamed bool, n int, announced, proxied bool) {
	h := trailing(streamHead+entries(n)+`]}`, announced)
	if proxied {
		upstream := httptest.NewServer(h)
		t.Cleanup(upstream.Close)
		u, err := url.Parse(upstream.URL)
		require.NoError(t, err)
		h = httputil.NewSingleHostReverseProxy(u)
	}
	// What the response's header map holds once the middleware returned:
	// nothing of the trailers either (an outer handler could pass it on).
	left := make(chan []string, 1)
	inspect := func(next http.Handler) http.Handler {
		if outer != nil {
			next = outer(next)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			var keys []string
			for k := range w.Header() {
				if k == "Trailer" || k == "X-Owner" || strings.HasPrefix(k, http.TrailerPrefix) {
					keys = append(keys, k)
				}
			}
			left <- keys
		})
	}
	e := newEnv(t, withOuter(inspect), withInner(h), withMW(middleware.WithStreamedChecks(streamed)))
	res, out, err := e.fetch(t, streamedPath, e.token("launch/patient patient/*.rs", naivefhir.Alice))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%.300s", out)
	assert.Equal(t, streamed && n > 3, res.ContentLength < 0, "only a large streamed Bundle goes chunked")
	assert.Empty(t, res.Trailer, "no trailer, announced or sent")
	assert.Empty(t, res.Header.Values("X-Owner"))
	assertNothingOfBob(t, res, out)
	assert.Equal(t, n/3, e.awaitAudit(t).Withheld)
	select {
	case keys := <-left:
		assert.Empty(t, keys, "trailers left in the response's header map")
	case <-time.After(5 * time.Second):
		t.Fatal("the middleware did not return")
	}
}

// A checked response goes without the server's Link header (RFC 8288),
// which names resources as Location does: here another patient, as a
// naive server echoes into its paging links, which the check removes
// from the Bundle's own link. A Link sent ahead in a 103 Early Hints
// stays in the header map for the final answer, as net/http keeps it;
// the 103 itself never reaches the client of a checked request. Reads,
// streamed and buffered search sets, batches alike; the server's other
// headers pass.
func TestCheckedResponseDropsLink(t *testing.T) {
	link := "<http://up/fhir/Observation?subject=Patient/" + naivefhir.Bob + "&page=2>; rel=next"
	hinted := func(body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("link", link) // case-variant: sent, and read, as Link
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("Content-Type", "application/fhir+json")
			w.Header().Set("X-Upstream", "1")
			for i := 0; i < len(body); i += 8192 {
				_, _ = io.WriteString(w, body[i:min(i+8192, len(body))])
			}
		})
	}
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/x"}}]}`
	for _, c := range []struct {
		name, method, path, body, answer string
	}{
		{"read", http.MethodGet, "/fhir/Observation/x", "", aliceObs},
		{"search of 3", http.MethodGet, streamedPath, "", streamHead + entries(3) + `]}`},
		{"search of 1000", http.MethodGet, streamedPath, "", streamHead + entries(1000) + `]}`},
		{"batch", http.MethodPost, "/fhir", batch, `{"resourceType":"Bundle","type":"batch-response","entry":[{"resource":` + aliceObs + `,"response":{"status":"200 OK"}}]}`},
	} {
		for _, hm := range headerMaps {
			for _, streamed := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/streamed=%v", c.name, hm.name, streamed), func(t *testing.T) {
					e := envWithOuter(t, hm.outer, withInner(hinted(c.answer)), withMW(middleware.WithStreamedChecks(streamed)))
					req, err := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
					require.NoError(t, err)
					req.Header.Set("Authorization", "Bearer "+e.token("launch/patient patient/*.rs", naivefhir.Alice))
					req.Header.Set("Content-Type", "application/fhir+json")
					var early []int
					req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
						Got1xxResponse: func(code int, _ textproto.MIMEHeader) error { early = append(early, code); return nil },
					}))
					res, err := e.srv.Client().Do(req)
					require.NoError(t, err)
					defer res.Body.Close()
					out, err := io.ReadAll(res.Body)
					require.NoError(t, err)
					require.Equal(t, http.StatusOK, res.StatusCode, "%.300s", out)
					assert.Empty(t, early, "informational answers of a checked request")
					assert.Empty(t, res.Header.Values("Link"))
					assert.Equal(t, "1", res.Header.Get("X-Upstream"), "the server's other headers pass")
					assertNothingOfBob(t, res, out)
				})
			}
		}
	}
}
