package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// groupServer is a small FHIR server holding Alice (p1), Bob (p2) and a
// Group g1 whose members are both (a family, a care program, a study
// cohort). Its Group search has the semantics of HAPI, Blaze and the
// specification: repeated parameters are ANDed, member=X matches when ANY
// member is X, and member:Patient.<param> matches when ANY member's Patient
// matches. Other searches answer an empty searchset.
type groupServer struct {
	mu      sync.Mutex
	queries []string
}

var groupPatients = map[string]map[string]string{
	"p1": {"name": "Alice", "birthdate": "2000-06-15"},
	"p2": {"name": "Bob", "birthdate": "1961-03-04"},
}

const groupG1 = `{"resourceType":"Group","id":"g1","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/p1"}},{"entity":{"reference":"Patient/p2"}}]}`

func (s *groupServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.queries = append(s.queries, r.URL.RequestURI())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	entries := ""
	if r.URL.Path == "/fhir/Group" && groupMatches(r.URL.Query()) {
		entries = `,"entry":[{"fullUrl":"http://fhir.test/fhir/Group/g1","resource":` + groupG1 + `,"search":{"mode":"match"}}]`
	}
	_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset"` + entries + `}`))
}

// groupMatches evaluates q against g1: every value of every parameter must
// match some member (unknown parameters match).
func groupMatches(q url.Values) bool {
	for key, vals := range q {
		for _, v := range vals {
			anyMember := false
			for id, p := range groupPatients {
				switch key {
				case "member":
					anyMember = anyMember || v == "Patient/"+id || v == id
				case "member:Patient.name":
					anyMember = anyMember || strings.HasPrefix(strings.ToLower(p["name"]), strings.ToLower(v))
				case "member:Patient.birthdate":
					if d, ok := strings.CutPrefix(v, "lt"); ok {
						anyMember = anyMember || p["birthdate"] < d
					} else {
						anyMember = anyMember || p["birthdate"] == v
					}
				default:
					anyMember = true
				}
			}
			if !anyMember {
				return false
			}
		}
	}
	return true
}

func (s *groupServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// A chain through a repeating narrowing element is an oracle on the other
// references: narrowed to member=Patient/p1, Group?member:Patient.name=Bob
// matches Alice's Group because Bob is a co-member, and a binary search on
// member:Patient.birthdate=lt... recovered Bob's birth date in 16 requests
// before the fix. Every such chain must be refused before the server sees
// it, so that "Bob" and "Zed" (or any two dates) answer alike.
func TestAttackChainedOracleThroughRepeatingNarrowParam(t *testing.T) {
	srv := &groupServer{}
	e := newEnv(t, withInner(srv))
	alice := e.token("launch/patient patient/*.rs", "p1")

	// Alice's own Group search works and is narrowed to her.
	res, body := e.get(t, "/fhir/Group?type=person", alice)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"id":"g1"`)
	last := srv.seen()[len(srv.seen())-1]
	assert.Contains(t, last, "member=Patient%2Fp1", "narrowed to Alice")

	// A chain pinned by a single-valued narrowing element still passes.
	res, body = e.get(t, "/fhir/Observation?subject:Patient.name=Alice", alice)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)

	before := len(srv.seen())
	for _, q := range []string{
		"Group?member:Patient.name=Bob",
		"Group?member:Patient.name=Zed",
		"Group?member:Patient.birthdate=" + url.QueryEscape("lt1980-01-01"),
		"Group?member:Patient.birthdate=" + url.QueryEscape("lt1960-01-01"),
		"Group?member:Patient.birthdate=1961-03-04",
		"Group?member=Patient/p1&member:Patient.name=Bob",
		"Group?member:Patient._id=p2",
		"Group?member.name=Bob",
		"Group?member.birthdate=1961-03-04",
		"AuditEvent?patient.name=Bob",
		"AuditEvent?patient:Patient.birthdate=1961-03-04",
		"Provenance?patient.name=Bob",
		"Provenance?patient.birthdate=1961-03-04",
		"Person?patient.name=Bob",
		"Appointment?actor:Patient.birthdate=1961-03-04",
		"Appointment?actor:Patient.name=Bob",
		"Schedule?actor:Patient.birthdate=1961-03-04",
		"Schedule?actor:Patient.name=Bob",
		"Account?subject:Patient.name=Bob",
	} {
		res, body := e.get(t, "/fhir/"+q, alice)
		if strings.Contains(q, "member.") {
			assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%s: an untyped chain is refused: %s", q, body)
		} else {
			assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s: %s", q, body)
			assert.Contains(t, string(body), "chained oracle", q)
		}
		assert.NotContains(t, string(body), `"id":"g1"`, q)
	}
	assert.Len(t, srv.seen(), before, "no chained query reached the server: %v", srv.seen()[before:])
}
