package medplum

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/hunt"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// TestConstraintMatcherAgainstMedplum compares fhirauth's scope constraint
// matcher with medplum's search: for every (constraint, resource) pair of
// the corpus (constraintgen_test.go), fhirauth's verdict on a create of
// the resource under user/Type.c?param=value must equal whether medplum's
// search Type?param=value returns the resource, unless the disagreement
// is one of the tolerated medplum deviations (deviations).
func TestConstraintMatcherAgainstMedplum(t *testing.T) {
	requirePeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	upstream := startProcess(t, "medplum", exec.Command("node", "server.mjs"), "PORT=0", "BASE="+upstreamBase)
	policy, err := fhirauth.NewPolicy()
	require.NoError(t, err)

	g := newGen()
	resources := append(handResources(), g.resources(25)...)
	constraints := append(handConstraints(), g.constraints(15)...)
	twins := barTwins(resources)
	store(ctx, t, upstream, append(slices.Clone(resources), twins...))
	byType := map[string][]map[string]any{}
	for _, r := range resources {
		byType[r["resourceType"].(string)] = append(byType[r["resourceType"].(string)], r)
	}

	d := &differential{ctx: ctx, upstream: upstream, policy: policy, tolerated: map[string]int{}, barTwins: map[string]bool{},
		refTypes: referenceTypes(resources), searched: map[constraintCase]map[string]bool{},
		bodies: map[string][]byte{}, principals: map[constraintCase]*token.Principal{}}
	for _, tw := range twins {
		d.barTwins[strings.TrimPrefix(tw["id"].(string), barTwinPrefix)] = true
	}
	for _, c := range constraints {
		returned := d.medplumSearch(t, c, "")
		for _, r := range byType[c.typ] {
			d.compare(t, c, r, returned[r["id"].(string)])
		}
	}
	d.crossCheckByID(t, handConstraints(), byType)
	t.Logf("%d constraints, %d resources, %d pairs: %d agree, tolerated disagreements %v",
		len(constraints), len(resources), d.pairs, d.agree, d.tolerated)
}

// differential holds what the comparison needs and counts the outcomes.
type differential struct {
	ctx       context.Context
	upstream  string
	policy    *fhirauth.Policy
	pairs     int
	agree     int
	tolerated map[string]int
	barTwins  map[string]bool // ids of the resources with a twin (barTwins)
	refTypes  []string        // referenceTypes of the corpus
	searched  map[constraintCase]map[string]bool

	bodies     map[string][]byte // the corpus' resources by id, as JSON
	principals map[constraintCase]*token.Principal
}

// compare judges one pair; inMedplum is whether medplum's search returned
// the resource.
func (d *differential) compare(t *testing.T, c constraintCase, r map[string]any, inMedplum bool) {
	t.Helper()
	d.pairs++
	satisfies := d.fhirauthSatisfies(t, c, r)
	if satisfies {
		d.allowedWithoutTexts(t, c, r)
	}
	if satisfies == inMedplum {
		d.agree++
		return
	}
	body, _ := json.Marshal(r)
	if name := d.explain(t, c, r, inMedplum); name != "" {
		d.tolerated[name]++
		return
	}
	direction := "FALSE DENIAL: fhirauth says the resource does not satisfy the constraint, medplum returns it"
	if satisfies {
		direction = "POTENTIAL LEAK: fhirauth says the resource satisfies the constraint, medplum does not return it"
	}
	t.Errorf("%s\n  constraint %s\n  resource %s", direction, c, body)
}

// allowedWithoutTexts requires fhirauth to allow r under c still once
// the texts of the elements c searches are gone (CodeableConcept.text,
// Coding.display, Identifier.type, Reference.display): FHIR reads them
// only with :text. medplum reads them as tokens, so agreeing with medplum
// would not show that fhirauth does not.
func (d *differential) allowedWithoutTexts(t *testing.T, c constraintCase, r map[string]any) {
	t.Helper()
	paths, _ := fhirspec.SearchPaths(fhirspec.R4, c.typ, c.param)
	var bare any = r
	for _, sp := range paths {
		bare = rewrite(bare, strings.Split(sp.Path, "."), withoutTexts)[0]
	}
	body, err := json.Marshal(bare)
	require.NoError(t, err)
	require.True(t, d.satisfiesBody(t, c, body), "fhirauth reads a text: it allows %s for\n  %s\nbut not once its texts are gone:\n  %s",
		c, d.bodies[r["id"].(string)], body)
}

// fhirauthSatisfies is fhirauth's verdict: whether it allows a create of
// r under the scope user/Type.c?param=value. A denial for any other
// reason than the constraint fails the test.
func (d *differential) fhirauthSatisfies(t *testing.T, c constraintCase, r map[string]any) bool {
	t.Helper()
	id := r["id"].(string)
	body, ok := d.bodies[id]
	if !ok {
		var err error
		body, err = json.Marshal(r)
		require.NoError(t, err)
		d.bodies[id] = body
	}
	return d.satisfiesBody(t, c, body)
}

func (d *differential) satisfiesBody(t *testing.T, c constraintCase, body []byte) bool {
	t.Helper()
	pr, ok := d.principals[c]
	if !ok {
		claim := "user/" + c.typ + ".c?" + c.param + "=" + scopeEscape(c.value)
		set, err := scope.ParseSet(claim)
		require.NoError(t, err, "scope %s", claim)
		pr = &token.Principal{Subject: "differential", ClientID: "differential", Scopes: set}
		d.principals[c] = pr
	}
	// The create is judged without the body's id: fhirauth refuses a
	// create with one under a constrained scope (a server may store it
	// under that id, replacing another resource).
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers keep their text
	require.NoError(t, dec.Decode(&m))
	delete(m, "id")
	body, err := json.Marshal(m)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "http://fhir.test/fhir/"+c.typ, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	_, dn := d.policy.Authorize(d.ctx, pr, req)
	if dn.Allowed {
		return true
	}
	require.True(t, dn.Status == http.StatusForbidden && strings.Contains(dn.Reason, "does not satisfy the constraints"),
		"fhirauth denied %s for another reason than the constraint: %d %s\n  body %s", c, dn.Status, dn.Reason, body)
	return false
}

// scopeEscape percent-encodes a search value for a scope claim, whose
// constraint values fhirauth decodes as a URL query.
func scopeEscape(v string) string {
	return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
}

// medplumSearch returns the ids medplum's search for constraint c (and
// _id=id when id is not empty) returns. Searches without _id are asked
// once.
func (d *differential) medplumSearch(t *testing.T, c constraintCase, id string) map[string]bool {
	t.Helper()
	if found, ok := d.searched[c]; ok && id == "" {
		return found
	}
	target := searchTarget(c) + "&_count=1000"
	if id != "" {
		target += "&_id=" + url.QueryEscape(id)
	}
	status, body := send(d.ctx, t, http.MethodGet, d.upstream, target, "", "")
	require.Equal(t, http.StatusOK, status, "GET %s: %s", target, body)
	var bundle struct {
		Entry []struct {
			Resource struct {
				ID string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(body, &bundle))
	require.Less(t, len(bundle.Entry), 1000, "GET %s returned a full page", target)
	out := map[string]bool{}
	for _, e := range bundle.Entry {
		out[e.Resource.ID] = true
	}
	if id == "" {
		d.searched[c] = out
	}
	return out
}

// crossCheckByID asks medplum, for each hand-picked constraint, about
// one hand-picked resource its search returns and one it does not, with
// _id=id, as the scope's meaning is phrased ("the resources
// Type?param=value&_id=id returns"): the answer must agree with the
// search without _id.
func (d *differential) crossCheckByID(t *testing.T, cs []constraintCase, byType map[string][]map[string]any) {
	t.Helper()
	for _, c := range cs {
		all := d.medplumSearch(t, c, "")
		checked := map[bool]bool{}
		for _, r := range byType[c.typ] {
			id := r["id"].(string)
			if !strings.HasPrefix(id, "hand-") || checked[all[id]] {
				continue
			}
			checked[all[id]] = true
			one := d.medplumSearch(t, c, id)
			require.Equal(t, all[id], one[id], "%s&_id=%s", c, id)
			require.LessOrEqual(t, len(one), 1)
		}
	}
}

// store puts the resources into medplum with one batch of PUTs (a
// transaction may hold no more than 50 updates in medplum).
func store(ctx context.Context, t *testing.T, upstream string, resources []map[string]any) {
	t.Helper()
	var entries []any
	for _, r := range resources {
		u := fmt.Sprintf("%s/%s", r["resourceType"], r["id"])
		entries = append(entries, map[string]any{"fullUrl": upstream + "/" + u, "resource": r,
			"request": map[string]any{"method": "PUT", "url": u}})
	}
	body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "batch", "entry": entries})
	require.NoError(t, err)
	status, out := send(ctx, t, http.MethodPost, upstream, "", "", string(body))
	require.Equal(t, http.StatusOK, status, "storing the corpus: %s", out)
	for i, st := range hunt.EntryStatuses(out) {
		require.True(t, strings.HasPrefix(st, "2"), "storing the corpus, entry %d: %s", i, out)
	}
	for _, typ := range []string{"Observation", "Patient", "Encounter", "MedicationRequest"} {
		status, out := send(ctx, t, http.MethodGet, upstream, typ+"?_count=1000", "", "")
		require.Equal(t, http.StatusOK, status)
		want := slices.IndexFunc(resources, func(r map[string]any) bool { return r["resourceType"] == typ }) >= 0
		require.Equal(t, want, len(resourcesIn(t, out)) > 0, "%s stored: %s", typ, out)
	}
}

// explain names the tolerated medplum deviations (deviation_test.go)
// that account for the disagreement on a pair, "" when none does.
func (d *differential) explain(t *testing.T, c constraintCase, r map[string]any, inMedplum bool) string {
	t.Helper()
	if inMedplum {
		return d.explainDenial(t, c, r)
	}
	return d.explainLeak(t, c, r)
}
