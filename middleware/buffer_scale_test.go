package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
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

// largeBundle is a search-set of n Observations of Alice, ~100 bytes each.
func largeBundle(n int) string {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"searchset","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"resource":{"resourceType":"Observation","id":"o` + strings.Repeat("x", 8) + `","subject":{"reference":"Patient/` + naivefhir.Alice + `"}}}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// A checked response over the limit behind httputil.ReverseProxy: the
// proxy's copy to the middleware's buffer fails, and the proxy aborts the
// handler with http.ErrAbortHandler. The client still gets the documented
// 502 OperationOutcome, and the refusal is audited.
func TestOverLimitBehindReverseProxy(t *testing.T) {
	body := largeBundle(2000)
	for _, declared := range []bool{true, false} {
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+json")
			if !declared {
				w.Header().Set("Transfer-Encoding", "chunked")
			}
			for i := 0; i < len(body); i += 4096 {
				_, _ = io.WriteString(w, body[i:min(i+4096, len(body))])
			}
		}))
		t.Cleanup(upstream.Close)
		u, err := url.Parse(upstream.URL)
		require.NoError(t, err)
		proxy := httputil.NewSingleHostReverseProxy(u)
		// Checked whole (a streamed check aborts instead: TestStreamedCheckAborts).
		e := newEnv(t, withInner(proxy), withMW(middleware.WithMaxResponseSize(int64(len(body)/2)), middleware.WithStreamedChecks(false)))
		// _include: the response must be checked.
		res, out := e.get(t, "/fhir/Observation?_include=Observation:performer", e.token("patient/*.rs", naivefhir.Alice))
		require.Equal(t, http.StatusBadGateway, res.StatusCode, "declared length %v: %d bytes", declared, len(out))
		assert.Equal(t, "too-costly", parseOutcome(t, out).Issue[0].Code)
		rec := e.lastAudit(t)
		assert.Equal(t, http.StatusBadGateway, rec.Status)
		assert.Contains(t, rec.Reason, "larger than")
	}
}

// When the memory budget for checks is spent, a checked request waits
// briefly and then gets 503 with Retry-After; once the memory is given
// back, requests pass again.
func TestCheckMemoryBudgetExhausted(t *testing.T) {
	// A patient-context read is checked: ~30 KB, a 32 KiB buffer.
	body := func(id string) string {
		return `{"resourceType":"Observation","id":"` + id + `","subject":{"reference":"Patient/` + naivefhir.Alice + `"},"note":[{"text":"` + strings.Repeat("n", 30000) + `"}]}`
	}
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	holding := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		_, _ = io.WriteString(w, body(id))
		if id == "hold" {
			close(holding)
			<-release
		}
	})
	e := newEnv(t, withInner(slow), withMW(middleware.WithCheckMemoryBudget(48<<10)))
	tok := e.token("patient/*.rs", naivefhir.Alice)

	first := make(chan int, 1)
	go func() {
		res, _ := e.get(t, "/fhir/Observation/hold", tok)
		first <- res.StatusCode
	}()
	select { // the first check holds 32 KiB of the 48
	case <-holding:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the handler")
	}

	start := time.Now()
	res, out := e.get(t, "/fhir/Observation/o1", tok)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "%s", out)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "waited for room first")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	assert.Equal(t, "transient", parseOutcome(t, out).Issue[0].Code)
	assert.Equal(t, http.StatusServiceUnavailable, e.lastAudit(t).Status)
	assert.NotContains(t, string(out), "nnnn", "nothing of the response leaks")

	once.Do(func() { close(release) })
	require.Equal(t, http.StatusOK, <-first)
	res, out = e.get(t, "/fhir/Observation/o1", tok)
	require.Equal(t, http.StatusOK, res.StatusCode, "room again: %s", out)
}

func TestCheckMemoryBudgetOption(t *testing.T) {
	_, err := middleware.New(nil, nil, middleware.WithCheckMemoryBudget(10))
	require.Error(t, err)
}

// A handler that aborts mid-response (httputil.ReverseProxy does when the
// upstream's body breaks off) leaves an incomplete response: 502, never
// the part written, and the refusal is audited. Other panics are not
// swallowed.
func TestCheckedHandlerAborts(t *testing.T) {
	aborting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/`+naivefhir.Alice+`"},"note":[{"text":"partial`)
		panic(http.ErrAbortHandler)
	})
	e := newEnv(t, withInner(aborting))
	res, out := e.get(t, "/fhir/Observation/o1", e.token("patient/*.rs", naivefhir.Alice))
	require.Equal(t, http.StatusBadGateway, res.StatusCode, "%s", out)
	assert.NotContains(t, string(out), "partial")
	assert.Equal(t, http.StatusBadGateway, e.lastAudit(t).Status)
}
