package fhirauth

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// explainCase is one generated request and what Explain's grant for it
// predicts.
type explainCase struct {
	kind   string // the Explanation interaction name
	typ    string // "" for a system-level operation
	method string
	target string
	body   string
	other  bool // the request names a patient other than the token's
	meets  bool // the body meets every constraint of propWhere
}

// meetsAll are members that meet every constraint of propWhere.
const meetsAll = `,"category":[{"coding":[{"code":"laboratory"}]}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1234-5"}]}`

var (
	propContexts = []string{"patient", "user", "system"}
	propTypes    = []string{"Patient", "Observation", "Condition", "Encounter", "Practitioner", "Organization", "Medication", "Group", "Basic", "*"}
	propPerms    = []string{"read", "write", "*", "r", "s", "rs", "c", "u", "d", "cu", "cruds", "ud", "rd"}
	propWhere    = []string{"category=laboratory", "status=final", "code=http://loinc.org%7C1234-5"}
	propNonRes   = []string{"openid", "fhirUser", "launch/patient", "offline_access", "custom-scope"}
)

// randomPrincipal draws one to four scopes and, mostly, a patient claim.
func randomPrincipal(rng *rand.Rand) *token.Principal {
	var toks []string
	for range 1 + rng.Intn(4) {
		perm := propPerms[rng.Intn(len(propPerms))]
		s := propContexts[rng.Intn(3)] + "/" + propTypes[rng.Intn(len(propTypes))] + "." + perm
		if !slices.Contains([]string{"read", "write", "*"}, perm) && rng.Intn(4) == 0 {
			s += "?" + propWhere[rng.Intn(len(propWhere))]
		}
		toks = append(toks, s)
	}
	if rng.Intn(4) == 0 {
		toks = append(toks, propNonRes[rng.Intn(len(propNonRes))])
	}
	set, _ := scope.ParseSetLenient(strings.Join(toks, " "))
	pr := &token.Principal{ClientID: "prop", Scopes: set}
	if rng.Intn(10) < 7 {
		pr.Patient = "1"
	}
	return pr
}

// hasPatientParam lists the types whose searches take a patient parameter.
var hasPatientParam = map[string]bool{"Observation": true, "Condition": true, "Encounter": true}

// randomCase draws one request on a concrete type.
func randomCase(rng *rand.Rand, pol *Policy, pr *token.Principal) explainCase {
	types := propTypes[:len(propTypes)-1]
	t := types[rng.Intn(len(types))]
	if named := pr.Scopes.ResourceTypes(scope.NoContext); rng.Intn(2) == 0 && len(named) > 0 && named[0] != "*" {
		t = named[rng.Intn(len(named))] // bias towards what the token may do
	}
	meets := rng.Intn(2) == 0
	other := rng.Intn(3) == 0
	who := "1"
	if other {
		who = "2"
	}
	id := "abc"
	if t == "Patient" {
		id = who
	}
	body := func(withID bool) string {
		b := `{"resourceType":"` + t + `"`
		if withID {
			b += `,"id":"` + id + `"`
		}
		if _, in := compartmentParam(pol, t); in && t != "Patient" {
			b += `,` + compartmentJSON(pol, t, who)
		}
		if meets {
			b += meetsAll
		}
		return b + "}"
	}
	switch k := rng.Intn(9); k {
	case 0:
		return explainCase{kind: ExplainRead, typ: t, method: "GET", target: t + "/" + id, other: t == "Patient" && other}
	case 1:
		q := ""
		if hasPatientParam[t] {
			q = "?patient=Patient/" + who
		}
		return explainCase{kind: ExplainSearch, typ: t, method: "GET", target: t + q, other: q != "" && other}
	case 2:
		return explainCase{kind: ExplainHistory, typ: t, method: "GET", target: t + "/_history"}
	case 3:
		_, in := compartmentParam(pol, t)
		return explainCase{kind: ExplainCreate, typ: t, method: "POST", target: t, body: body(false), other: in && t != "Patient" && other, meets: meets}
	case 4:
		_, in := compartmentParam(pol, t)
		return explainCase{kind: ExplainUpdate, typ: t, method: "PUT", target: t + "/" + id, body: body(true), other: in && other, meets: meets}
	case 5:
		return explainCase{kind: ExplainDelete, typ: t, method: "DELETE", target: t + "/" + id, other: t == "Patient" && other}
	case 6:
		return explainCase{kind: ExplainEverything, typ: "Patient", method: "GET", target: "Patient/" + who + "/$everything", other: other}
	case 7:
		return explainCase{kind: ExplainExport, typ: "", method: "GET", target: "$export"}
	default:
		if rng.Intn(2) == 0 {
			return explainCase{kind: ExplainExport, typ: "Group", method: "GET", target: "Group/g1/$export"}
		}
		return explainCase{kind: ExplainExport, typ: "Patient", method: "GET", target: "Patient/$export"}
	}
}

// findGrant returns the grant of e that lists interaction kind on type t.
func findGrant(e *Explanation, kind, t string) (Grant, bool) {
	for _, g := range e.Grants {
		if slices.Contains(g.Interactions, kind) && slices.Contains(g.Types, t) {
			return g, true
		}
	}
	return Grant{}, false
}

// expectAllowed says what Decide must answer for c given Explain's grant:
// no grant means denied; a grant in a patient's compartment means allowed
// unless the request names another patient; a constrained write is denied
// when the body meets no constraint; any other grant allows.
func expectAllowed(e *Explanation, c explainCase) (bool, string) {
	g, ok := findGrant(e, c.kind, c.typ)
	switch {
	case !ok:
		return false, "no grant"
	case len(g.Where) > 0 && (c.kind == ExplainCreate || c.kind == ExplainUpdate) && !c.meets:
		return false, fmt.Sprintf("write under constraints %v with a body that meets none", g.Where)
	case g.Patient != "" && c.other:
		return false, "grant limited to Patient/" + g.Patient + ", request names Patient/2"
	}
	return true, fmt.Sprintf("grant %+v", g)
}

// leftOut reports whether Explain may leave out c although Authorize
// allows it with decision d: only when the allowance hangs on a check of
// the resource (the response, or the stored version) under v2
// constraints of the granting context that no resource can satisfy, and
// Explain names a scope of that context on the type as not honoured.
// TestExplainGrantsHaveWitness and TestExplainOffersWhatHasWitness hold
// such omissions to resources.
func leftOut(e *Explanation, pr *token.Principal, c explainCase, d *Decision) bool {
	letters := explainLetter[c.kind]
	if !d.Allowed || letters == 0 || !(d.NeedsResponseCheck() || d.NeedsStoredCheck()) ||
		pr.Scopes.Permits(d.Context, c.typ, letters) != scope.Constrained {
		return false
	}
	for _, n := range e.NotHonoured {
		if strings.HasPrefix(n.Scope, d.Context.String()+"/"+c.typ+".") || strings.HasPrefix(n.Scope, d.Context.String()+"/*.") {
			return true
		}
	}
	return false
}

// predictable reports whether expectAllowed can foresee the decision on
// c: a write under constraints only when each is one of propWhere's, which
// the generator's bodies meet (meetsAll) or not by construction. A fuzzed
// claim's other constraints ("0=00", or "subject=Patient/2", which the
// body meets by its subject) are the decision's to judge, not the
// generator's.
func predictable(e *Explanation, c explainCase) bool {
	g, ok := findGrant(e, c.kind, c.typ)
	if !ok || len(g.Where) == 0 || (c.kind != ExplainCreate && c.kind != ExplainUpdate) {
		return true
	}
	for _, alt := range g.Where {
		for _, w := range alt {
			if !propWhereMet[w] {
				return false
			}
		}
	}
	return true
}

// propWhereMet are propWhere's constraints as an Explanation writes them.
var propWhereMet = func() map[string]bool {
	met := map[string]bool{}
	for _, w := range propWhere {
		set, err := scope.ParseSet("user/Observation.c?" + w)
		if err != nil {
			panic(err)
		}
		for _, alt := range set.AppendConstraints(nil, scope.User, "Observation", scope.Create) {
			for _, k := range alt {
				met[k.String()] = true
			}
		}
	}
	return met
}()

// TestExplainAgreesWithDecide is the agreement property: over random
// scope sets and requests (seeded, so a failure reproduces), what Explain
// says about a request's interaction and type is what Authorize decides.
func TestExplainAgreesWithDecide(t *testing.T) {
	pol := testPolicy(t)
	rng := rand.New(rand.NewSource(20))
	ctx := context.Background()
	sets, perSet := 400, 15
	if testing.Short() {
		sets = 60
	}
	var allowed, denied int
	for range sets {
		pr := randomPrincipal(rng)
		e := pol.Explain(ctx, pr)
		for range perSet {
			c := randomCase(rng, pol, pr)
			if !predictable(e, c) {
				t.Fatalf("scopes %q: a write under propWhere's constraints taken for unpredictable", pr.Scopes)
			}
			want, why := expectAllowed(e, c)
			_, d := pol.Authorize(ctx, pr, newRequest(c.method, "/fhir/"+c.target, c.body, nil))
			if d.Allowed != want && !leftOut(e, pr, c, d) {
				t.Fatalf("scopes %q patient %q: %s %s %s\nexplain: %s (%s)\ndecide: allowed=%v %d %s",
					pr.Scopes, pr.Patient, c.method, c.target, c.body, e, why, d.Allowed, d.Status, d.Reason)
			}
			if d.Allowed {
				allowed++
			} else {
				denied++
			}
		}
	}
	t.Logf("%d allowed, %d denied", allowed, denied)
	if allowed < sets || denied < sets {
		t.Fatalf("the generator is lopsided: %d allowed, %d denied", allowed, denied)
	}
}

// compartmentRefs are the JSON members that put a resource of the
// generator's types in Patient/%s's compartment (R4 CompartmentDefinition).
var compartmentRefs = map[string]string{
	"Observation": `"subject":{"reference":"Patient/%s"}`,
	"Condition":   `"subject":{"reference":"Patient/%s"}`,
	"Encounter":   `"subject":{"reference":"Patient/%s"}`,
	"Basic":       `"author":{"reference":"Patient/%s"}`,
	"Group":       `"member":[{"entity":{"reference":"Patient/%s"}}]`,
}

// compartmentParam reports whether t is in the patient compartment.
func compartmentParam(_ *Policy, t string) (string, bool) {
	m, ok := compartmentRefs[t]
	return m, ok || t == "Patient"
}

// compartmentJSON returns the member naming Patient/who.
func compartmentJSON(_ *Policy, t, who string) string {
	return fmt.Sprintf(compartmentRefs[t], who)
}

// newRand returns the seeded generator of the explanation tests.
func newRand() *rand.Rand { return rand.New(rand.NewSource(21)) }

// FuzzExplainAgrees extends the agreement property to fuzzed scope
// claims: whatever the claim, Explain's grants predict Authorize's
// answers on generated requests, and Explain is deterministic.
func FuzzExplainAgrees(f *testing.F) {
	for _, c := range demoClients {
		f.Add(c.scopes, c.patient != "", int64(1))
	}
	f.Add("patient/Observation.rs?category=laboratory patient/Patient.r openid", true, int64(2))
	f.Add("user/Observation.cu?status=final system/Group.r patient/*.d", true, int64(3))
	f.Add("patient/Observation.cruds?patient=Patient/2 patient/Encounter.rd?subject=Patient/01 patient/*.r?subject=1", true, int64(4))
	pol := testPolicy(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, claim string, withPatient bool, seed int64) {
		set, _ := scope.ParseSetLenient(claim)
		pr := &token.Principal{ClientID: "fuzz", Scopes: set}
		if withPatient {
			pr.Patient = "1"
		}
		e := pol.Explain(ctx, pr)
		if again := pol.Explain(ctx, pr).String(); again != e.String() {
			t.Fatalf("not deterministic:\n%s\n%s", e, again)
		}
		rng := rand.New(rand.NewSource(seed))
		for range 8 {
			c := randomCase(rng, pol, pr)
			if !predictable(e, c) {
				continue
			}
			want, why := expectAllowed(e, c)
			_, d := pol.Authorize(ctx, pr, newRequest(c.method, "/fhir/"+c.target, c.body, nil))
			if d.Allowed != want && !leftOut(e, pr, c, d) {
				t.Fatalf("scopes %q: %s %s %s\nexplain: %s (%s)\ndecide: %v %s", claim, c.method, c.target, c.body, e, why, d.Allowed, d.Reason)
			}
		}
	})
}
