package middleware_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// Request bodies the middleware reads to decide a write are held in memory
// until the request is over, as the buffers of checked responses are: they
// count in the same check-memory budget. Concurrent clients each sending a
// body at the size limit get 503 with Retry-After once the budget is
// spent, instead of all being held at once.
func TestRequestBodiesCountInCheckMemoryBudget(t *testing.T) {
	const (
		clients = 8
		budget  = 1 << 20
	)
	body := `{"resourceType":"Observation","subject":{"reference":"Patient/` + naivefhir.Alice +
		`"},"note":[{"text":"` + strings.Repeat("n", 300<<10) + `"}]}`
	inner, inside, release := holdingHandler(t, http.StatusCreated)
	e := newEnv(t, withInner(inner), withMW(middleware.WithCheckMemoryBudget(budget)))
	tok := e.token("patient/Observation.c", naivefhir.Alice)
	hdr := bearer(tok)
	hdr.Set("Content-Type", "application/fhir+json")

	var refused atomic.Int32
	var wg sync.WaitGroup
	statuses := make(chan int, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, out := e.request(t, http.MethodPost, "/fhir/Observation", hdr, body)
			statuses <- res.StatusCode
			if res.StatusCode == http.StatusServiceUnavailable {
				assert.NotEmpty(t, res.Header.Get("Retry-After"))
				assert.Equal(t, "transient", parseOutcome(t, out).Issue[0].Code)
				refused.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return inside.Load()+refused.Load() == clients },
		10*time.Second, 5*time.Millisecond, "inside %d, refused %d", inside.Load(), refused.Load())
	held := int64(inside.Load()) * int64(len(body))
	assert.LessOrEqual(t, held, int64(budget), "%d bodies of %d bytes held at once", inside.Load(), len(body))
	assert.Positive(t, inside.Load(), "some requests must get through")
	release()
	wg.Wait()
	close(statuses)
	for s := range statuses {
		assert.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, s)
	}

	// Once the bodies are given back, a write passes again.
	res, _ := e.request(t, http.MethodPost, "/fhir/Observation", hdr, body)
	assert.Equal(t, http.StatusCreated, res.StatusCode)
}

// A form body is read before the token is known (to look for a token in
// it): clients without a token that send large form bodies slowly hold
// their bytes in the same budget, and those that find it spent are
// answered 503 rather than held.
func TestUnauthenticatedFormBodiesCountInCheckMemoryBudget(t *testing.T) {
	const clients = 5
	e := newEnv(t, withMW(middleware.WithCheckMemoryBudget(1<<20)))
	chunk := strings.Repeat("a", 300<<10)
	statuses := make(chan int, clients)
	var writers []*io.PipeWriter
	t.Cleanup(func() {
		for _, w := range writers {
			_ = w.Close()
		}
	})
	for range clients {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/fhir/Patient/_search", pr)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		go func() {
			res, err := e.srv.Client().Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode == http.StatusServiceUnavailable {
				assert.NotEmpty(t, res.Header.Get("Retry-After"))
			}
			statuses <- res.StatusCode
		}()
		// The first part of the body, then nothing: the rest never comes
		// while the others are sent.
		go func() { _, _ = pw.Write([]byte("name=" + chunk)) }()
	}
	select {
	case s := <-statuses:
		assert.Equal(t, http.StatusServiceUnavailable, s)
	case <-time.After(5 * time.Second):
		t.Fatal("every stalled form body is held: none was refused")
	}
}

// A request refused from its headers alone, sent with "Expect:
// 100-continue": the refusal comes at once, without a 100 Continue and
// without waiting for a body the client has not sent.
func TestExpectContinueRefusedWithoutReadingBody(t *testing.T) {
	e := newEnv(t)
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(3*time.Second)))
	_, err = io.WriteString(c, "POST /fhir/Observation HTTP/1.1\r\nHost: fhir.test\r\n"+
		"Content-Type: application/fhir+json\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "no answer before the body")
	defer res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

// A batch the middleware takes apart (here: a search entry it narrows)
// is forwarded as a copy of the body, held as long as the body: both
// count in the budget.
func TestReworkedBundleCopyCountsInCheckMemoryBudget(t *testing.T) {
	const (
		clients = 6
		budget  = 1 << 20
	)
	body := `{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","subject":{"reference":"Patient/` + naivefhir.Alice +
		`"},"note":[{"text":"` + strings.Repeat("n", 300<<10) + `"}]}},` +
		`{"request":{"method":"GET","url":"Observation?code=x"}}]}`
	inner, inside, release := holdingHandler(t, http.StatusInternalServerError)
	e := newEnv(t, withInner(inner), withMW(middleware.WithCheckMemoryBudget(budget)))
	hdr := bearer(e.token("patient/Observation.crs", naivefhir.Alice))
	hdr.Set("Content-Type", "application/fhir+json")
	var refused atomic.Int32
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			res, _ := e.request(t, http.MethodPost, "/fhir", hdr, body)
			if res.StatusCode == http.StatusServiceUnavailable {
				refused.Add(1)
			}
		})
	}
	require.Eventually(t, func() bool { return inside.Load()+refused.Load() == clients },
		10*time.Second, 5*time.Millisecond, "inside %d, refused %d", inside.Load(), refused.Load())
	assert.LessOrEqual(t, 2*int64(inside.Load())*int64(len(body)), int64(budget),
		"%d Bundles of %d bytes and their copies held at once", inside.Load(), len(body))
	assert.Positive(t, inside.Load())
	release()
	wg.Wait()
}

// holdingHandler reads each request's body, counts the request in inside
// and holds it until release is called (at the latest when the test ends),
// then answers status.
func holdingHandler(t *testing.T, status int) (h http.Handler, inside *atomic.Int32, release func()) {
	held := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	inside = new(atomic.Int32)
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		inside.Add(1)
		<-held
		w.WriteHeader(status)
	})
	return h, inside, release
}
