package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"

	"github.com/fhirwarden/fhirwarden/internal/logbuf"
)

// Batch and transaction Bundles built to confuse entry bookkeeping: what
// reaches the server is only what was allowed, what comes back is checked
// entry by entry, and nothing of Bob's is written or returned.
func TestAttackBatchRequests(t *testing.T) {
	obs := func(subject string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"` + subject + `"}}`
	}
	many := make([]string, 10000+1) // one over fhirauth's limit on entries
	for i := range many {
		many[i] = `{"request":{"method":"GET","url":"Observation/obs-p1-lab"}}`
	}
	for _, c := range []struct {
		name, typ, entries string
	}{
		{"denied entry first, allowed after", "batch", `{"request":{"method":"GET","url":"Patient/p2"}},{"request":{"method":"GET","url":"Observation/obs-p2-lab"}},{"request":{"method":"GET","url":"Patient/p1"}}`},
		{"same read twice", "batch", `{"request":{"method":"GET","url":"Observation/obs-p2-lab"}},{"request":{"method":"GET","url":"Observation/obs-p2-lab"}}`},
		{"same fullUrl twice", "transaction", `{"fullUrl":"urn:uuid:1","request":{"method":"POST","url":"Observation"},"resource":` + obs("Patient/p1") + `},{"fullUrl":"urn:uuid:1","request":{"method":"POST","url":"Observation"},"resource":` + obs("Patient/p2") + `}`},
		{"urn:uuid reference standing for Bob", "transaction", `{"fullUrl":"urn:uuid:bob","request":{"method":"PUT","url":"Patient/p2"},"resource":{"resourceType":"Patient","id":"p2"}},{"request":{"method":"POST","url":"Observation"},"resource":` + obs("urn:uuid:bob") + `}`},
		{"urn:uuid reference to an entry", "batch", `{"fullUrl":"urn:uuid:a","request":{"method":"POST","url":"Observation"},"resource":` + obs("Patient/p1") + `},{"request":{"method":"POST","url":"Observation"},"resource":` + obs("urn:uuid:a") + `}`},
		{"fullUrl naming Bob's resource", "batch", `{"fullUrl":"http://fhir.test/fhir/Observation/obs-p2-lab","request":{"method":"PUT","url":"Observation/obs-p1-lab"},"resource":{"resourceType":"Observation","id":"obs-p1-lab","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}`},
		{"delete then create in a transaction", "transaction", `{"request":{"method":"DELETE","url":"Observation/obs-p2-lab"}},{"request":{"method":"POST","url":"Observation"},"resource":` + obs("Patient/p1") + `}`},
		{"entries moving Bob's data", "batch", `{"request":{"method":"PUT","url":"Observation/obs-p2-lab"},"resource":{"resourceType":"Observation","id":"obs-p2-lab","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}`},
		{"case-variant url key", "batch", `{"request":{"method":"GET","url":"Patient/p1","URL":"Patient/p2"}}`},
		{"case-variant method key", "batch", `{"request":{"method":"GET","Method":"DELETE","url":"Observation/obs-p1-lab"}}`},
		{"duplicate url key", "batch", `{"request":{"method":"GET","url":"Patient/p1","url":"Patient/p2"}}`},
		{"escaped url key", "batch", `{"request":{"method":"GET","url":"Patient/p1","u\u0072l":"Patient/p2"}}`},
		{"case-variant request key", "batch", `{"request":{"method":"GET","url":"Patient/p1"},"Request":{"method":"GET","url":"Patient/p2"}}`},
		{"case-variant ifNoneExist", "batch", `{"request":{"method":"POST","url":"Observation","ifNoneExist":"patient=p1","IfNoneExist":"_id=obs-p2-lab"},"resource":` + obs("Patient/p1") + `}`},
		{"absolute entry url", "batch", `{"request":{"method":"GET","url":"http://fhir.test/fhir/Patient/p2"}}`},
		{"rooted entry url", "batch", `{"request":{"method":"GET","url":"/fhir/Patient/p2"}}`},
		{"dot segments in entry url", "batch", `{"request":{"method":"GET","url":"Patient/p1/../p2"}}`},
		{"encoded entry url", "batch", `{"request":{"method":"GET","url":"Patient/%70%32"}}`},
		{"urn entry url", "batch", `{"request":{"method":"GET","url":"urn:uuid:1"}}`},
		{"lower-case entry method", "batch", `{"request":{"method":"get","url":"Patient/p2"}}`},
		{"nested batch", "batch", `{"request":{"method":"POST","url":""},"resource":{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/p2"}}]}}`},
		{"entry with an access_token", "batch", `{"request":{"method":"GET","url":"Observation?access_token=x"}}`},
		{"search entry naming Bob", "batch", `{"request":{"method":"GET","url":"Observation?patient=p2"}},{"request":{"method":"GET","url":"Observation?subject=Patient/p2"}}`},
		{"include in an entry", "batch", `{"request":{"method":"GET","url":"Observation?_include=Observation:performer"}}`},
		{"more entries than allowed", "batch", strings.Join(many, ",")},
		{"transaction with a hidden read", "transaction", `{"request":{"method":"GET","url":"Observation/obs-p2-lab"}}`},
		{"entry If-Match of a future version", "batch", `{"request":{"method":"PUT","url":"Observation/obs-p1-lab","ifMatch":"W/\"9\""},"resource":{"resourceType":"Observation","id":"obs-p1-lab","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}`},
		{"entry with two If-Match keys", "batch", `{"request":{"method":"DELETE","url":"Observation/obs-p1-lab","ifMatch":"W/\"1\"","IfMatch":"W/\"9\""}}`},
		{"transaction If-Match of a future version", "transaction", `{"request":{"method":"DELETE","url":"Observation/obs-p1-lab","ifMatch":"W/\"9\""}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			h := bearer(e.token("patient/*.cruds", naivefhir.Alice))
			h.Set("Content-Type", "application/fhir+json")
			before := snapshot(e.fhir)
			res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"`+c.typ+`","entry":[`+c.entries+`]}`)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d body: %.500s", res.StatusCode, body)
			assert.Less(t, res.StatusCode, 500, "body: %.500s", body)
			after := snapshot(e.fhir)
			for k, v := range before {
				if strings.Contains(v, "Patient/p2") || strings.Contains(v, `"p2"`) {
					assert.Equal(t, v, after[k], "Bob's %s is unchanged", k)
				}
			}
			for k, v := range after {
				if _, old := before[k]; !old {
					assert.NotContains(t, v, "Patient/p2", "nothing new of Bob's: %s", k)
					assert.NotContains(t, v, "urn:uuid", "no unresolved reference stored: %s", k)
				}
			}
			for _, r := range e.fhir.Requests() {
				assert.NotContains(t, string(r.Body), "Patient/p2", "no entry naming Bob reached the server")
				assert.NotContains(t, string(r.Body), `W/\"9\"`, "no unchecked If-Match reached the server")
			}
		})
	}
}

// A batch whose entries the middleware answers itself and entries the
// server answers come back in the client's order, each where it was.
func TestAttackBatchEntryOrder(t *testing.T) {
	e := newEnv(t)
	h := bearer(e.token("patient/*.rs", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	ids := []string{"obs-p2-lab", "obs-p1-lab", "obs-p3-lab", "obs-p1-vital", "obs-p2-vital", "obs-p1-by-p2"}
	var entries []string
	for i, id := range ids {
		if i%2 == 0 {
			entries = append(entries, `{"request":{"method":"GET","url":"Patient/p`+fmt.Sprint(i%3+1)+`"}}`)
		}
		entries = append(entries, `{"request":{"method":"GET","url":"Observation/`+id+`"}}`)
	}
	res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"batch","entry":[`+strings.Join(entries, ",")+`]}`)
	require.Equal(t, 200, res.StatusCode, "body: %s", body)
	b := parseBundle(t, body)
	require.Len(t, b.Entry, len(entries))
	var got []string
	for _, en := range b.Entry {
		if len(en.Resource) > 0 {
			got = append(got, resourceRef(en.Resource))
		} else {
			got = append(got, en.Response.Status)
		}
	}
	want := []string{"Patient/p1", "404 Not Found", "Observation/obs-p1-lab", "404 Not Found", "404 Not Found",
		"Observation/obs-p1-vital", "404 Not Found", "404 Not Found", "Observation/obs-p1-by-p2"}
	assert.Equal(t, want, got)
}

// Audit records and logs: one line per request whatever the path holds,
// and never the token.
func TestAttackAuditLogInjection(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	before := strings.Count(e.logs.String(), "\n")
	targets := []string{
		"/fhir/Patient/p1%0d%0a%7B%22msg%22:%22fhirwarden%20audit%22%7D",
		"/fhir/Patient%0aINFO%20forged",
		"/fhir/Observation?code=%0d%0aforged=1",
		"/fhir/Patient/" + tok,
		"/fhir/Observation?_id=" + tok[:40],
	}
	for _, target := range targets {
		e.get(t, target, tok)
	}
	res, _ := e.rawRequest(t, "GET /fhir/Patient/p1\rforged HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	assert.Equal(t, 400, res.StatusCode, "net/http refuses a bare CR in the request line")
	logs := e.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")[before:]
	audits := 0
	for _, l := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), "every log line is one JSON record: %q", l)
		assert.NotContains(t, l, "forged\"", "no forged record")
	}
	for _, a := range e.auditRecords() {
		assert.NotContains(t, a.Path, "\n")
		assert.NotContains(t, a.Path, "\r")
		assert.NotContains(t, a.Reason, "\n")
		audits++
	}
	assert.Equal(t, len(targets), audits, "one audit record per request (the bare-CR request never reached the middleware)")
	// The token was in a path: the path is recorded, so the check is for
	// the tokens that were sent as tokens.
	e.mu.Lock()
	e.tokens = e.tokens[:0]
	e.mu.Unlock()
	for _, l := range lines {
		assert.NotContains(t, l, "Bearer ")
	}

	t.Run("default slog records keep one line", func(t *testing.T) {
		var buf logbuf.Buffer
		mw, err := middleware.New(e.ver, e.policy, middleware.WithLogger(slogJSON(&buf)))
		require.NoError(t, err)
		srv := httptest.NewServer(mw.Wrap(naivefhir.New("/fhir", naivefhir.Sample()...)))
		defer srv.Close()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/fhir/Patient/p1%0d%0aforged%22%7D", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		res.Body.Close()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		require.Len(t, lines, 1, "one audit line: %s", buf.String())
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec), "line %q", lines[0])
		assert.Equal(t, "fhirwarden audit", rec["msg"])
		assert.NotContains(t, buf.String(), tok[strings.LastIndexByte(tok, '.')+1:])
	})
}

// Bodies the middleware or the policy read are bounded; a larger one is
// refused before the server sees it.
func TestAttackOversizedBodies(t *testing.T) {
	e := newEnv(t, withPolicy(fhirauth.WithMaxBodySize(4<<10)))
	h := bearer(e.token("patient/*.cruds", naivefhir.Alice))
	big := strings.Repeat("a", 8<<10)
	for _, c := range []struct{ name, method, target, contentType, body string }{
		{"form search", "POST", "/fhir/Observation/_search", "application/x-www-form-urlencoded", "code=" + big},
		{"create", "POST", "/fhir/Observation", "application/fhir+json", `{"resourceType":"Observation","note":[{"text":"` + big + `"}],"subject":{"reference":"Patient/p1"}}`},
		{"batch", "POST", "/fhir", "application/fhir+json", `{"resourceType":"Bundle","type":"batch","note":"` + big + `"}`},
		{"form token body without a header", "POST", "/fhir/Observation/_search", "application/x-www-form-urlencoded", "access_token=" + big},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := e.requestsSeen()
			hh := h.Clone()
			if strings.Contains(c.name, "without a header") {
				hh = http.Header{}
			}
			hh.Set("Content-Type", c.contentType)
			res, body := e.request(t, c.method, c.target, hh, c.body)
			assert.Contains(t, []int{400, 401, 413}, res.StatusCode, "body: %.300s", body)
			assert.Equal(t, n, e.requestsSeen())
		})
	}
}

// stu3Patches wraps the naive server with what an STU3 server does with a
// transaction's PATCH entries whose resource is a Binary: it applies the
// JSON Patch in Binary.content (STU3's element; R4's "data" is unknown to
// it and, leniently, ignored). Only top-level "replace" ops.
func stu3Patches(fhir *naivefhir.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/fhir" {
			fhir.ServeHTTP(w, r)
			return
		}
		var b struct {
			Type  string `json:"type"`
			Entry []struct {
				Resource struct {
					ResourceType string `json:"resourceType"`
					Content      []byte `json:"content"` // base64
				} `json:"resource"`
				Request struct{ Method, URL string } `json:"request"`
			} `json:"entry"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var entries []string
		for _, en := range b.Entry {
			typ, id, _ := strings.Cut(en.Request.URL, "/")
			stored, ok := fhir.Get(typ, id)
			if en.Request.Method != http.MethodPatch || en.Resource.ResourceType != "Binary" || !ok {
				entries = append(entries, `{"response":{"status":"400 Bad Request"}}`)
				continue
			}
			var ops []struct {
				Op, Path string
				Value    json.RawMessage
			}
			_ = json.Unmarshal(en.Resource.Content, &ops)
			var m map[string]json.RawMessage
			_ = json.Unmarshal(stored, &m)
			for _, op := range ops {
				if op.Op == "replace" {
					m[strings.TrimPrefix(op.Path, "/")] = op.Value
				}
			}
			nb, _ := json.Marshal(m)
			_ = fhir.Put(nb)
			entries = append(entries, `{"response":{"status":"200 OK"}}`)
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"` + b.Type + `-response","entry":[` + strings.Join(entries, ",") + `]}`))
	})
}

// Under an STU3 policy a transaction PATCH entry's Binary is judged by
// its content, the element an STU3 server applies; R4's data beside it
// (a benign patch judged while the server applies the other) refuses the
// transaction, so Alice's Observation cannot be moved into Bob's record.
func TestAttackSTU3BinaryPatch(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	benign := b64(`[{"op":"replace","path":"/status","value":"amended"}]`)
	evil := b64(`[{"op":"replace","path":"/subject","value":{"reference":"Patient/p2"}}]`)
	for _, c := range []struct {
		name, members string
		status        int
	}{
		{"evil content", `"content":"` + evil + `"`, http.StatusForbidden},
		{"benign data, evil content", `"data":"` + benign + `","content":"` + evil + `"`, http.StatusBadRequest},
		{"evil content, benign data", `"content":"` + evil + `","data":"` + benign + `"`, http.StatusBadRequest},
		{"benign content, evil data", `"content":"` + benign + `","data":"` + evil + `"`, http.StatusBadRequest},
		{"evil data only", `"data":"` + evil + `"`, http.StatusBadRequest},
		{"case-variant content", `"data":"` + benign + `","Content":"` + evil + `"`, http.StatusBadRequest},
		{"benign content", `"content":"` + benign + `"`, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
			e := newEnv(t, withInner(stu3Patches(fhir)), withPolicy(fhirauth.WithVersion(fhirspec.STU3)))
			h := bearer(e.token("patient/Observation.rus", naivefhir.Alice))
			h.Set("Content-Type", "application/fhir+json")
			res, body := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"transaction","entry":[`+
				`{"request":{"method":"PATCH","url":"Observation/obs-p1-vital"},`+
				`"resource":{"resourceType":"Binary","contentType":"application/json-patch+json",`+c.members+`}}]}`)
			require.Equal(t, c.status, res.StatusCode, "body: %s", body)
			stored, _ := fhir.Get("Observation", "obs-p1-vital")
			assert.NotContains(t, string(stored), "Patient/p2", "Alice's Observation was moved into Bob's record")
			if c.status == http.StatusOK {
				assert.Contains(t, string(stored), `"amended"`, "the patch judged is the patch applied")
			}
		})
	}
}

// conditionalReads wraps the naive server with what a FHIR server does
// with the conditional members of a batch's GET entries (HAPI turns
// entry.request.ifNoneMatch into If-None-Match, and so on): for a stored
// resource, ifNoneMatch naming its version or any ifModifiedSince is
// answered 304 Not Modified without the resource, an ifMatch naming
// another version 412; Observation/deleted-obs is gone (410). It reads entries with encoding/json, as lenient
// parsers do, so every case variant of a member's name counts, and
// reports each conditional member that reaches it to seen.
func conditionalReads(fhir *naivefhir.Server, notModified bool, seen func(string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/fhir" {
			fhir.ServeHTTP(w, r)
			return
		}
		var b struct {
			Type  string `json:"type"`
			Entry []struct {
				Request struct{ Method, URL, IfNoneMatch, IfModifiedSince, IfMatch string } `json:"request"`
			} `json:"entry"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var entries []string
		for _, en := range b.Entry {
			rq := en.Request
			for _, c := range []string{rq.IfNoneMatch, rq.IfModifiedSince, rq.IfMatch} {
				if c != "" {
					seen(c)
				}
			}
			typ, id, _ := strings.Cut(rq.URL, "/")
			res, ok := fhir.Get(typ, id)
			switch {
			case rq.URL == "Observation/deleted-obs":
				entries = append(entries, `{"response":{"status":"410 Gone","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"deleted","diagnostics":"deleted"}]}}}`)
			case !ok:
				entries = append(entries, `{"response":{"status":"404 Not Found","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"`+rq.URL+` is not known"}]}}}`)
			case notModified || rq.IfNoneMatch == `W/"1"` || rq.IfModifiedSince != "":
				entries = append(entries, `{"response":{"status":"304 Not Modified","etag":"W/\"1\""}}`)
			case rq.IfMatch != "" && rq.IfMatch != `W/"1"`:
				entries = append(entries, `{"response":{"status":"412 Precondition Failed"}}`)
			default:
				entries = append(entries, `{"resource":`+string(res)+`,"response":{"status":"200 OK","etag":"W/\"1\""}}`)
			}
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"` + b.Type + `-response","entry":[` + strings.Join(entries, ",") + `]}`))
	})
}

// batchEntry sends a batch of the one entry request and returns the
// answer's entry with id replaced by "ID", so that the answers for two
// resources can be compared byte for byte.
func (e *env) batchEntry(t *testing.T, tok, typ, request, id string) string {
	t.Helper()
	h := bearer(tok)
	h.Set("Content-Type", "application/fhir+json")
	res, b := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"`+typ+`","entry":[{"request":`+request+`}]}`)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", b)
	var resp struct {
		Entry []json.RawMessage `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(b, &resp), "%s", b)
	require.Len(t, resp.Entry, 1, "%s", b)
	return strings.ReplaceAll(string(resp.Entry[0]), id, "ID")
}

// A batch read entry whose response is checked reaches the server
// without its conditional members (ifNoneMatch, ifModifiedSince, and for
// a read ifMatch, in any spelling a lenient parser would read), as a
// checked top-level read goes without If-None-Match and the like, with
// query narrowing on or off: a 304 (or 412) for another patient's
// Observation would confirm that it exists, and its version, where a
// plain read answers as for a missing one.
func TestAttackBatchConditionalReads(t *testing.T) {
	for _, member := range []string{
		`"ifNoneMatch":"W/\"1\""`, `"IfNoneMatch":"W/\"1\""`, `"IFNONEMATCH":"W/\"1\""`,
		`"ifModifiedSince":"2000-01-01T00:00:00Z"`, `"ifModifiedſince":"2000-01-01T00:00:00Z"`,
		`"ifMatch":"W/\"9\""`, `"IfMatch":"W/\"9\""`,
		`"ifNoneMatch":"W/\"1\"","ifModifiedSince":"2000-01-01T00:00:00Z","ifMatch":"W/\"9\""`,
	} {
		for _, narrow := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s narrowing %v", member, narrow), func(t *testing.T) {
				fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
				var seen []string
				e := newEnv(t, withInner(conditionalReads(fhir, false, func(c string) { seen = append(seen, c) })),
					withMW(middleware.WithQueryNarrowing(narrow)))
				tok := e.token("patient/Observation.rs", naivefhir.Alice)
				read := func(id string) string {
					return e.batchEntry(t, tok, "batch", `{"method":"GET","url":"Observation/`+id+`",`+member+`}`, id)
				}
				bobs, missing := read("obs-p2-lab"), read("no-such-obs")
				assert.Equal(t, missing, bobs, "Bob's Observation answers as a missing one")
				assert.Contains(t, bobs, "404 Not Found")
				assert.Contains(t, read("obs-p1-lab"), `"resourceType":"Observation"`, "Alice's own read is answered in full")
				assert.Empty(t, seen, "no conditional member reached the server")
			})
		}
	}
}

// A checked read entry the server answers 304 Not Modified, or 200
// without the resource, however it came to (here: a server that answers
// 304 to every read of a stored resource), has nothing to check: it is
// withheld, under existence hiding exactly as a missing resource is
// answered, else with 403.
func TestAttackBatchReadWithoutResource(t *testing.T) {
	for _, hide := range []bool{true, false} {
		t.Run(fmt.Sprintf("existence hiding %v", hide), func(t *testing.T) {
			fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
			e := newEnv(t, withInner(conditionalReads(fhir, true, func(string) {})), withPolicy(fhirauth.WithExistenceHiding(hide)))
			tok := e.token("patient/Observation.rs", naivefhir.Alice)
			read := func(id string) string {
				return e.batchEntry(t, tok, "batch", `{"method":"GET","url":"Observation/`+id+`"}`, id)
			}
			bobs, own := read("obs-p2-lab"), read("obs-p1-lab")
			assert.NotContains(t, bobs, "304")
			assert.Equal(t, own, bobs, "a 304 says nothing of whose resource it is")
			if hide {
				assert.Equal(t, read("no-such-obs"), bobs, "Bob's Observation answers as a missing one")
			} else {
				assert.Contains(t, bobs, "403 Forbidden")
			}
		})
	}
}

// A batch (or transaction) read entry for another patient's Observation
// answers byte for byte as one for a missing or deleted Observation: the
// middleware's own not-found entry, not the server's 404 or 410 entry
// (its diagnostics, its member order), as top-level reads of the two
// answer with one body.
func TestAttackBatchReadExistence(t *testing.T) {
	read := func(e *env, id string) string {
		tok := e.token("patient/Observation.rs", naivefhir.Alice)
		return e.batchEntry(t, tok, "batch", `{"method":"GET","url":"Observation/`+id+`"}`, id)
	}
	e := newEnv(t)
	bobs := read(e, "obs-p2-lab")
	assert.Equal(t, read(e, "no-such-obs"), bobs, "Bob's Observation answers as a missing one")
	_, top := e.get(t, "/fhir/Observation/no-such-obs", e.token("patient/Observation.rs", naivefhir.Alice))
	assert.Equal(t, `{"response":{"status":"404 Not Found","outcome":`+string(top)+`}}`, bobs, "the entry holds the top-level answer")

	// A server whose 404 entry has its own diagnostics, and a 410.
	other := newEnv(t, withInner(conditionalReads(naivefhir.New("/fhir", naivefhir.Sample()...), false, func(string) {})))
	assert.Equal(t, bobs, read(other, "no-such-obs"), "a server's 404 entry")
	assert.Equal(t, bobs, read(other, "deleted-obs"), "a server's 410 entry")
	assert.Equal(t, bobs, read(other, "obs-p2-lab"))
}

// A transaction cannot hold a read whose answer is checked under existence
// hiding: a server that fails a whole transaction for a missing resource
// (a 404 for the Bundle, its writes rolled back) would answer a missing
// resource unlike a withheld one, which the middleware can only withhold
// after the transaction committed. Such a transaction is refused before it
// reaches the server, the same way for another patient's resource and a
// missing one; in a batch the same read is answered entry by entry.
func TestAttackTransactionReadExistence(t *testing.T) {
	e := newEnv(t)
	h := bearer(e.token("patient/Observation.cruds", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	refusal := func(id string) string {
		n := len(e.fhir.Requests())
		res, b := e.request(t, http.MethodPost, "/fhir", h, `{"resourceType":"Bundle","type":"transaction","entry":[`+
			`{"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}},`+
			`{"request":{"method":"GET","url":"Observation/`+id+`"}}]}`)
		require.Equal(t, http.StatusForbidden, res.StatusCode, "%s", b)
		assert.Contains(t, parseOutcome(t, b).Issue[0].Diagnostics, "entry 1")
		assert.Len(t, e.fhir.Requests(), n, "nothing reached the server")
		return strings.ReplaceAll(string(b), id, "ID")
	}
	assert.Equal(t, refusal("no-such-obs"), refusal("obs-p2-lab"))
	assert.Equal(t, refusal("obs-p1-lab"), refusal("obs-p2-lab"), "Alice's own Observation too")

	// Without existence hiding the read is checked after the transaction.
	open := newEnv(t, withPolicy(fhirauth.WithExistenceHiding(false)))
	tok := open.token("patient/Observation.rs", naivefhir.Alice)
	assert.Contains(t, open.batchEntry(t, tok, "transaction", `{"method":"GET","url":"Observation/obs-p1-lab"}`, "obs-p1-lab"), "200")
}

// Without existence hiding a server's 404 entry passes (sanitized): the
// withheld entry is a 403, which tells the two apart anyway.
func TestAttackBatchReadNoHiding(t *testing.T) {
	e := newEnv(t, withPolicy(fhirauth.WithExistenceHiding(false)))
	tok := e.token("patient/Observation.rs", naivefhir.Alice)
	assert.Contains(t, e.batchEntry(t, tok, "batch", `{"method":"GET","url":"Observation/obs-p2-lab"}`, "obs-p2-lab"), "403 Forbidden")
	assert.Contains(t, e.batchEntry(t, tok, "batch", `{"method":"GET","url":"Observation/no-such-obs"}`, "no-such-obs"), "is not known")
}
