package middleware_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/middleware"
)

// storedServer answers the stored-version reads of Observation/o{i} with
// Patient 123's Observation, or Patient 456's for the entries in
// foreign (which fails the check), after read(i) returns; and a batch or
// transaction with a 200 entry per entry. It counts the reads running at
// once.
type storedServer struct {
	foreign map[int]bool
	read    func(ctx context.Context, i int) // nil: answer at once

	reads, inFlight, peak atomic.Int64
}

func (s *storedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/fhir+json")
	if r.Method != http.MethodGet {
		body, _ := io.ReadAll(r.Body)
		n := bytes.Count(body, []byte(`"request":`))
		_, _ = io.WriteString(w, `{"resourceType":"Bundle","type":"batch-response","entry":[`+
			strings.TrimSuffix(strings.Repeat(`{"response":{"status":"200 OK"}},`, n), ",")+`]}`)
		return
	}
	s.reads.Add(1)
	now := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for p := s.peak.Load(); now > p && !s.peak.CompareAndSwap(p, now); p = s.peak.Load() {
	}
	i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/fhir/Observation/o"))
	if s.read != nil {
		s.read(r.Context(), i)
	}
	if r.Context().Err() != nil { // as a server whose read was cancelled
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	patient := "123"
	if s.foreign[i] {
		patient = "456"
	}
	w.Header().Set("ETag", `W/"1"`)
	_, _ = fmt.Fprintf(w, `{"resourceType":"Observation","id":"o%d","meta":{"versionId":"1"},"status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/%s"}}`, i, patient)
}

// putBundle is a batch or transaction of n updates of Patient 123's
// Observations o0 ... o{n-1}: a stored-version read each.
func putBundle(typ string, n int) string {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"` + typ + `","entry":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"resource":{"resourceType":"Observation","id":"o%d","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/123"}},"request":{"method":"PUT","url":"Observation/o%d"}}`, i, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

func postBundle(t *testing.T, e *env, body string) (*http.Response, []byte) {
	t.Helper()
	h := bearer(e.token("patient/*.cruds", "123"))
	h.Set("Content-Type", "application/fhir+json")
	return e.request(t, http.MethodPost, "/fhir", h, body)
}

// The stored-version reads of a Bundle run storedReadsInFlight at a time,
// never more: each read waits until that many are running.
func TestBundleStoredReadsBounded(t *testing.T) {
	srv := &storedServer{}
	srv.read = func(context.Context, int) {
		deadline := time.Now().Add(5 * time.Second)
		for srv.peak.Load() < middleware.StoredReadsInFlight && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	e := newEnv(t, withInner(srv))
	res, body := postBundle(t, e, putBundle("batch", 100))
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	assert.Len(t, parseBundle(t, body).Entry, 100)
	assert.EqualValues(t, 100, srv.reads.Load())
	assert.EqualValues(t, middleware.StoredReadsInFlight, srv.peak.Load(), "reads running at once")
}

// A slow server's reads overlap: 100 reads of 20 ms take much less than
// the 2 s they take one after another.
func TestBundleStoredReadsOverlap(t *testing.T) {
	const delay = 20 * time.Millisecond
	srv := &storedServer{read: func(context.Context, int) { time.Sleep(delay) }}
	e := newEnv(t, withInner(srv))
	start := time.Now()
	res, body := postBundle(t, e, putBundle("transaction", 100))
	elapsed := time.Since(start)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	t.Logf("100 reads of %v: %v (one after another: %v)", delay, elapsed, 100*delay)
	assert.Less(t, elapsed, 100*delay, "the reads did not overlap")
	assert.Greater(t, srv.peak.Load(), int64(1))
}

// In a batch each entry whose stored version fails its check is withheld
// in its place, whatever the order the reads finish in; the others reach
// the server.
func TestBundleStoredFailuresInABatch(t *testing.T) {
	for _, failing := range [][]int{{0}, {19}, {7}, {0, 7, 19}, {3, 4, 5, 6, 7, 8, 9, 10, 11}} {
		srv := &storedServer{foreign: map[int]bool{}, read: laterEntriesFirst}
		for _, i := range failing {
			srv.foreign[i] = true
		}
		e := newEnv(t, withInner(srv))
		res, body := postBundle(t, e, putBundle("batch", 20))
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
		b := parseBundle(t, body)
		require.Len(t, b.Entry, 20)
		for i, entry := range b.Entry {
			require.NotNil(t, entry.Response, "entry %d", i)
			if srv.foreign[i] { // another patient's: hidden, as if missing
				assert.Equal(t, "404 Not Found", entry.Response.Status, "failing %v, entry %d", failing, i)
			} else {
				assert.Equal(t, "200 OK", entry.Response.Status, "failing %v, entry %d", failing, i)
			}
		}
	}
}

// laterEntriesFirst delays the read of entry i the more the lower i is,
// so that reads of later entries finish first (or until the read is
// cancelled).
func laterEntriesFirst(ctx context.Context, i int) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(20-min(i, 20)) * time.Millisecond):
	}
}

// A transaction is refused for its lowest-numbered failing entry, however
// the reads interleave.
func TestBundleStoredFailuresInATransaction(t *testing.T) {
	for _, failing := range [][]int{{0}, {19}, {7, 19}, {3, 4}, {12, 2, 15}} {
		srv := &storedServer{foreign: map[int]bool{}, read: laterEntriesFirst}
		lowest := failing[0]
		for _, i := range failing {
			srv.foreign[i] = true
			lowest = min(lowest, i)
		}
		e := newEnv(t, withInner(srv))
		for range 3 {
			res, body := postBundle(t, e, putBundle("transaction", 20))
			require.Equal(t, http.StatusForbidden, res.StatusCode, "%s", body)
			o := parseOutcome(t, body)
			assert.Contains(t, o.Issue[0].Diagnostics, fmt.Sprintf("transaction refused: entry %d: ", lowest), "failing %v", failing)
		}
	}
}

// Once a transaction is refused, the reads of later entries still
// running are cancelled, and no more start.
func TestBundleStoredReadsCancelled(t *testing.T) {
	var cancelled, timedOut atomic.Int64
	srv := &storedServer{foreign: map[int]bool{0: true}}
	srv.read = func(ctx context.Context, i int) {
		if i == 0 {
			time.Sleep(10 * time.Millisecond) // let the others start
			return
		}
		select {
		case <-ctx.Done():
			cancelled.Add(1)
		case <-time.After(10 * time.Second):
			timedOut.Add(1)
		}
	}
	e := newEnv(t, withInner(srv))
	res, body := postBundle(t, e, putBundle("transaction", 100))
	require.Equal(t, http.StatusForbidden, res.StatusCode, "%s", body)
	assert.Contains(t, parseOutcome(t, body).Issue[0].Diagnostics, "transaction refused: entry 0: ")
	assert.Zero(t, timedOut.Load())
	assert.EqualValues(t, srv.reads.Load()-1, cancelled.Load(), "every read but the failing one cancelled")
	assert.LessOrEqual(t, srv.reads.Load(), int64(middleware.StoredReadsInFlight), "no read started after the refusal")
}

// A panic of the wrapped handler during a stored-version read reaches the
// request's goroutine, as it would from a read made there (net/http
// recovers it there; on another goroutine it would end the process).
func TestBundleStoredReadPanics(t *testing.T) {
	srv := &storedServer{read: func(_ context.Context, i int) {
		if i == 5 {
			panic("read failed")
		}
	}}
	e := newEnv(t, withInner(srv))
	mw, err := middleware.New(e.auth, e.policy)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/fhir", strings.NewReader(putBundle("batch", 20)))
	r.Header.Set("Authorization", "Bearer "+e.token("patient/*.cruds", "123"))
	r.Header.Set("Content-Type", "application/fhir+json")
	var got any
	func() {
		defer func() { got = recover() }()
		mw.Wrap(srv).ServeHTTP(httptest.NewRecorder(), r)
	}()
	assert.Equal(t, "read failed", got)
}
