package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// raceServer is a FHIR server with one Observation/o1 that another
// writer changes right after each read of it: the first read sees
// version 1 in p1's compartment; the write that follows finds version 2,
// p2's. Writes honour If-Match as R4 version-aware updates do (412 when
// it names another version), or, with ignoreIfMatch, not at all.
type raceServer struct {
	ignoreIfMatch bool
	etag          bool // send an ETag beside meta.versionId

	mu      sync.Mutex
	version int
	subject string
	deleted bool
	writes  []raceWrite // the writes that reached the server
}

// raceWrite is one write the server received: method and If-Match (of
// the request, or of the Bundle entry), and whether it was carried out.
type raceWrite struct {
	method, ifMatch string
	done            bool
}

func newRaceServer() *raceServer { return &raceServer{version: 1, subject: "p1"} }

func (s *raceServer) resource() string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":"o1","meta":{"versionId":"%d"},"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/%s"}}`, s.version, s.subject)
}

func (s *raceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/fhir/Observation/o1":
		if s.deleted {
			w.WriteHeader(http.StatusGone)
			return
		}
		if s.etag {
			w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, s.version))
		}
		_, _ = io.WriteString(w, s.resource())
		// Another writer, between this read and the write after it.
		s.version, s.subject = s.version+1, "p2"
	case r.URL.Path == "/fhir/Observation/o1":
		st := s.write(r.Method, r.Header.Get("If-Match"))
		w.WriteHeader(st)
	case r.Method == http.MethodPost && r.URL.Path == "/fhir":
		s.bundle(w, body)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// write carries out a write of o1 conditional on ifMatch and returns its
// status.
func (s *raceServer) write(method, ifMatch string) int {
	w := raceWrite{method: method, ifMatch: ifMatch}
	defer func() { s.writes = append(s.writes, w) }()
	if ifMatch != "" && !s.ignoreIfMatch && strings.TrimPrefix(ifMatch, "W/") != fmt.Sprintf(`"%d"`, s.version) {
		return http.StatusPreconditionFailed
	}
	w.done = true
	if method == http.MethodDelete {
		s.deleted = true
		return http.StatusNoContent
	}
	s.version++
	return http.StatusOK
}

// bundle answers a batch of writes of o1.
func (s *raceServer) bundle(w http.ResponseWriter, body []byte) {
	var b struct {
		Entry []struct {
			Request struct {
				Method  string `json:"method"`
				IfMatch string `json:"ifMatch"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var out []string
	for _, e := range b.Entry {
		st := s.write(e.Request.Method, e.Request.IfMatch)
		out = append(out, fmt.Sprintf(`{"response":{"status":"%d"}}`, st))
	}
	_, _ = io.WriteString(w, `{"resourceType":"Bundle","type":"batch-response","entry":[`+strings.Join(out, ",")+`]}`)
}

func (s *raceServer) state() (subject string, deleted bool, writes []raceWrite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subject, s.deleted, append([]raceWrite(nil), s.writes...)
}

// raceWrites are the writes of p1's o1 a patient/Observation.cruds token
// of p1 may send, single and as a batch entry.
var raceWrites = []struct {
	name, method, path, contentType, body string
}{
	{"update", http.MethodPut, "/fhir/Observation/o1", "application/fhir+json",
		`{"resourceType":"Observation","id":"o1","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`},
	{"patch", http.MethodPatch, "/fhir/Observation/o1", "application/json-patch+json",
		`[{"op":"replace","path":"/status","value":"amended"}]`},
	{"delete", http.MethodDelete, "/fhir/Observation/o1", "", ""},
	{"batch update", http.MethodPost, "/fhir", "application/fhir+json",
		`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Observation","id":"o1","status":"amended","code":{"text":"x"},"subject":{"reference":"Patient/p1"}},"request":{"method":"PUT","url":"Observation/o1"}}]}`},
	{"batch patch", http.MethodPost, "/fhir", "application/fhir+json",
		`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9zdGF0dXMiLCJ2YWx1ZSI6ImFtZW5kZWQifV0="},"request":{"method":"PATCH","url":"Observation/o1"}}]}`},
	{"batch delete", http.MethodPost, "/fhir", "application/fhir+json",
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Observation/o1"}}]}`},
}

// Between the middleware's read of the stored version and the write,
// another writer moves p1's Observation into p2's compartment. Every
// checked write (update, patch, delete; single or a Bundle entry) goes
// to the server pinned to the version read, so that the server refuses
// it rather than change p2's Observation; with the version only in
// meta.versionId (no ETag, as medplum answers) or in both.
func TestStoredWriteIsPinnedAgainstARace(t *testing.T) {
	for _, etag := range []bool{false, true} {
		for _, c := range raceWrites {
			t.Run(fmt.Sprintf("%s/etag=%v", c.name, etag), func(t *testing.T) {
				up := newRaceServer()
				up.etag = etag
				e := newEnv(t, withInner(up))
				h := bearer(e.token("patient/Observation.cruds", "p1"))
				if c.contentType != "" {
					h.Set("Content-Type", c.contentType)
				}
				res, body := e.request(t, c.method, c.path, h, c.body)
				subject, deleted, writes := up.state()
				require.Len(t, writes, 1, "status %d: %s", res.StatusCode, body)
				assert.Equal(t, `W/"1"`, writes[0].ifMatch, "the write is pinned to the version checked")
				assert.False(t, writes[0].done, "the server refused the write of a version nobody checked")
				assert.False(t, deleted, "p2's Observation is still there")
				assert.Equal(t, "p2", subject)
			})
		}
	}
}

// A server that ignores If-Match (medplum does on delete and patch) is
// not broken by the pin: the write goes through as it would without.
func TestStoredWritePinIgnoredByServer(t *testing.T) {
	for _, c := range raceWrites {
		t.Run(c.name, func(t *testing.T) {
			up := newRaceServer()
			up.ignoreIfMatch = true
			e := newEnv(t, withInner(up))
			h := bearer(e.token("patient/Observation.cruds", "p1"))
			if c.contentType != "" {
				h.Set("Content-Type", c.contentType)
			}
			res, body := e.request(t, c.method, c.path, h, c.body)
			require.Less(t, res.StatusCode, 300, "body: %s", body)
			_, _, writes := up.state()
			require.Len(t, writes, 1)
			assert.True(t, writes[0].done)
		})
	}
}

// A stored version that names no version, or two, cannot be pinned: the
// write is refused with 502 before it reaches the server.
func TestStoredWriteWithoutAVersionIsRefused(t *testing.T) {
	for _, bad := range []struct {
		name  string
		serve func(w http.ResponseWriter)
	}{
		{"no meta.versionId, no ETag", func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		}},
		{"ETag of another version", func(w http.ResponseWriter) {
			w.Header().Set("ETag", `W/"2"`)
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","meta":{"versionId":"1"},"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		}},
		{"two ETags", func(w http.ResponseWriter) {
			w.Header().Add("ETag", `W/"1"`)
			w.Header().Add("ETag", `W/"2"`)
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		}},
		{"ETag with a line break", func(w http.ResponseWriter) {
			w.Header()["Etag"] = []string{"W/\"1\nX-Injected: 1\""}
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		}},
		{"versionId that is not an id", func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","meta":{"versionId":"1\", W/\"2"},"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		}},
		{"versionId twice", func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"resourceType":"Observation","id":"o1","meta":{"versionId":"1","versionid":"2"},"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`)
		}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			writes := 0
			e := newEnv(t, withInner(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet {
					writes++
					w.WriteHeader(http.StatusNoContent)
					return
				}
				w.Header().Set("Content-Type", "application/fhir+json")
				bad.serve(w)
			})))
			res, body := e.request(t, http.MethodDelete, "/fhir/Observation/o1", bearer(e.token("patient/Observation.cruds", "p1")), "")
			require.Equal(t, http.StatusBadGateway, res.StatusCode, "body: %s", body)
			assert.Zero(t, writes, "no write reached the server")
		})
	}
}
