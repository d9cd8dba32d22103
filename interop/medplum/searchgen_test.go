package medplum

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/hunt"
)

// searchGenSeed is the grammar's seed; MEDPLUM_SEARCHGEN_SEED replaces it
// (to replay a failure logged under another seed, or to explore).
const searchGenSeed = 20240917

// searchGenCases is how many requests the grammar generates; each is sent
// with both tokens.
const searchGenCases = 700

// labScope is the constrained user token of the grammar's second run.
const labScope = "user/Observation.rs?category=laboratory user/Patient.rs user/Encounter.rs"

// TestSearchGrammarThroughGateway sends hostile GET searches, reads,
// vreads, histories, compartment searches and $everything, generated from
// a seeded grammar (searchGen), through the gateway in front of medplum
// with a patient-context token (patient/*.rs for p1) and with a
// constrained user token (labScope). Every 2xx answer, and every page its
// next link leads to, may hold only what the token may see, judged by
// the stored resources' ids (an _elements or _summary answer keeps no
// subject or category to judge by): no other patient's resource or
// narrative marker for the patient token; only Patients, Encounters and
// laboratory Observations for the user token; no total counting more than
// that; every link and fullUrl naming the gateway. Refusals are fine, but
// a floor of answers with entries keeps the grammar honest. The same
// requests then go as batch entries and, a seeded quarter, as
// transaction entries (batchHunt); the searches among them as POST
// _search with a form body (formHunt); and the compartment searches,
// $everything and system searches among them as POST .../_search, POST
// $everything and GET [base]/_search (opsHunt).
func TestSearchGrammarThroughGateway(t *testing.T) {
	requirePeer(t)
	grammarSeed := uint64(searchGenSeed)
	if s := os.Getenv("MEDPLUM_SEARCHGEN_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "MEDPLUM_SEARCHGEN_SEED")
		grammarSeed = v
	}
	t.Logf("grammar seed %d (replay: MEDPLUM_SEARCHGEN_SEED=%d go test -run TestSearchGrammarThroughGateway ./interop/medplum)", grammarSeed, grammarSeed)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	e := startEnv(t)
	seed(ctx, t, e)
	stored := seedSearchGen(ctx, t, e)
	g := &searchGen{r: rand.New(rand.NewPCG(grammarSeed, grammarSeed)), gateway: e.gateway, upstream: e.upstream, versions: stored.versions}
	targets := make([]string, searchGenCases)
	ups := make([][]byte, searchGenCases)
	for i := range targets {
		targets[i] = g.target()
		_, ups[i] = send(ctx, t, http.MethodGet, e.upstream, targets[i], "", "")
	}
	t.Run("GET", func(t *testing.T) {
		holders := newHolders(e, stored, 22, 13)
		for i, target := range targets {
			for _, h := range holders {
				h.run(ctx, t, e, i, target, ups[i])
			}
			if t.Failed() {
				t.Fatalf("case %d failed; replay with MEDPLUM_SEARCHGEN_SEED=%d", i, grammarSeed)
			}
		}
		for _, h := range holders {
			t.Logf("%s: %d requests; answered 2xx %d (with entries %d; where the upstream's answer holds what the token may not see %d; next pages followed %d), not 2xx %d; by status %v",
				h.name, searchGenCases, h.answered, h.withEntries, h.withheld, h.pages, searchGenCases-h.answered, h.statuses)
			h.floors(t, searchGenCases)
		}
	})
	all, quarter := make([]int, len(targets)), []int(nil)
	r := rand.New(rand.NewPCG(grammarSeed, grammarSeed+3))
	for i := range all {
		all[i] = i
		if r.IntN(4) == 0 {
			quarter = append(quarter, i)
		}
	}
	t.Run("batch", func(t *testing.T) { batchHunt(ctx, t, e, stored, grammarSeed, "batch", all, targets, ups) })
	t.Run("transaction", func(t *testing.T) { batchHunt(ctx, t, e, stored, grammarSeed, "transaction", quarter, targets, ups) })
	t.Run("POST _search", func(t *testing.T) { formHunt(ctx, t, e, stored, grammarSeed, targets, ups) })
	t.Run("operations", func(t *testing.T) { opsHunt(ctx, t, e, stored, grammarSeed, targets) })
	t.Logf("%d requests per token and way in %s", searchGenCases, time.Since(start).Round(time.Millisecond))
}

// newHolders are the grammar's two tokens, the patient token with floor
// pf (the percentage of requests that must be answered with entries),
// the user token with floor uf: eight of the grammar's eleven types are
// outside its scopes, so its floor is lower.
func newHolders(e *env, stored *storedSet, pf, uf int) []*holder {
	holders := []*holder{
		{name: "patient/*.rs p1", token: e.token("patient/*.rs", contextPatient), may: stored.patientMay, floor: pf},
		{name: labScope, token: e.token(labScope, ""), may: stored.labMay, floor: uf},
	}
	for _, h := range holders {
		h.stored, h.gateway, h.statuses = stored, e.gateway, map[int]int{}
	}
	return holders
}

// floors fails when fewer than the holder's floor of n requests were
// answered with entries, or fewer than 5% where the upstream's answer
// holds what the token may not see.
func (h *holder) floors(t *testing.T, n int) {
	t.Helper()
	// A grammar whose requests are all refused proves nothing.
	assert.GreaterOrEqual(t, h.withEntries*100, n*h.floor, "%s: fewer than %d%% of the requests were answered with entries", h.name, h.floor)
	// Nor does one whose answers the gateway need not narrow or filter.
	assert.GreaterOrEqual(t, h.withheld*100, n*5, "%s: fewer than 5%% of the requests were answered where the upstream's answer holds what the token may not see", h.name)
}

// searchGenResources are the Observations the grammar's checks need on
// top of the shared seed, per patient: categories laboratory (with the
// category system, another system, and beside vital-signs), and ones that
// are not (vital-signs, "Laboratory", the text "laboratory"), one with
// hasMember references into a non-laboratory and another patient's
// Observation, and for p1 one whose encounter is another patient's.
func searchGenResources() []map[string]any {
	var out []map[string]any
	cat := func(system, code string) map[string]any { return concept(coding(system, code)) }
	for _, p := range patients {
		obs := func(id string, category []any, extra map[string]any) {
			r := map[string]any{"resourceType": "Observation", "id": id + "-" + p, "status": "final",
				"code":    map[string]any{"coding": []any{coding(sysLOINC, "1234-5")}, "text": "potassium"},
				"subject": ref("Patient/" + p), "encounter": ref("Encounter/enc-" + p),
				"effectiveDateTime": "2024-03-0" + p[1:], "category": category,
				"text": map[string]any{"status": "generated", "div": `<div xmlns="http://www.w3.org/1999/xhtml">` + marker(p) + `</div>`}}
			for k, v := range extra {
				r[k] = v
			}
			out = append(out, r)
		}
		other := patients[(slices.Index(patients, p)+1)%len(patients)]
		obs("obs-lab", []any{cat(sysCategory, "laboratory")}, map[string]any{
			"hasMember": []any{ref("Observation/obs-vital-" + p), ref("Observation/obs-lab-" + other)}})
		obs("obs-labsys", []any{cat("http://example.org/other", "laboratory")}, nil)
		obs("obs-mixed", []any{cat(sysCategory, "vital-signs"), cat(sysCategory, "laboratory")}, nil)
		obs("obs-vital", []any{cat(sysCategory, "vital-signs")}, nil)
		obs("obs-labcase", []any{cat(sysCategory, "Laboratory")}, nil)
		obs("obs-labtext", []any{map[string]any{"text": "laboratory"}}, nil)
		if p == contextPatient {
			obs("obs-cross", []any{cat(sysCategory, "laboratory")}, map[string]any{"encounter": ref("Encounter/enc-" + other)})
		}
	}
	return out
}

// storedSet is what the upstream holds, by "Type/id": the owner (""
// for shared resources) and, for Observations, whether laboratory.
type storedSet struct {
	owner    map[string]string
	lab      map[string]bool
	versions map[string][]string // the version ids of changingResources, by "Type/id"
}

// seedSearchGen stores searchGenResources, the case-variant patient P1
// and its Observation, and links: Patient p1 to p2 (Patient:link
// includes p2) and p3 to p1 (the compartment definition puts p3 in p1's
// compartment, fhirauth does not). It returns the whole store.
func seedSearchGen(ctx context.Context, t *testing.T, e *env) *storedSet {
	t.Helper()
	extra := append(searchGenResources(), caseVariantResources()...)
	all := seedResources()
	for _, r := range all {
		switch r["id"] {
		case "p1":
			r["link"] = []any{map[string]any{"other": ref("Patient/p2"), "type": "seealso"}}
			extra = append(extra, r)
		case "p3":
			r["link"] = []any{map[string]any{"other": ref("Patient/p1"), "type": "seealso"}}
			extra = append(extra, r)
		}
	}
	for _, r := range extra {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		status, body := send(ctx, t, http.MethodPut, e.upstream, key(r), "", string(b))
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
	}
	s := &storedSet{owner: map[string]string{}, lab: map[string]bool{}, versions: map[string][]string{}}
	for _, r := range append(all, extra...) {
		s.add(key(r), r)
	}
	for _, versions := range changingResources() {
		k := key(versions[0])
		for _, r := range versions {
			b, err := json.Marshal(r)
			require.NoError(t, err)
			status, body := send(ctx, t, http.MethodPut, e.upstream, k, "", string(b))
			require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
			var stored map[string]any
			require.NoError(t, json.Unmarshal(body, &stored))
			vid := key(stored)[len(k)+1:]
			s.add(key(stored), r)
			s.add(k, r)
			s.versions[k] = append(s.versions[k], vid)
		}
	}
	return s
}

// changingResources are Observations of p1 stored in two versions whose
// rights differ: laboratory then vital-signs, vital-signs then
// laboratory, p1's then p2's, p2's then p1's. A history or vread must
// hold each version to the token's rights.
func changingResources() [][]map[string]any {
	obs := func(id, p, category string) map[string]any {
		return map[string]any{"resourceType": "Observation", "id": id, "status": "final",
			"code": map[string]any{"text": "potassium"}, "subject": ref("Patient/" + p),
			"category": []any{concept(coding(sysCategory, category))},
			"text":     map[string]any{"status": "generated", "div": `<div xmlns="http://www.w3.org/1999/xhtml">` + marker(p) + `</div>`}}
	}
	return [][]map[string]any{
		{obs("obs-flip-p1", "p1", "laboratory"), obs("obs-flip-p1", "p1", "vital-signs")},
		{obs("obs-flop-p1", "p1", "vital-signs"), obs("obs-flop-p1", "p1", "laboratory")},
		{obs("obs-moved-p1", "p1", "laboratory"), obs("obs-moved-p1", "p2", "laboratory")},
		{obs("obs-came-p1", "p2", "laboratory"), obs("obs-came-p1", "p1", "laboratory")},
	}
}

// add records r's rights under k ("Type/id", or "Type/id@version" for
// one version of a changingResources resource).
func (s *storedSet) add(k string, r map[string]any) {
	s.owner[k] = owner(r)
	if r["resourceType"] == "Observation" {
		s.lab[k], _ = hunt.IsLaboratory(r)
	}
}

// keyOf is the key of a resource as an answer holds it: with its
// version when the rights of its versions differ.
func (s *storedSet) keyOf(r map[string]any) string {
	if k := key(r); strings.Contains(k, "@") {
		if _, ok := s.owner[k]; ok {
			return k
		}
	}
	return fmt.Sprintf("%s/%s", r["resourceType"], r["id"])
}

// patientMay is the patient token's right to a stored resource.
func (s *storedSet) patientMay(k string) bool {
	o, ok := s.owner[k]
	return ok && (o == "" || o == contextPatient)
}

// labMay is the constrained user token's right to a stored resource.
func (s *storedSet) labMay(k string) bool {
	typ, _, _ := strings.Cut(k, "/")
	_, ok := s.owner[k]
	switch typ {
	case "Patient", "Encounter":
		return ok
	case "Observation":
		return s.lab[k]
	}
	return false
}

// visible counts the stored resources of typ ("" for every type) that
// may allows.
func (s *storedSet) visible(typ string, may func(string) bool) int {
	n := 0
	for k := range s.owner {
		if (typ == "" || strings.HasPrefix(k, typ+"/")) && !strings.Contains(k, "@") && may(k) {
			n++
		}
	}
	return n
}

// holder is one token and what its answers came to.
type holder struct {
	name     string
	token    string
	may      func(key string) bool
	stored   *storedSet
	gateway  string
	statuses map[int]int
	floor    int // the percentage of requests that must be answered with entries

	answered, withEntries, pages, withheld int
}

// run sends target with the holder's token, checks a 2xx answer and
// the pages its next links lead to, and counts; up is the upstream's
// answer to target without a token.
func (h *holder) run(ctx context.Context, t *testing.T, e *env, i int, target string, up []byte) {
	t.Helper()
	status, body := send(ctx, t, http.MethodGet, e.gateway, target, h.token, "")
	h.statuses[status]++
	if status < 200 || status > 299 {
		h.checkDenial(t, fmt.Sprintf("case %d GET %s", i, target), status, body)
		return
	}
	h.answered++
	if h.check(t, fmt.Sprintf("case %d GET %s", i, target), target, body) > 0 {
		h.withEntries++
	}
	if h.holdsForbidden(t, up) {
		h.withheld++
	}
	h.follow(ctx, t, e, fmt.Sprintf("case %d", i), target, body)
}

// follow sends, with the holder's token, the next links body and the
// pages after it hold (at most 10), and checks each answer; where and
// target name the request body answered.
func (h *holder) follow(ctx context.Context, t *testing.T, e *env, where, target string, body []byte) {
	t.Helper()
	next := nextLink(body)
	for n := 0; next != "" && n < 10; n++ {
		require.True(t, h.namesGateway(next), "%s %s (%s): next link %q does not name the gateway", where, target, h.name, next)
		status, page := send(ctx, t, http.MethodGet, e.gateway, next, h.token, "")
		h.pages++
		if status < 200 || status > 299 {
			h.checkDenial(t, where+" GET "+next, status, page)
			return
		}
		h.check(t, where+" GET "+next, next, page)
		next = nextLink(page)
	}
}

// checkDenial: a refusal may say anything but another patient's marker;
// where names the request.
func (h *holder) checkDenial(t *testing.T, where string, status int, body []byte) {
	t.Helper()
	if h.may("Patient/p2") {
		return
	}
	for _, p := range []string{"p2", "p3", caseVariant} {
		require.NotContains(t, string(body), marker(p), "LEAK: %s (%s) answered %d with %s's marker: %s", where, h.name, status, p, body)
	}
}

// check holds one 2xx answer (body) to the request where names, a search
// of target when a searchset, to the holder's rights and returns how
// many resources (OperationOutcomes aside) it holds.
func (h *holder) check(t *testing.T, where, target string, body []byte) int {
	t.Helper()
	h.checkDenial(t, where, 200, body)
	where += " (" + h.name + ")"
	n := 0
	for _, r := range resourcesIn(t, body) {
		if r["resourceType"] == "OperationOutcome" {
			continue
		}
		n++
		k := h.stored.keyOf(r)
		require.True(t, h.may(k), "LEAK: %s returned %s, which the token may not see: %s", where, k, body)
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Total        *int   `json:"total"`
		Link         []struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		} `json:"link"`
		Entry []struct {
			FullURL string `json:"fullUrl"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" {
		return n
	}
	for _, l := range b.Link {
		require.True(t, h.namesGateway(l.URL), "%s: link %s %q does not name the gateway", where, l.Relation, l.URL)
	}
	for _, en := range b.Entry {
		require.True(t, en.FullURL == "" || h.namesGateway(en.FullURL), "%s: fullUrl %q does not name the gateway", where, en.FullURL)
	}
	if b.Type == "searchset" && b.Total != nil {
		limit := h.stored.visible(searchedType(target), h.may)
		require.LessOrEqual(t, *b.Total, limit, "LEAK: %s: total %d counts more than the %d resources the token may see", where, *b.Total, limit)
	}
	return n
}

// namesGateway reports whether u is the gateway's base or under it.
func (h *holder) namesGateway(u string) bool {
	rest, ok := strings.CutPrefix(u, h.gateway)
	return ok && (rest == "" || rest[0] == '/' || rest[0] == '?')
}

// holdsForbidden reports whether the upstream's answer up holds a
// resource the token may not see: the gateway's 2xx answer to the same
// request then had to narrow or filter it.
func (h *holder) holdsForbidden(t *testing.T, up []byte) bool {
	for _, r := range resourcesIn(t, up) {
		if r["resourceType"] != "OperationOutcome" && !h.may(h.stored.keyOf(r)) {
			return true
		}
	}
	return false
}

// searchedType is the type a search target returns matches of ("" when
// it may be several: system searches, Patient/x/*, $everything).
func searchedType(target string) string {
	path, _, _ := strings.Cut(target, "?")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) == 1 && segs[0] != "" && !strings.HasPrefix(segs[0], "$"):
		return segs[0]
	case len(segs) == 3 && segs[2] != "*" && !strings.HasPrefix(segs[2], "$") && segs[2] != "_history":
		return segs[2]
	}
	return ""
}

// nextLink is a Bundle's next link, "" when it has none.
func nextLink(body []byte) string {
	var b struct {
		Link []struct {
			Relation string `json:"relation"`
			URL      string `json:"url"`
		} `json:"link"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}
