package middleware_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// aliceObservation is a create body of Alice's, n bytes long or a little
// more.
func aliceObservation(n int) string {
	return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + naivefhir.Alice +
		`"},"note":[{"text":"` + strings.Repeat("n", n) + `"}]}`
}

// A client that sends most of a body the middleware must judge and then
// dribbles the rest, a byte at a time, is answered 408 once the body read
// timeout has passed, and the connection is closed; what it had sent goes
// back to the check-memory budget at once, so that another client's body
// of the same size fits in it again.
func TestSlowRequestBodyTimesOut(t *testing.T) {
	const budget = 64 << 10
	e := newEnv(t, withMW(middleware.WithBodyReadTimeout(300*time.Millisecond), middleware.WithCheckMemoryBudget(budget)))
	tok := e.token("patient/Observation.c", naivefhir.Alice)
	body := aliceObservation(40 << 10)

	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintf(conn, "POST /fhir/Observation HTTP/1.1\r\nHost: fhir.test\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s", tok, len(body), body[:len(body)-100])
	require.NoError(t, err)
	answered := make(chan struct{})
	go func() {
		// A byte every 50 ms: the 100 left would take 5 s.
		for i := len(body) - 100; i < len(body); i++ {
			select {
			case <-answered:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	close(answered)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	assert.Less(t, time.Since(start), 3*time.Second, "answered at the timeout, not when the body was done")
	require.Equal(t, http.StatusRequestTimeout, res.StatusCode, "body: %s", b)
	assert.Equal(t, "timeout", parseOutcome(t, b).Issue[0].Code)
	assert.True(t, res.Close, "the connection is closed after the answer")
	rec := e.lastAudit(t)
	assert.Equal(t, http.StatusRequestTimeout, rec.Status)

	h := bearer(tok)
	h.Set("Content-Type", "application/fhir+json")
	res2, b2 := e.request(t, http.MethodPost, "/fhir/Observation", h, body)
	assert.Equal(t, http.StatusCreated, res2.StatusCode, "the slow body's budget was given back: %s", b2)
}

// The deadline covers the reading of the body, not the wrapped handler's
// work after it: a handler slower than the timeout is not cut short (a
// read deadline left on the connection would end net/http's background
// read and cancel the request's context).
func TestBodyReadTimeoutEndsWithTheBody(t *testing.T) {
	const timeout = 100 * time.Millisecond
	ctxErr := make(chan error, 1)
	e := newEnv(t, withMW(middleware.WithBodyReadTimeout(timeout)), withInner(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(4 * timeout):
		}
		ctxErr <- r.Context().Err()
		w.WriteHeader(http.StatusCreated)
	})))
	h := bearer(e.token("patient/Observation.c", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	res, body := e.request(t, http.MethodPost, "/fhir/Observation", h, aliceObservation(10))
	assert.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", body)
	assert.NoError(t, <-ctxErr, "the request's context lives on after the body was read")
}

func TestWithBodyReadTimeoutMustBePositive(t *testing.T) {
	e := newEnv(t)
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := middleware.New(e.ver, e.policy, middleware.WithBodyReadTimeout(d))
		assert.Error(t, err, "%v", d)
	}
}

// A body of declared length counts whole in the check-memory budget from
// its first read (the reader makes room for all of it then), not byte by
// byte as it arrives: a client that declares a large body and sends it
// slowly holds its declared size, so that the next such client finds
// the budget spent and is answered 503 at once, instead of both holding
// memory the budget never saw.
func TestDeclaredBodyCountsWholeInBudget(t *testing.T) {
	const budget = 1 << 20
	e := newEnv(t, withMW(middleware.WithCheckMemoryBudget(budget)))
	tok := e.token("patient/Observation.c", naivefhir.Alice)
	stall := func() net.Conn {
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		_, err = fmt.Fprintf(conn, "POST /fhir/Observation HTTP/1.1\r\nHost: fhir.test\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n{\"resourceType\"", tok, 700<<10)
		require.NoError(t, err)
		return conn
	}
	stall()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn := stall()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "body: %s", b)
			assert.NotEmpty(t, res.Header.Get("Retry-After"))
			return
		}
		require.True(t, time.Now().Before(deadline), "two stalled bodies of %d declared bytes are held in a budget of %d", 700<<10, budget)
	}
}
