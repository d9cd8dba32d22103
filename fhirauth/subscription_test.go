package fhirauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// Scopes of the Subscription tests: a token that may write Subscriptions
// but read only vital signs, and one that may read every Observation.
const (
	subVitals = "user/Subscription.cruds user/Observation.rs?category=vital-signs"
	subAllObs = "user/Subscription.cruds user/Observation.rs"
)

// subscriptionJSON is a rest-hook Subscription delivering full resources
// to the writer's endpoint, with rawCriteria as its criteria's JSON value
// ("" leaves criteria out).
func subscriptionJSON(rawCriteria string) string {
	s := `{"resourceType":"Subscription","status":"requested","reason":"x",`
	if rawCriteria != "" {
		s += `"criteria":` + rawCriteria + `,`
	}
	return s + `"channel":{"type":"rest-hook","endpoint":"https://hook.example/in","payload":"application/fhir+json"}}`
}

// subscriptionWith is subscriptionJSON with criteria as a JSON string.
func subscriptionWith(criteria string) string {
	b, _ := json.Marshal(criteria)
	return subscriptionJSON(string(b))
}

func TestSubscriptionCriteria(t *testing.T) {
	p := testPolicy(t)
	tests := []struct {
		name, scopes, patient, criteria string
		status                          int    // 200 when allowed
		reason                          string // in the reason when denied
	}{
		// The attack: write rights on Subscription, read rights on vital
		// signs, a standing search for laboratory results.
		{"other category", subVitals, "", "Observation?category=laboratory", 403, "checked one by one"},
		{"own constraint still needs its check", subVitals, "", "Observation?category=vital-signs", 403, "checked one by one"},
		{"no parameters under a constraint", subVitals, "", "Observation?", 403, "checked one by one"},
		{"unconstrained token", subAllObs, "", "Observation?category=laboratory", 200, ""},
		{"unconstrained, no parameters", subAllObs, "", "Observation?", 200, ""},
		{"type the token may not search", subAllObs, "", "Condition?code=x", 403, "may not run"},
		{"system wildcard", "system/*.cruds", "", "Condition?code=x&_include=Condition:subject", 200, ""},
		{"wildcard needs the include's type", "user/Subscription.cu user/Observation.rs", "", "Observation?_include=Observation:subject", 403, "may not run"},
		{"include that needs its check", "user/Subscription.cu user/Observation.rs user/Patient.rs", "", "Observation?_include=Observation:subject:Patient", 403, "checked one by one"},
		{"revinclude", subAllObs, "", "Observation?_revinclude=Provenance:target", 403, "may not run"},
		{"_has", "user/Subscription.cu user/Patient.rs", "", "Patient?_has:Observation:subject:code=x", 403, "may not run"},
		{"chain", subAllObs, "", "Observation?subject:Patient.name=x", 403, "may not run"},
		{"chain under a constraint", "user/Subscription.cu user/Observation.rs user/Patient.rs?gender=female", "", "Observation?subject:Patient.name=x", 403, "may not run"},
		{"unknown parameter (paging token)", subAllObs, "", "Observation?ct=abc", 403, "checked one by one"},
		{"_filter", subAllObs, "", "Observation?_filter=code eq x", 403, "not a search URL"},
		{"_filter encoded", subAllObs, "", "Observation?_filter=code%20eq%20x", 403, "cannot be judged"},
		{"_query", subAllObs, "", "Observation?_query=all", 403, "cannot be judged"},
		// Patient context: the Subscription is written with user/ scopes,
		// its criteria searched with patient/ ones.
		{"patient: own compartment, written out", "user/Subscription.cu patient/Observation.rs", "123", "Observation?patient=Patient/123", 200, ""},
		{"patient: narrowing not written", "user/Subscription.cu patient/Observation.rs", "123", "Observation?code=x", 403, "(patient=Patient/123)"},
		{"patient: another patient", "user/Subscription.cu patient/Observation.rs", "123", "Observation?patient=Patient/456", 403, "another patient"},
		{"patient: OR-list", "user/Subscription.cu patient/Observation.rs", "123", "Observation?patient=Patient/123,Patient/456", 403, "OR-list"},
		{"patient: other compartment parameter", "user/Subscription.cu patient/Observation.rs", "123", "Observation?patient=Patient/123&performer=Patient/456", 403, "another patient"},
		// Not a relative search of one type.
		{"encoded question mark", subAllObs, "", "Observation%3Fcategory=laboratory", 403, "not a search URL"},
		{"encoded question mark and a query", subAllObs, "", "Observation%3Fx=1?category=laboratory", 403, "cannot be judged"},
		{"leading slash", subAllObs, "", "/Observation?category=laboratory", 403, "cannot be judged"},
		{"absolute URL", subAllObs, "", "http://fhir.test/fhir/Observation?category=laboratory", 403, "cannot be judged"},
		{"backport topic", subAllObs, "", "http://example.org/SubscriptionTopic/lab-results", 403, "not a search URL"},
		{"topic with a query", subAllObs, "", "http://example.org/SubscriptionTopic/lab?x=1", 403, "cannot be judged"},
		{"urn", subAllObs, "", "urn:uuid:1?x=1", 403, "cannot be judged"},
		{"type alone", subAllObs, "", "Observation", 403, "not a search URL"},
		{"empty", subAllObs, "", "", 403, "not a search URL"},
		{"leading space", subAllObs, "", " Observation?category=laboratory", 403, "not a search URL"},
		{"trailing space", subAllObs, "", "Observation?category=laboratory ", 403, "not a search URL"},
		{"tab", subAllObs, "", "Observation?\tcategory=laboratory", 403, "not a search URL"},
		{"newline", subAllObs, "", "Observation?category=laboratory\n", 403, "not a search URL"},
		{"lower-case type", subAllObs, "", "observation?category=laboratory", 403, "cannot be judged"},
		{"upper-case type", subAllObs, "", "OBSERVATION?category=laboratory", 403, "cannot be judged"},
		{"read", subAllObs, "", "Observation/1?", 403, "not a search of one type"},
		{"type history", subAllObs, "", "Observation/_history?", 403, "not a search of one type"},
		{"compartment search", "user/Subscription.cu user/*.rs", "", "Patient/123/Observation?code=x", 403, "not a search of one type"},
		{"system search", "user/Subscription.cu user/*.rs", "", "?_type=Observation", 403, "not a search of one type"},
		{"_search path", subAllObs, "", "Observation/_search?code=x", 403, "cannot be judged"},
		{"operation", "user/Subscription.cu user/*.rs", "", "Observation/$lastn?code=x", 403, "not a search of one type"},
		{"fragment", subAllObs, "", "Observation?code=x#y", 403, "cannot be judged"},
		{"semicolon", subAllObs, "", "Observation?code=x;y=1", 403, "cannot be judged"},
		{"dot segment", subAllObs, "", "../Observation?code=x", 403, "cannot be judged"},
		// A "?" in the query: medplum reads a Subscription's criteria only
		// up to it, so the patient's parameter after it would be dropped
		// and every patient's Observations delivered.
		{"patient: second question mark", "user/Subscription.cu patient/Observation.rs", "123", "Observation?_sort=date?&patient=Patient/123", 403, "second \"?\""},
		{"patient: question mark in a value", "user/Subscription.cu patient/Observation.rs", "123", "Observation?code=x?&patient=Patient/123", 403, "second \"?\""},
		{"question mark last", subAllObs, "", "Observation?code=x?", 403, "second \"?\""},
		{"encoded question mark in a value", "user/Subscription.cu patient/Observation.rs", "123", "Observation?code=x%3F&patient=Patient/123", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := principal(t, tt.scopes, tt.patient)
			for _, w := range []struct{ method, target string }{{"POST", "/fhir/Subscription"}, {"PUT", "/fhir/Subscription/s1"}} {
				body := subscriptionWith(tt.criteria)
				if w.method == "PUT" {
					body = strings.Replace(body, `{"resourceType":"Subscription",`, `{"resourceType":"Subscription","id":"s1",`, 1)
				}
				_, d := authorize(t, p, pr, w.method, w.target, body, nil)
				require.Equal(t, tt.status, d.Status, "%s %q: %s", w.method, tt.criteria, d.Reason)
				assert.Equal(t, tt.status == 200, d.Allowed)
				if tt.status != 200 {
					assert.Contains(t, d.Reason, tt.reason)
					assert.Contains(t, d.Reason, "Subscription")
				}
			}
		})
	}
}

// TestSubscriptionNeeded: a criteria the token may not search names the
// scope that would let it.
func TestSubscriptionNeeded(t *testing.T) {
	p := testPolicy(t)
	_, d := authorize(t, p, principal(t, "user/Subscription.c", ""), "POST", "/fhir/Subscription", subscriptionWith("Condition?code=x"), nil)
	require.False(t, d.Allowed)
	assert.Equal(t, "user/Condition.s", d.Needed)
}

// TestSubscriptionBody: a Subscription whose criteria cannot be read
// unambiguously as one string, or that has a topic or filters of its
// own, is refused, whatever the token may search.
func TestSubscriptionBody(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "system/*.cruds", "")
	ok := `"Observation?code=x"`
	tests := []struct {
		name, body string
		status     int
	}{
		{"string", subscriptionJSON(ok), 200},
		{"escaped question mark is the same search", subscriptionJSON(`"Observation\u003Fcode=x"`), 200},
		{"missing", subscriptionJSON(""), 403},
		{"null", subscriptionJSON(`null`), 400},
		{"number", subscriptionJSON(`42`), 400},
		{"array", subscriptionJSON(`["Observation?code=x"]`), 400},
		{"object", subscriptionJSON(`{"value":"Observation?code=x"}`), 400},
		{"duplicate", subscriptionJSON(ok + `,"criteria":"Condition?code=y"`), 400},
		{"case variant beside", subscriptionJSON(ok + `,"Criteria":"Condition?code=y"`), 400},
		{"case variant alone", strings.Replace(subscriptionJSON(ok), `"criteria"`, `"CRITERIA"`, 1), 400},
		{"escaped key", strings.Replace(subscriptionJSON(ok), `"criteria"`, `"crit\u0065ria"`, 1), 400},
		{"R5 topic", subscriptionJSON(ok + `,"topic":"http://example.org/SubscriptionTopic/lab"`), 403},
		{"R5 topic alone", strings.Replace(subscriptionJSON(""), `"reason"`, `"topic":"http://example.org/t","reason"`, 1), 403},
		{"backport filter extension", subscriptionJSON(ok + `,"_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Observation?category=laboratory"}]}`), 403},
		{"resourceType case variant", strings.Replace(subscriptionJSON(ok), `"resourceType"`, `"resourcetype"`, 1), 400},
		{"resourceType duplicate", strings.Replace(subscriptionJSON(ok), `{"resourceType":"Subscription",`, `{"resourceType":"Subscription","resourceType":"Basic",`, 1), 400},
		{"type name case variant", strings.Replace(subscriptionJSON(ok), `"Subscription"`, `"subscription"`, 1), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := authorize(t, p, pr, "POST", "/fhir/Subscription", tt.body, nil)
			assert.Equal(t, tt.status, d.Status, d.Reason)
			assert.Equal(t, tt.status == 200, d.Allowed)
		})
	}
}

// TestSubscriptionWrites covers the other ways to write a Subscription:
// conditional create and update, patches (refused: the criteria after
// the patch is unknown), and deletes and reads, which are unchanged.
func TestSubscriptionWrites(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, subVitals, "")
	bad, good := subscriptionWith("Observation?category=laboratory"), subscriptionWith("Observation?code=x")
	allObs := principal(t, subAllObs, "")
	tests := []struct {
		name                 string
		pr                   *token.Principal
		method, target, body string
		headers              map[string]string
		allowed              bool
	}{
		{"conditional create", pr, "POST", "/fhir/Subscription", bad, map[string]string{"If-None-Exist": "status=active"}, false},
		{"conditional create, allowed criteria", allObs, "POST", "/fhir/Subscription", good, map[string]string{"If-None-Exist": "status=active"}, true},
		{"conditional update", pr, "PUT", "/fhir/Subscription?status=active", bad, nil, false},
		{"conditional update, allowed criteria", allObs, "PUT", "/fhir/Subscription?status=active", good, nil, true},
		{"JSON Patch", allObs, "PATCH", "/fhir/Subscription/s1", `[{"op":"replace","path":"/criteria","value":"Observation?code=x"}]`, nil, false},
		{"JSON Patch of another element", allObs, "PATCH", "/fhir/Subscription/s1", `[{"op":"replace","path":"/status","value":"off"}]`, nil, false},
		{"FHIRPath Patch", allObs, "PATCH", "/fhir/Subscription/s1", `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Subscription.status"},{"name":"value","valueCode":"off"}]}]}`, nil, false},
		{"conditional patch", allObs, "PATCH", "/fhir/Subscription?status=active", `[{"op":"replace","path":"/status","value":"off"}]`, nil, false},
		{"delete", pr, "DELETE", "/fhir/Subscription/s1", "", nil, true},
		{"read", pr, "GET", "/fhir/Subscription/s1", "", nil, true},
		{"search", pr, "GET", "/fhir/Subscription?status=active", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, d := authorize(t, p, tt.pr, tt.method, tt.target, tt.body, tt.headers)
			require.Equal(t, tt.allowed, d.Allowed, d.Reason)
			if !tt.allowed {
				assert.Equal(t, http.StatusForbidden, d.Status)
			}
			if tt.method == "PATCH" {
				assert.Contains(t, d.Reason, "PUT")
			}
		})
	}
}

// TestSubscriptionBundle: the criteria of Subscriptions written by
// Bundle entries is judged as a top-level write's is.
func TestSubscriptionBundle(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, subVitals+" user/Observation.rs?category=laboratory&code=x", "")
	bad := subscriptionWith("Observation?category=laboratory")
	good := subscriptionWith("Observation?category=vital-signs")
	patch := `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Subscription.criteria"},{"name":"value","valueString":"Observation?code=x"}]}]}`

	_, d := authorize(t, p, pr, "POST", "/fhir", bundle("batch",
		entry("POST", "Subscription", bad),
		entry("PUT", "Subscription/s1", strings.Replace(bad, `"Subscription",`, `"Subscription","id":"s1",`, 1)),
		entry("PUT", "Subscription?status=active", bad),
		entry("PATCH", "Subscription/s1", patch),
		entry("DELETE", "Subscription/s2", ""),
	), nil)
	require.True(t, d.Allowed, d.Reason)
	require.Len(t, d.Entries, 5)
	for i, want := range []bool{false, false, false, false, true} {
		assert.Equal(t, want, d.Entries[i].Allowed, "entry %d: %s", i, d.Entries[i].Reason)
	}
	assert.Contains(t, d.Entries[0].Reason, "criteria")

	_, d = authorize(t, p, pr, "POST", "/fhir", bundle("transaction",
		entry("GET", "Observation?category=vital-signs", ""),
		entry("POST", "Subscription", bad),
	), nil)
	require.False(t, d.Allowed)
	assert.Equal(t, http.StatusForbidden, d.Status)
	assert.Contains(t, d.Reason, "entry 1")

	// Allowed by what it reads, refused because the constrained search
	// needs a check the server does not make on its notifications.
	_, d = authorize(t, p, pr, "POST", "/fhir", bundle("transaction", entry("POST", "Subscription", good)), nil)
	require.False(t, d.Allowed)

	_, d = authorize(t, p, principal(t, subAllObs, ""), "POST", "/fhir", bundle("transaction",
		entry("POST", "Subscription", bad), entry("PUT", "Subscription?status=active", good)), nil)
	require.True(t, d.Allowed, d.Reason)
}

// TestSubscriptionUserRule: the criteria is decided as the token's own
// search would be, the policy's UserRule included.
func TestSubscriptionUserRule(t *testing.T) {
	rule := func(_ context.Context, _ *token.Principal, r *Request) error {
		if r.Interaction == SearchType && r.ResourceType == "Observation" {
			return errors.New("this user may not search Observations")
		}
		return nil
	}
	p := testPolicy(t, WithUserRule(rule))
	_, d := authorize(t, p, principal(t, subAllObs, ""), "POST", "/fhir/Subscription", subscriptionWith("Observation?code=x"), nil)
	require.False(t, d.Allowed)
	assert.Contains(t, d.Reason, "may not search Observations")
}

// TestSubscriptionSharedType: patient/ scopes write no Subscription,
// even when the policy shares the type with them.
func TestSubscriptionSharedType(t *testing.T) {
	p := testPolicy(t, WithSharedTypes("Subscription"))
	_, d := authorize(t, p, principal(t, "patient/Subscription.cruds patient/Observation.rs", "123"), "POST", "/fhir/Subscription",
		subscriptionWith("Observation?patient=Patient/123"), nil)
	require.False(t, d.Allowed)
	assert.Equal(t, http.StatusForbidden, d.Status)
}

// FuzzSubscriptionCriteria: a Subscription is allowed only when its
// criteria, sent to the server as GET [base]/criteria, is a search of one
// type the token may run as written: allowed, nothing added to the query,
// no response check. Any other criteria is refused, never allowed.
func FuzzSubscriptionCriteria(f *testing.F) {
	for _, s := range []string{
		"Observation?category=laboratory", "Observation?code=x", "Observation?patient=Patient/123",
		"Observation?", "/Observation?x=1", "Observation%3Fx=1", "http://a/Observation?x=1",
		"Patient/123/Observation?x=1", "Observation?_include=Observation:subject:Patient",
		"Patient?_has:Observation:subject:code=x", "observation?x=1", "Observation?ct=1",
		"Observation?_sort=date?&patient=Patient/123",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	p := testPolicy(f)
	user := principal(f, "user/Subscription.c user/Observation.rs user/Patient.rs?gender=female", "")
	pat := principal(f, "user/Subscription.c patient/Observation.rs patient/Patient.rs", "123")
	f.Fuzz(func(t *testing.T, criteria string, patient bool) {
		pr := user
		if patient {
			pr = pat
		}
		body := subscriptionWith(criteria)
		// The criteria as the body carries it: json.Marshal writes each
		// byte that is not UTF-8 as U+FFFD.
		var carried struct{ Criteria string }
		if err := json.Unmarshal([]byte(body), &carried); err != nil {
			t.Fatal(err)
		}
		criteria = carried.Criteria
		_, d := authorize(t, p, pr, "POST", "/fhir/Subscription", body, nil)
		if !d.Allowed {
			if d.Status != http.StatusForbidden && d.Status != http.StatusBadRequest {
				t.Fatalf("%q: status %d", criteria, d.Status)
			}
			return
		}
		if strings.Count(criteria, "?") != 1 {
			t.Fatalf("%q allowed as criteria: medplum reads a criteria only up to its second \"?\"", criteria)
		}
		r := fuzzRequest("GET", "/fhir/"+criteria)
		if r == nil {
			t.Fatalf("%q allowed but not a request target", criteria)
		}
		req, sd := p.Authorize(context.Background(), pr, r)
		if !sd.Allowed || req == nil || req.Interaction != SearchType || sd.NeedsResponseCheck() || sd.ChangesQuery(req.Params) {
			t.Fatalf("%q allowed as criteria, as a search: allowed %v, %v, check %v, narrow %v", criteria, sd.Allowed, req.Interaction, sd.NeedsResponseCheck(), sd.Narrow)
		}
	})
}

// TestSubscriptionExplain: Explain offers to write Subscriptions exactly
// when the token has a criteria it may run as written.
func TestSubscriptionExplain(t *testing.T) {
	p := testPolicy(t)
	writes := func(scopes string) bool {
		for _, g := range p.Explain(context.Background(), principal(t, scopes, "")).Grants {
			if slices.Contains(g.Types, "Subscription") && slices.Contains(g.Interactions, ExplainCreate) {
				return true
			}
		}
		return false
	}
	assert.True(t, writes("user/Subscription.cu user/Observation.rs"))
	assert.True(t, writes("user/*.cruds"))
	assert.False(t, writes("user/Subscription.cu user/Observation.rs?category=vital-signs"))
	assert.False(t, writes("user/Subscription.cu patient/Observation.rs"))
}
