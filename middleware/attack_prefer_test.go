package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// preferServer is the naive FHIR server behind a record of what reaches
// it (how many requests, the Prefer values of the last one). It answers
// a request that asks for respond-async (a preference of that name in
// a comma-separated list, its case aside, parameters after ";"), with 202
// Accepted and the polling URL of the result in Content-Location.
type preferServer struct {
	next http.Handler

	mu     sync.Mutex
	n      int
	prefer []string
}

func newPreferServer() *preferServer {
	return &preferServer{next: naivefhir.New("/fhir", naivefhir.Sample()...)}
}

func (s *preferServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n++
	s.prefer = slices.Clone(r.Header.Values("Prefer"))
	s.mu.Unlock()
	for _, v := range r.Header.Values("Prefer") {
		for part := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(part, ";")
			name, _, _ = strings.Cut(name, "=")
			if strings.EqualFold(strings.TrimSpace(name), "respond-async") {
				w.Header().Set("Content-Location", "http://fhir.test/fhir/_async/77")
				w.WriteHeader(http.StatusAccepted)
				return
			}
		}
	}
	s.next.ServeHTTP(w, r)
}

// seen returns the number of requests that reached the server and the
// Prefer values of the last one.
func (s *preferServer) seen() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.prefer
}

// asyncForms are Prefer headers (with the field name as a client may
// write it) that ask for respond-async: every form RFC 7240 allows, and
// those a lax reader takes for it (HAPI FHIR splits on ";" as well as
// ",", without regard to quotes).
var asyncForms = []struct {
	name string
	h    http.Header
}{
	{"plain", http.Header{"Prefer": {"respond-async"}}},
	{"upper-case field name", http.Header{"PREFER": {"respond-async"}}},
	{"lower-case field name", http.Header{"prefer": {"respond-async"}}},
	{"upper-case token", http.Header{"Prefer": {"RESPOND-ASYNC"}}},
	{"mixed-case token", http.Header{"Prefer": {"Respond-Async"}}},
	{"wait parameter", http.Header{"Prefer": {"respond-async;wait=10"}}},
	{"spaced parameter", http.Header{"Prefer": {"respond-async ; wait = 10"}}},
	{"quoted parameter", http.Header{"Prefer": {`respond-async; note="a, b; c"`}}},
	{"with a value", http.Header{"Prefer": {`respond-async="true"`}}},
	{"after return", http.Header{"Prefer": {"return=minimal, respond-async"}}},
	{"after return, no space", http.Header{"Prefer": {"return=minimal,respond-async;wait=5"}}},
	{"after a quoted value", http.Header{"Prefer": {`handling="lenient, strict", respond-async`}}},
	{"between tabs", http.Header{"Prefer": {"return=minimal,\trespond-async\t,wait=1"}}},
	{"empty elements", http.Header{"Prefer": {", ,respond-async,,"}}},
	{"second header", http.Header{"Prefer": {"return=minimal", "respond-async"}}},
	{"second header, other case", http.Header{"Prefer": {"return=minimal"}, "PREFER": {"wait=3, respond-async"}}},
	{"as a parameter, as HAPI reads it", http.Header{"Prefer": {"return=minimal; respond-async"}}},
	{"in a quoted value, as a lax reader finds it", http.Header{"Prefer": {`handling="x,respond-async"`}}},
}

// Prefer: respond-async on a request whose response must be checked is
// refused before anything reaches the server (the answer would be a
// polling URL the check never sees): 400 not-supported, audited as a
// refusal. That holds for a read, a constrained search, a search
// operation, and a batch with one entry whose response is checked beside
// one that is only narrowed, for every form of the header.
func TestAttackPreferAsyncRefusedUpFront(t *testing.T) {
	srv := newPreferServer()
	e := newEnv(t, withInner(srv))
	ptok := e.token("patient/*.rs", naivefhir.Alice)
	utok := e.token("user/Observation.rs?category=laboratory", "")
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation?code=8310-5"}},{"request":{"method":"GET","url":"Observation/obs-p1-lab"}}]}`
	requests := []struct{ name, method, path, body, tok string }{
		{"read", "GET", "/fhir/Observation/obs-p1-lab", "", ptok},
		{"constrained search", "GET", "/fhir/Observation?code=x", "", utok},
		{"everything", "GET", "/fhir/Patient/p1/$everything", "", ptok},
		{"batch with one checked entry", "POST", "/fhir", batch, ptok},
	}
	for _, rq := range requests {
		for _, f := range asyncForms {
			t.Run(rq.name+"/"+f.name, func(t *testing.T) {
				h := bearer(rq.tok)
				for k, v := range f.h {
					h[k] = v
				}
				if rq.body != "" {
					h.Set("Content-Type", "application/fhir+json")
				}
				before, _ := srv.seen()
				res, body := e.request(t, rq.method, rq.path, h, rq.body)
				after, _ := srv.seen()
				assert.Equal(t, before, after, "the request reached the server")
				require.Equal(t, http.StatusBadRequest, res.StatusCode, "body: %s", body)
				assert.Empty(t, res.Header.Get("Content-Location"))
				assert.Contains(t, res.Header.Get("WWW-Authenticate"), `error="invalid_request"`)
				o := parseOutcome(t, body)
				assert.Equal(t, "not-supported", o.Issue[0].Code)
				assert.Contains(t, o.Issue[0].Diagnostics, "respond-async")
				assert.Contains(t, o.Issue[0].Diagnostics, "checked")
				a := e.lastAudit(t)
				assert.Equal(t, middleware.AuditDeny, a.Decision)
				assert.Equal(t, http.StatusBadRequest, a.Status)
				assert.Equal(t, middleware.ReasonInvalidRequest, a.ErrorKind)
				assert.Contains(t, a.Reason, "respond-async")
			})
		}
	}
}

// The header map of a request made in-process (not parsed by net/http)
// may hold Prefer under a name that is not canonical; it counts all the
// same.
func TestAttackPreferAsyncUncanonicalName(t *testing.T) {
	srv := newPreferServer()
	var secured http.Handler
	e := newEnv(t, withInner(srv), withOuter(func(h http.Handler) http.Handler { secured = h; return h }))
	tok := e.token("patient/*.rs", naivefhir.Alice)
	for _, name := range []string{"prefer", "PREFER", "pReFeR"} {
		r := httptest.NewRequest(http.MethodGet, "/fhir/Observation/obs-p1-lab", nil)
		r.Header = http.Header{"Authorization": {"Bearer " + tok}, name: {"return=minimal, respond-async;wait=1"}}
		w := httptest.NewRecorder()
		secured.ServeHTTP(w, r)
		n, _ := srv.seen()
		assert.Zero(t, n, "%s: the request reached the server", name)
		assert.Equal(t, http.StatusBadRequest, w.Code, "%s: %s", name, w.Body)
	}
}

// Preferences that merely contain the name, or carry it in a quoted
// value, do not ask for respond-async: a checked read with them is
// answered (and checked) as usual, the header passed on unchanged.
func TestPreferNotAsync(t *testing.T) {
	srv := newPreferServer()
	e := newEnv(t, withInner(srv))
	tok := e.token("patient/*.rs", naivefhir.Alice)
	for _, v := range []string{
		"x-respond-async-not", "respond-asynchronously", "no-respond-async", "respond-async-x;wait=1",
		"respond_async", `note="respond-async"`, "return=representation", "wait=10, handling=strict",
	} {
		t.Run(v, func(t *testing.T) {
			h := bearer(tok)
			h.Set("Prefer", v)
			res, body := e.request(t, http.MethodGet, "/fhir/Observation/obs-p1-lab", h, "")
			assert.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
			_, prefer := srv.seen()
			assert.Equal(t, []string{v}, prefer)
		})
	}
}

// Requests whose response needs no check (a search only narrowed, a
// write, a batch of writes) keep Prefer: respond-async: the server gets
// the header as sent and its 202 Accepted, polling URL and all, reaches
// the client.
func TestPreferAsyncUncheckedPasses(t *testing.T) {
	srv := newPreferServer()
	e := newEnv(t, withInner(srv))
	tok := e.token("patient/*.cruds", naivefhir.Alice)
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	writes := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":"Observation"},"resource":` + obs + `}]}`
	requests := []struct{ name, method, path, body string }{
		{"narrowed search", "GET", "/fhir/Observation?code=8310-5", ""},
		{"create", "POST", "/fhir/Observation", obs},
		{"batch of writes", "POST", "/fhir", writes},
	}
	for _, rq := range requests {
		for _, prefer := range [][]string{{"respond-async"}, {"return=minimal, respond-async;wait=10"}, {"return=minimal", "RESPOND-ASYNC"}} {
			t.Run(rq.name+"/"+strings.Join(prefer, "|"), func(t *testing.T) {
				h := bearer(tok)
				h["Prefer"] = prefer
				if rq.body != "" {
					h.Set("Content-Type", "application/fhir+json")
				}
				before, _ := srv.seen()
				res, body := e.request(t, rq.method, rq.path, h, rq.body)
				after, got := srv.seen()
				assert.Equal(t, before+1, after, "the request did not reach the server")
				assert.Equal(t, prefer, got)
				assert.Equal(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
				assert.Equal(t, "http://fhir.test/fhir/_async/77", res.Header.Get("Content-Location"))
				a := e.lastAudit(t)
				assert.Equal(t, middleware.AuditAllow, a.Decision)
				if rq.name == "narrowed search" {
					assert.Equal(t, "Patient/p1", a.Narrowing.Get("patient"))
				}
			})
		}
	}
}
