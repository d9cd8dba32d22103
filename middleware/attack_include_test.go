package middleware_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// includeTypeBlindServer holds Alice (p1), Bob (p2), Dr Who (a shared
// Practitioner) and a Group g1 whose members are Alice, Bob and Dr Who.
// Its _include has the semantics of Medplum's getSearchIncludeEntries
// (packages/server/src/fhir/search.ts, before the targetType filter was
// added): "_include=Source:param:Target" is parsed, but only Source and
// param are used; every reference the parameter selects is read and
// returned, whatever Target says. Group?member=X matches when ANY member
// is X.
type includeTypeBlindServer struct {
	mu      sync.Mutex
	queries []string
}

var blindStore = map[string]string{
	"Patient/p1":      `{"resourceType":"Patient","id":"p1","name":[{"family":"Alice"}]}`,
	"Patient/p2":      `{"resourceType":"Patient","id":"p2","name":[{"family":"Bob"}],"birthDate":"1961-03-04"}`,
	"Practitioner/d1": `{"resourceType":"Practitioner","id":"d1","name":[{"family":"Who"}]}`,
}

const blindGroup = `{"resourceType":"Group","id":"g1","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Patient/p2"}},{"entity":{"reference":"Practitioner/d1"}}]}`

func (s *includeTypeBlindServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.queries = append(s.queries, r.URL.RequestURI())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	q := r.URL.Query()
	var entries []string
	if r.URL.Path == "/fhir/Group" {
		match := true
		for _, v := range q["member"] {
			match = match && strings.Contains(blindGroup, `"`+v+`"`)
		}
		if match {
			entries = append(entries, `{"resource":`+blindGroup+`,"search":{"mode":"match"}}`)
			for _, inc := range q["_include"] {
				parts := strings.Split(inc, ":")
				if len(parts) >= 2 && parts[0] == "Group" && parts[1] == "member" {
					// parts[2], the target type, is not looked at.
					for _, ref := range []string{"Patient/p1", "Patient/p2", "Practitioner/d1"} {
						entries = append(entries, `{"resource":`+blindStore[ref]+`,"search":{"mode":"include"}}`)
					}
				}
			}
		}
	}
	body := `{"resourceType":"Bundle","type":"searchset"`
	if len(entries) > 0 {
		body += `,"entry":[` + strings.Join(entries, ",") + `]`
	}
	_, _ = w.Write([]byte(body + `}`))
}

// A server that ignores an _include's target type returns every member of
// Alice's Group, Bob included, even when the include names a shared type
// (Practitioner): the included resources are checked whatever the target
// type says, so Bob's Patient record never reaches Alice.
func TestAttackIncludeTargetTypeIgnoredByServer(t *testing.T) {
	srv := &includeTypeBlindServer{}
	e := newEnv(t, withInner(srv))
	alice := e.token("launch/patient patient/*.rs", "p1")

	// With the Patient target, the middleware checks and drops Bob.
	res, body := e.get(t, "/fhir/Group?_include=Group:member:Patient", alice)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	assert.NotContains(t, string(body), "Bob", "checked include")

	// With the shared Practitioner target: checked all the same.
	res, body = e.get(t, "/fhir/Group?_include=Group:member:Practitioner", alice)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	t.Logf("forwarded: %s", srv.queries[len(srv.queries)-1])
	assert.NotContains(t, string(body), `"id":"p2"`, "Bob's Patient record returned to Alice: %s", body)
	assert.Contains(t, string(body), `"id":"d1"`, "the shared Practitioner is included")
}
