package fhirauth

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// witnessTypes are the types whose grants the witness property builds
// requests for: R4 types whose narrowing and compartment parameters
// fhirspec.SearchPaths reads, in and out of the patient compartment.
var witnessTypes = []string{"Patient", "Observation", "Condition", "Encounter", "Basic", "Group", "Practitioner"}

// witnessWhere are the constraints of the witness property's scopes:
// reference constraints naming the token's patient (1) in several
// spellings, another patient, other types, OR-lists, on compartment
// parameters and on others, and constraints that name nobody.
var witnessWhere = []string{
	"patient=Patient/1", "patient=1", "patient=Patient/2", "patient=2", "patient=Group/2",
	"subject=Patient/1", "subject=1", "subject=Patient/2", "subject=2", "subject=Patient/01",
	"subject=Group/2", "subject=http://fhir.test/fhir/Patient/1", "subject=Patient/1/_history/1",
	"performer=Patient/2", "performer=Practitioner/5", "focus=Patient/2",
	"patient=Patient/1,Patient/2", "patient=Patient/2%2CPatient/3", "subject=Patient/2,Group/3",
	"author=Patient/2", "member=Patient/2", "member=Patient/1", "link=Patient/2",
	"_id=1", "_id=2", "_id=Patient/1", "category=laboratory", "status=final", "gender=female",
}

// witnessScopes are hostile scope sets the witness property always
// checks, with patient claim 1.
var witnessScopes = []string{
	"patient/Observation.c?patient=Patient/2",
	"patient/Observation.c?subject=Patient/2",
	"patient/Observation.cruds?patient=Patient/2",
	"patient/Observation.cruds?subject=Patient/01",
	"patient/Observation.cruds?subject=http://fhir.test/fhir/Patient/1",
	"patient/Observation.cruds?subject=1 patient/Observation.cruds?patient=Patient/1",
	"patient/Observation.cu?patient=Patient/1,Patient/2",
	"patient/Observation.c?patient=Patient/2 patient/Observation.c?category=laboratory",
	"patient/Observation.cruds?patient=Patient/1&subject=Patient/2",
	"patient/Observation.cruds?performer=Patient/2 patient/Observation.cruds?focus=Patient/2",
	"patient/Encounter.cruds?patient=Patient/2 patient/Encounter.cruds?subject=Group/2",
	"patient/Basic.cruds?subject=Group/2 patient/Basic.cruds?author=Patient/2",
	"patient/Group.cruds?member=Patient/2",
	"patient/Patient.rus?_id=2 patient/Patient.rus?link=Patient/2",
	"patient/Patient.rud?link=Patient/2",
	"patient/Patient.u?gender=female",
	"patient/*.cruds?patient=Patient/2",
	"patient/*.cruds?subject=2",
	"patient/Observation.write patient/Observation.c?patient=Patient/2",
	"user/Observation.cruds?subject=Patient/2 user/Condition.rs?subject=http://fhir.test/fhir/Patient/1",
}

// witnessPrincipal draws one to three scopes, mostly constrained by one
// or two of witnessWhere, and mostly patient claim 1.
func witnessPrincipal(rng *rand.Rand) *token.Principal {
	contexts := []string{"patient", "patient", "user", "system"}
	types := append(slices.Clone(witnessTypes), "*")
	perms := []string{"c", "r", "s", "u", "d", "cu", "rs", "cruds", "rd", "read", "write"}
	var toks []string
	for range 1 + rng.Intn(3) {
		perm := perms[rng.Intn(len(perms))]
		s := contexts[rng.Intn(len(contexts))] + "/" + types[rng.Intn(len(types))] + "." + perm
		if perm != "read" && perm != "write" && rng.Intn(5) != 0 {
			s += "?" + witnessWhere[rng.Intn(len(witnessWhere))]
			if rng.Intn(4) == 0 {
				s += "&" + witnessWhere[rng.Intn(len(witnessWhere))]
			}
		}
		toks = append(toks, s)
	}
	set, _ := scope.ParseSetLenient(strings.Join(toks, " "))
	pr := &token.Principal{ClientID: "witness", Scopes: set}
	if rng.Intn(10) < 8 {
		pr.Patient = "1"
	}
	return pr
}

// TestExplainGrantsHaveWitness is the other half of the agreement
// property: every interaction Explain offers on a type can be used. For
// each one it builds, from the grant's context, patient and constraints,
// concrete requests (and the resource each reads, finds or writes) and
// requires one that Authorize allows and whose resource passes the
// decision's checks (CheckResult, CheckStored, and for a search the
// parameters the decision adds). An interaction that no request can use
// must not be offered.
func TestExplainGrantsHaveWitness(t *testing.T) {
	prs := witnessPrincipals(t, 22, 300)
	t.Run("R4", func(t *testing.T) { checkWitnesses(t, testPolicy(t), prs) })
	t.Run("STU3", func(t *testing.T) { checkWitnesses(t, careconnectPolicy(t), prs) })
}

// witnessPrincipals returns a principal for patient 1 for each of
// witnessScopes, then n random ones (a fifth of them under -short) drawn
// with seed.
func witnessPrincipals(t *testing.T, seed int64, n int) []*token.Principal {
	var prs []*token.Principal
	for _, s := range witnessScopes {
		prs = append(prs, principal(t, s, "1"))
	}
	rng := rand.New(rand.NewSource(seed))
	if testing.Short() {
		n /= 5
	}
	for range n {
		prs = append(prs, witnessPrincipal(rng))
	}
	return prs
}

// checkWitnesses requires a witness for every interaction Explain
// offers pr on the witness types under pol.
func checkWitnesses(t *testing.T, pol *Policy, prs []*token.Principal) {
	ctx := context.Background()
	checked := 0
	for _, pr := range prs {
		e := pol.Explain(ctx, pr)
		for _, g := range e.Grants {
			for _, typ := range g.Types {
				if !slices.Contains(witnessTypes, typ) {
					continue
				}
				for _, in := range g.Interactions {
					if strings.HasPrefix(in, "$") {
						continue
					}
					checked++
					if ok, tried := witness(pol, pr, g, typ, in); !ok {
						t.Fatalf("scopes %q patient %q: Explain offers %s on %s (%+v) but no request built from the grant is allowed:\n%s\nexplain: %s",
							pr.Scopes, pr.Patient, in, typ, g, strings.Join(tried, "\n"), e)
					}
				}
			}
		}
	}
	t.Logf("%d offered interactions had a witness", checked)
}

// TestExplainOffersWhatHasWitness is the converse: whenever a request
// built from one of the token's constraint alternatives (or none) is
// allowed, with its resource passing the decision's checks, Explain
// offers that interaction on that type. Explain leaves out only what no
// request can use, however the constraint spells the token's patient.
func TestExplainOffersWhatHasWitness(t *testing.T) {
	prs := witnessPrincipals(t, 23, 150)
	t.Run("R4", func(t *testing.T) { checkOffered(t, testPolicy(t), prs) })
	t.Run("STU3", func(t *testing.T) { checkOffered(t, careconnectPolicy(t), prs) })
}

// checkOffered requires Explain to offer pr every interaction on the
// witness types for which witnessGrant finds a usable request under pol.
func checkOffered(t *testing.T, pol *Policy, prs []*token.Principal) {
	found := 0
	for _, pr := range prs {
		e := pol.Explain(context.Background(), pr)
		for _, typ := range witnessTypes {
			for _, in := range []string{ExplainRead, ExplainSearch, ExplainCreate, ExplainUpdate, ExplainDelete} {
				g, ok := witnessGrant(pol, pr, typ, in)
				if !ok {
					continue
				}
				found++
				if _, offered := findGrant(e, in, typ); !offered {
					t.Fatalf("scopes %q patient %q: a request can %s %s under %+v, but Explain does not offer it:\n%s", pr.Scopes, pr.Patient, in, typ, g, e)
				}
			}
		}
	}
	t.Logf("%d usable interactions were offered", found)
}

// witnessGrant returns a grant of one of pr's contexts, with one of its
// constraint alternatives for interaction in on typ (or none), under
// which witness finds a usable request.
func witnessGrant(pol *Policy, pr *token.Principal, typ, in string) (Grant, bool) {
	letters := explainLetter[in]
	for _, c := range []scope.Context{scope.Patient, scope.User, scope.System} {
		if !pr.Scopes.HasContext(c) {
			continue
		}
		g := Grant{Context: c.String(), Where: [][]string{nil}}
		if c == scope.Patient {
			g.Patient = pr.Patient
		}
		for _, alt := range pr.Scopes.AppendConstraints(nil, c, typ, letters) {
			items := make([]string, len(alt))
			for i, k := range alt {
				items[i] = k.String()
			}
			g.Where = append(g.Where, items)
		}
		for _, alt := range g.Where {
			one := g
			one.Where = [][]string{alt}
			if ok, _ := witness(pol, pr, one, typ, in); ok {
				return one, true
			}
		}
	}
	return Grant{}, false
}

// witness looks for a request using interaction in on type typ under
// grant g that pol allows, with its resource passing the decision's
// checks. It returns the requests tried (a few) with their answers.
func witness(pol *Policy, pr *token.Principal, g Grant, typ, in string) (bool, []string) {
	alts := g.Where
	if len(alts) == 0 {
		alts = [][]string{nil}
	}
	var tried []string
	for _, alt := range alts {
		for _, res := range witnessResources(pol.version, g, typ, alt) {
			ok, why := witnessTry(pol, pr, typ, in, res)
			if ok {
				return true, nil
			}
			if len(tried) < 6 {
				tried = append(tried, why)
			}
		}
	}
	return false, tried
}

// witnessTry decides one request of interaction in carrying, reading or
// finding resource res, and checks res against the decision.
func witnessTry(pol *Policy, pr *token.Principal, typ, in string, res map[string]any) (bool, string) {
	id, _ := res["id"].(string)
	body, _ := json.Marshal(res)
	method, target, send := "GET", typ+"/"+id, ""
	switch in {
	case ExplainSearch:
		target = typ
	case ExplainHistory:
		target = typ + "/_history"
	case ExplainCreate:
		created := map[string]any{}
		for k, v := range res {
			created[k] = v
		}
		delete(created, "id")
		b, _ := json.Marshal(created)
		method, target, send = "POST", typ, string(b)
	case ExplainUpdate:
		method, send = "PUT", string(body)
	case ExplainDelete:
		method = "DELETE"
	}
	_, d := pol.Authorize(context.Background(), pr, newRequest(method, "/fhir/"+target, send, nil))
	what := method + " " + target + " " + send + " with " + string(body)
	if !d.Allowed {
		return false, what + ": denied: " + d.Reason
	}
	var err error
	switch in {
	case ExplainRead, ExplainSearch:
		err = d.CheckResult(body)
	case ExplainUpdate, ExplainDelete:
		err = d.CheckStored(body)
	}
	if err == nil && in == ExplainSearch {
		err = narrowHolds(pol.version, typ, body, d.Narrow)
	}
	if err != nil {
		return false, what + ": " + err.Error()
	}
	return true, ""
}

// narrowHolds reports whether resource res matches every parameter a
// search decision adds (as the constraint matcher reads them), so that a
// server would return it.
func narrowHolds(v fhirspec.Version, typ string, res []byte, narrow url.Values) error {
	for k, vals := range narrow {
		for _, val := range vals {
			c := scope.Constraint{Param: k, Value: url.QueryEscape(val)}
			held, _, err := constraintHolds(v, typ, res, c, nil)
			if err != nil || !held {
				return fmt.Errorf("the resource does not match the added %s=%s (%v)", k, val, err)
			}
		}
	}
	return nil
}

// witnessPlacement is one value a witness resource holds at a search path.
type witnessPlacement struct {
	sp  fhirspec.SearchPath
	val any
}

// witnessResources builds the resources of type typ that could satisfy
// alternative alt (Explain's "param=value" items) under grant g: each
// choice of an OR-list item, a search path and a value shape per
// constraint, and under patient context each compartment element holding
// the grant's patient.
func witnessResources(v fhirspec.Version, g Grant, typ string, alt []string) []map[string]any {
	choices := [][]witnessPlacement{}
	id := "w1"
	if g.Patient != "" && typ == "Patient" {
		id = g.Patient
	} else if g.Patient != "" && typ != "Patient" {
		if params, ok := fhirspec.PatientCompartment(v, typ); ok {
			var slots []witnessPlacement
			for _, p := range params {
				paths, _ := fhirspec.SearchPaths(v, typ, p.Name)
				for _, sp := range paths {
					if slices.Contains(p.Paths, sp.Path) {
						slots = append(slots, witnessPlacement{sp, map[string]any{"reference": "Patient/" + g.Patient}})
					}
				}
			}
			choices = append(choices, slots)
		}
	}
	for _, item := range alt {
		param, raw, _ := strings.Cut(item, "=")
		value, err := url.QueryUnescape(raw)
		if err != nil {
			value = raw
		}
		paths, _ := fhirspec.SearchPaths(v, typ, param)
		var opts []witnessPlacement
		for _, it := range splitList(value) {
			for _, sp := range paths {
				for _, val := range witnessValues(sp, it) {
					opts = append(opts, witnessPlacement{sp, val})
				}
			}
		}
		choices = append(choices, opts)
	}
	var out []map[string]any
	witnessCombine(choices, nil, func(ps []witnessPlacement) {
		if res, ok := witnessResource(typ, id, ps); ok && len(out) < 200 {
			out = append(out, res)
		}
	})
	return out
}

// witnessCombine calls fn with every combination of one placement per
// choice.
func witnessCombine(choices [][]witnessPlacement, acc []witnessPlacement, fn func([]witnessPlacement)) {
	if len(choices) == 0 {
		fn(acc)
		return
	}
	for _, p := range choices[0] {
		witnessCombine(choices[1:], append(acc[:len(acc):len(acc)], p), fn)
	}
}

// witnessValues are the JSON values of search path sp's data type that
// match constraint item it (a bare id as a reference of the target type,
// or of Patient and of Group when any type goes).
func witnessValues(sp fhirspec.SearchPath, it string) []any {
	system, code, hasBar, _ := cutToken(it)
	token := func(codeKey string) map[string]any {
		m := map[string]any{codeKey: code}
		if hasBar && system != "" {
			m["system"] = system
			if code == "" {
				m[codeKey] = "x"
			}
		}
		return m
	}
	switch sp.Type {
	case fhirspec.TypeReference:
		ref := func(r string) map[string]any { return map[string]any{"reference": r} }
		switch {
		case hasBar || strings.Contains(code, "/"):
			return []any{ref(it)}
		case sp.Target != "":
			return []any{ref(sp.Target + "/" + code)}
		}
		return []any{ref("Patient/" + code), ref("Group/" + code)}
	case fhirspec.TypeCodeableConcept:
		return []any{map[string]any{"coding": []any{token("code")}}}
	case fhirspec.TypeCoding:
		return []any{token("code")}
	case fhirspec.TypeIdentifier:
		return []any{token("value")}
	case fhirspec.TypeBoolean:
		return []any{it == "true"}
	}
	return []any{code}
}

// witnessResource renders placements ps into a resource of type typ with
// id (unless a placement sets it), or false when two placements need
// different values in one element that does not repeat, or the id is not
// a FHIR id.
func witnessResource(typ, id string, ps []witnessPlacement) (map[string]any, bool) {
	res := map[string]any{"resourceType": typ, "id": id}
	idSet := false
	for _, p := range ps {
		if p.sp.Path == "id" {
			if s, _ := p.val.(string); idSet && s != res["id"] {
				return nil, false
			}
			res["id"], idSet = p.val, true
			continue
		}
		if !witnessPlace(res, strings.Split(p.sp.Path, "."), p.sp.Lists, p.val) {
			return nil, false
		}
	}
	if typ == "Patient" && id != "w1" && res["id"] != id {
		return nil, false // the token's patient is the only Patient it reaches
	}
	if s, _ := res["id"].(string); !fhirspec.IsID(s) {
		return nil, false // no server stores a resource under such an id
	}
	return res, true
}

// witnessPlace sets val at path segs of object m (lists: which segments
// repeat): a repeating segment gets a new element, a single one is shared
// and must not already hold a different value.
func witnessPlace(m map[string]any, segs []string, lists uint8, val any) bool {
	for i, s := range segs {
		last := i == len(segs)-1
		if lists&(1<<i) != 0 {
			list, _ := m[s].([]any)
			if last {
				m[s] = append(list, val)
				return true
			}
			next := map[string]any{}
			m[s] = append(list, next)
			m = next
			continue
		}
		if last {
			if old, ok := m[s]; ok {
				a, _ := json.Marshal(old)
				b, _ := json.Marshal(val)
				return string(a) == string(b)
			}
			m[s] = val
			return true
		}
		next, ok := m[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[s] = next
		}
		m = next
	}
	return true
}
