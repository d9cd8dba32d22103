package middleware_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// Checked responses are buffered in pooled memory. A handler that keeps
// its ResponseWriter and writes after ServeHTTP returned (which net/http
// forbids) must get an error, and its bytes must never reach another
// request's response.
func TestLateWritesToACheckedResponseFail(t *testing.T) {
	var mu sync.Mutex
	var kept []http.ResponseWriter
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		kept = append(kept, w)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, aliceObs)
	})
	e := newEnv(t, withInner(inner))
	tok := e.token("patient/*.rs", naivefhir.Alice)
	res, body := e.get(t, "/fhir/Observation/x", tok)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	assert.JSONEq(t, aliceObs, string(body))

	mu.Lock()
	late := kept[0]
	mu.Unlock()
	n, err := io.WriteString(late, bob)
	assert.Error(t, err, "a write after the response was sent")
	assert.Zero(t, n)
	_, err = late.Write([]byte(bob))
	assert.Error(t, err)

	for range 20 { // the pool hands the memory on: nothing of Bob in it
		res, body := e.get(t, "/fhir/Observation/x", tok)
		require.Equal(t, 200, res.StatusCode)
		assert.JSONEq(t, aliceObs, string(body))
		assert.False(t, strings.Contains(string(body), "p2"))
	}
}

// Checked responses of every size (pooled memory grows, and is reused by
// smaller ones) come back whole, one after the other and concurrently.
func TestCheckedResponsesOfManySizes(t *testing.T) {
	obs := func(n int) string {
		return `{"resourceType":"Observation","id":"s` + itoa(n) + `","status":"final","code":{"text":"` + strings.Repeat("t", n) +
			`"},"subject":{"reference":"Patient/p1"}}`
	}
	sizes := []int{0, 10, 5000, 300 << 10, 100, 70 << 10, 1}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := 0
		for _, c := range strings.TrimPrefix(r.URL.Path, "/fhir/Observation/s") {
			n = n*10 + int(c-'0')
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		body := obs(n)
		for len(body) > 0 { // in pieces, as encoders write
			k := min(len(body), 1000)
			_, _ = io.WriteString(w, body[:k])
			body = body[k:]
		}
	})
	e := newEnv(t, withInner(inner))
	tok := e.token("patient/*.rs", naivefhir.Alice)
	var wg sync.WaitGroup
	for round := range 3 {
		for _, n := range sizes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, body := e.get(t, "/fhir/Observation/s"+itoa(n), tok)
				assert.Equal(t, 200, res.StatusCode, "round %d size %d", round, n)
				assert.True(t, obs(n) == string(body), "round %d size %d: %.200s", round, n, body)
			}()
		}
		wg.Wait()
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
