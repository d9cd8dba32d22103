package naivefhir

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Server is a deliberately naive in-memory FHIR JSON server. It answers
// read, vread, search (type, compartment, POST _search) with _include,
// _revinclude and _count/_offset paging, create, update, delete, batch and
// transaction, and metadata. It ignores authorization and every search
// parameter it does not know: exactly the kind of server that leaks other
// patients' data unless something in front of it stops that. Safe for
// concurrent use.
type Server struct {
	base string

	mu        sync.Mutex
	resources map[string]map[string]json.RawMessage // type -> id -> resource
	requests  []Recorded
	nextID    int
}

// Recorded is a request the server received.
type Recorded struct {
	Method string
	URL    string // path and query as received
	Header http.Header
	Body   []byte
}

// New returns a Server for the FHIR base path base (e.g. "/fhir"), holding
// resources (FHIR JSON objects with resourceType and id).
func New(base string, resources ...json.RawMessage) *Server {
	s := &Server{base: strings.TrimSuffix(base, "/"), resources: map[string]map[string]json.RawMessage{}}
	for _, r := range resources {
		if err := s.Put(r); err != nil {
			panic("naivefhir: " + err.Error())
		}
	}
	return s
}

// Put stores a resource under its resourceType and id.
func (s *Server) Put(res json.RawMessage) error {
	var h struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(res, &h); err != nil || h.ResourceType == "" || h.ID == "" {
		return fmt.Errorf("resource without resourceType or id: %s", res)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resources[h.ResourceType] == nil {
		s.resources[h.ResourceType] = map[string]json.RawMessage{}
	}
	s.resources[h.ResourceType][h.ID] = slices.Clone(res)
	return nil
}

// Get returns a stored resource.
func (s *Server) Get(typ, id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.resources[typ][id]
	return r, ok
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ServeHTTP answers FHIR REST requests under the base path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Recorded{Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	rel, ok := strings.CutPrefix(r.URL.Path, s.base)
	if !ok || (rel != "" && rel[0] != '/') {
		writeOutcome(w, http.StatusNotFound, "not-found", "not under the base")
		return
	}
	rel = strings.TrimPrefix(rel, "/")
	q := r.URL.Query()
	if r.Method == http.MethodPost && strings.HasSuffix(rel, "/_search") {
		form, _ := url.ParseQuery(string(body))
		for k, v := range form {
			q[k] = append(q[k], v...)
		}
		rel = strings.TrimSuffix(rel, "/_search")
		r.Method = http.MethodGet
	}
	status, res := s.do(r.Method, rel, q, body, s.baseURL(r))
	if t, _ := header(res); status == http.StatusOK && r.Method == http.MethodGet && t != "Bundle" && t != "CapabilityStatement" {
		w.Header().Set("ETag", `W/"1"`)
	}
	writeJSON(w, status, res)
}

// baseURL is the absolute base URL as seen by the client.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.base
}

// do performs one interaction (also used for Bundle entries).
func (s *Server) do(method, rel string, q url.Values, body []byte, base string) (int, json.RawMessage) {
	segs := strings.Split(rel, "/")
	if rel == "" {
		segs = nil
	}
	switch {
	case method == http.MethodGet && len(segs) == 1 && segs[0] == "metadata":
		return http.StatusOK, json.RawMessage(`{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"]}`)
	case method == http.MethodPost && len(segs) == 0:
		return s.bundle(body, base)
	case method == http.MethodGet && len(segs) == 1:
		return http.StatusOK, s.search(segs[0], q, base, rel)
	case method == http.MethodGet && len(segs) == 2:
		return s.read(segs[0], segs[1])
	case method == http.MethodGet && len(segs) == 4 && segs[2] == "_history":
		return s.read(segs[0], segs[1])
	case method == http.MethodGet && len(segs) == 3 && segs[0] == "Patient":
		q.Set("patient", "Patient/"+segs[1])
		return http.StatusOK, s.search(segs[2], q, base, rel)
	case method == http.MethodPost && len(segs) == 1:
		s.mu.Lock()
		s.nextID++
		id := "new-" + strconv.Itoa(s.nextID)
		s.mu.Unlock()
		return s.store(segs[0], id, body, http.StatusCreated)
	case method == http.MethodPut && len(segs) == 2:
		return s.store(segs[0], segs[1], body, http.StatusOK)
	case method == http.MethodDelete && len(segs) == 2:
		s.mu.Lock()
		delete(s.resources[segs[0]], segs[1])
		s.mu.Unlock()
		return http.StatusNoContent, nil
	}
	return http.StatusBadRequest, outcome("not-supported", "naivefhir cannot do "+method+" "+rel)
}

func (s *Server) read(typ, id string) (int, json.RawMessage) {
	if res, ok := s.Get(typ, id); ok {
		return http.StatusOK, res
	}
	return http.StatusNotFound, outcome("not-found", typ+"/"+id+" is not known")
}

func (s *Server) store(typ, id string, body []byte, status int) (int, json.RawMessage) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return http.StatusBadRequest, outcome("invalid", "not JSON")
	}
	m["resourceType"], m["id"] = typ, id
	b, _ := json.Marshal(m)
	if err := s.Put(b); err != nil {
		return http.StatusBadRequest, outcome("invalid", err.Error())
	}
	return status, b
}

func writeJSON(w http.ResponseWriter, status int, body json.RawMessage) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
}

func writeOutcome(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, outcome(code, msg))
}

func outcome(code, msg string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []any{
		map[string]any{"severity": "error", "code": code, "diagnostics": msg}}})
	return b
}
