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

// awaitAudits waits until there are n audit records.
func (e *env) awaitAudits(t testing.TB, n int) []middleware.AuditRecord {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(e.auditRecords()) < n && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	a := e.auditRecords()
	require.Len(t, a, n, "audit records")
	return a
}

// An allowed request whose handler aborts (httputil.ReverseProxy panics
// with http.ErrAbortHandler when the client goes away in the middle of
// the body, or the upstream breaks off) still happened: the upstream ran
// it and the client has part of the answer. It is audited and counted,
// and the record says the response was cut off; the panic goes on to
// net/http.
func TestAbortedHandlerIsAudited(t *testing.T) {
	aborting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","note":[{"text":"partial`)
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	})
	for _, c := range []struct{ method, scope string }{
		{http.MethodGet, "user/*.rs"},
		{http.MethodDelete, "user/*.cruds"},
	} {
		var mu sync.Mutex
		var metrics []middleware.DecisionMetric
		e := newEnv(t, withInner(aborting), withMW(middleware.WithMetrics(func(d middleware.DecisionMetric) {
			mu.Lock()
			metrics = append(metrics, d)
			mu.Unlock()
		})))
		req, err := http.NewRequest(c.method, e.srv.URL+"/fhir/Observation/o1", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.token(c.scope, ""))
		if res, err := e.srv.Client().Do(req); err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			require.Error(t, err, "the client sees the response cut off")
		}
		a := e.awaitAudits(t, 1)[0]
		assert.Equal(t, c.method, a.Method)
		assert.Equal(t, "/fhir/Observation/o1", a.Path)
		assert.Equal(t, middleware.AuditAllow, a.Decision)
		assert.Equal(t, "app-1", a.ClientID)
		assert.Contains(t, a.Reason, "cut off")
		mu.Lock()
		assert.Len(t, metrics, 1, "counted")
		mu.Unlock()
	}
}

// Behind httputil.ReverseProxy, a client that reads the start of a large
// response and hangs up leaves no request unaudited.
func TestClientHangupBehindReverseProxyIsAudited(t *testing.T) {
	chunk := strings.Repeat("x", 64<<10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, `{"resourceType":"Binary","id":"b1","data":"`)
		for range 1024 { // 64 MiB: more than the sockets buffer
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `"}`)
	}))
	t.Cleanup(upstream.Close)
	u, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = nil
	e := newEnv(t, withInner(proxy))
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/fhir/Binary/b1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token("user/*.rs", ""))
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	_, err = io.ReadFull(res.Body, make([]byte, 4096))
	require.NoError(t, err)
	res.Body.Close() // hang up with most of the body unread
	a := e.awaitAudits(t, 1)[0]
	assert.Equal(t, "/fhir/Binary/b1", a.Path)
	assert.Equal(t, middleware.AuditAllow, a.Decision)
	assert.Contains(t, a.Reason, "cut off")
}

// recoverer answers 500 when next panics (other than with
// http.ErrAbortHandler), as routers' recovery handlers do: with the
// response's header map as it then stands.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// The handler of a checked response panics after writing Bob's data and
// headers naming him, and a recoverer outside answers: none of the
// handler's headers or trailers goes with that answer, checked as none
// of them was (a withheld read's ETag would tell that it exists). A
// streamed Bundle whose checked headers went out before the panic loses
// the trailer set after its body.
func TestCheckedHandlerPanicLeavesNoHeaders(t *testing.T) {
	for _, c := range []struct {
		name, path, body string
		streamed         bool
	}{
		{"read", "/fhir/Observation/x", bobObs, true},
		{"search of 3", streamedPath, streamHead + entries(3) + `]}`, true},
		{"search of 3, buffered", streamedPath, streamHead + entries(3) + `]}`, false},
		{"search of 1000", streamedPath, streamHead + entries(1000) + `]}`, true},
		{"search of 1000, buffered", streamedPath, streamHead + entries(1000) + `]}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/fhir+json")
				w.Header().Set("Location", "http://up/fhir/Patient/p2")
				_, _ = io.WriteString(w, c.body)
				w.Header().Set("Etag", `W/"obs-p2"`)
				w.Header().Set(http.TrailerPrefix+"X-Owner", "Patient/p2 Bob")
				panic("the server failed")
			})
			e := newEnv(t, withInner(h), withOuter(recoverer), withMW(middleware.WithStreamedChecks(c.streamed)))
			res, out, err := e.fetch(t, c.path, e.token("launch/patient patient/*.rs", naivefhir.Alice))
			require.NoError(t, err)
			assertNothingOfBob(t, res, out)
			if c.streamed && strings.Contains(c.name, "1000") {
				assert.Equal(t, http.StatusOK, res.StatusCode, "the headers went out before the panic")
			} else {
				assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
				assert.Empty(t, out)
			}
			assert.Contains(t, e.awaitAudits(t, 1)[0].Reason, "cut off")
		})
	}
}
