package server_test

// Transactions whose entries link to each other, for the write hunt
// (writehunt_test.go): careconnect resolves urn:uuid fullUrls of creates
// (a conditional create's to the resource its search finds) in the
// references of other entries, runs entries by method (deletes, creates,
// updates, reads), and undoes a transaction that fails at any entry. It
// does not resolve conditional references in bodies ("Patient?identifier=
// ..."), which are stored as written and so name no patient.

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/hunt"
)

// whLinkedShapes are the kinds of linked transaction, drawn with the
// same weight.
var whLinkedShapes = []string{"urn-patient", "urn-link", "conditional-reference", "foreign-match",
	"put-create", "delete-recreate", "failing"}

// whCategoryCase are Observations of each sample patient whose category
// code is "Laboratory": careconnect matches token codes as written, as
// fhirauth does, so category=laboratory must not find them.
func whCategoryCase(g *whGen) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, p := range []string{"1", "2", "3"} {
		r := map[string]any{}
		for k, v := range g.templates["Observation"] {
			r[k] = v
		}
		r["resourceType"], r["id"] = "Observation", "cat-"+p
		r["subject"] = map[string]any{"reference": "Patient/" + p}
		r["category"] = []any{g.concept("Laboratory")}
		out["Observation/cat-"+p] = r
	}
	return out
}

// whLinkedRun seeds the case-variant categories with the control token
// and sends m linked transactions with each of the patient token, the
// laboratory token and the control token, checking each as whRun does and
// for atomicity.
func whLinkedRun(t *testing.T, a *attackServer, sys string, g *whGen, seed uint64, m int) {
	control := a.token(t, "sysw", "")
	for k, r := range whCategoryCase(g) {
		res := call(t, http.MethodPut, a.s.BaseURL()+"/"+k, control, strings.NewReader(hunt.JSON(r)), "Content-Type", "application/fhir+json")
		require.Equal(t, 2, res.status/100, "seeding %s: %s", k, res.body)
	}
	g.r = rand.New(rand.NewPCG(seed^0x5bd1e995, seed))
	t.Logf("linked transactions: seed %d (replay: WRITEHUNT_SEED=%d WRITEHUNT_TRANSACTIONS=%d go test -run TestWriteHunt/linked -v ./examples/careconnect/server)", seed, seed, m)
	for _, p := range []whPrincipal{
		{client: "pw", within: whInCompartment, markers: whOthersMarkers},
		{client: "labw", within: hunt.IsLaboratory, obsOnly: true},
		{client: "sysw", within: func(map[string]any) (bool, string) { return true, "" }},
	} {
		t.Run("linked "+p.client, func(t *testing.T) {
			p.token = a.token(t, p.client, "")
			g.linked = true
			defer func() { g.linked = false }()
			c := whRun(t, a, sys, g, p, m)
			t.Logf("%d transactions; by status %v; allowed %d; changed the store %d; per shape %v; entries by status %v",
				c.total, c.byStatus, c.allowed, c.changed, c.byShape, c.entries)
			require.GreaterOrEqual(t, c.allowed, m/5, "too few allowed transactions for the invariant to mean anything")
			require.GreaterOrEqual(t, c.changed, m/5, "too few transactions changed the store")
		})
	}
}

// linkedTransaction draws a transaction whose entries depend on each
// other: on a Patient it creates, on a urn:uuid another entry resolves
// (to a resource it creates or one a conditional create finds, maybe
// another patient's or a "Laboratory" one), on a conditional reference,
// on a resource another entry deletes, or with an entry bound to fail so
// that the whole Bundle must be undone.
func (g *whGen) linkedTransaction() whWrite {
	g.tame = g.r.IntN(5) < 3
	typ := g.writeType()
	if g.tame && (typ == "Patient" || typ == "Practitioner") {
		typ = g.pick([]string{"Observation", "Condition", "Encounter", "Immunization"})
	}
	if g.obsOnly && g.tame {
		typ = "Observation"
	}
	shape := g.pick(whLinkedShapes)
	var entries []map[string]any
	switch shape {
	case "urn-patient":
		entries = g.urnPatient()
	case "urn-link":
		entries = g.urnLink(typ)
	case "conditional-reference":
		entries = g.conditionalReferences(typ)
	case "foreign-match":
		entries = g.foreignMatch(typ)
	case "put-create":
		entries = g.putCreate(typ)
	case "delete-recreate":
		entries = g.deleteRecreate(typ)
	default:
		entries = g.failing(typ)
	}
	list := make([]any, len(entries))
	for i, en := range entries {
		list[i] = en
	}
	body := hunt.JSON(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": list})
	return whWrite{shape: "tx-" + shape, method: http.MethodPost, body: body, bundle: true, headers: map[string]string{}, txEntries: len(entries)}
}

// whLinkElements are, by the type of a resource an Observation may name
// (STU3, whose validator checks the type a reference names), the
// element through which it names it.
var whLinkElements = map[string]string{"Patient": "subject", "Observation": "related", "Encounter": "context",
	"MedicationRequest": "basedOn", "Practitioner": "performer"}

// linkable is typ when an Observation may name a resource of typ, else
// Observation.
func linkable(typ string) string {
	if _, ok := whLinkElements[typ]; ok {
		return typ
	}
	return "Observation"
}

// linkTo is an Observation that names link, a resource of typ.
func (g *whGen) linkTo(typ, link string) map[string]any {
	r := g.owned("Observation", "")
	ref := map[string]any{"reference": link}
	el := whLinkElements[typ]
	if _, stu3 := r["context"]; !stu3 {
		// R4 names an Encounter by encounter, an Observation by
		// derivedFrom.
		switch el {
		case "related":
			el = "derivedFrom"
		case "context":
			el = "encounter"
		}
	}
	switch el {
	case "related":
		r[el] = []any{map[string]any{"type": "derived-from", "target": ref}}
	case "basedOn", "performer", "derivedFrom":
		r[el] = []any{ref}
	default:
		r[el] = ref
	}
	return r
}

// owned draws a resource of typ with id (none when "") that, when the
// write is tame, names the context patient as written.
func (g *whGen) owned(typ, id string) map[string]any {
	r := g.resource(typ, id)
	if g.tame && typ != "Patient" && typ != "Practitioner" {
		r[hunt.PatientElement(typ)] = map[string]any{"reference": "Patient/" + whPatient}
	}
	return r
}

// whPost is a create entry of r with the fullUrl u (none when "").
func whPost(u string, r map[string]any) map[string]any {
	en := map[string]any{"resource": r, "request": map[string]any{"method": "POST", "url": r["resourceType"]}}
	if u != "" {
		en["fullUrl"] = u
	}
	return en
}

// linking draws one or two creates of compartment resources whose
// patient (and for an Observation, maybe its performer) is link.
func (g *whGen) linking(link string) []map[string]any {
	var out []map[string]any
	for range 1 + g.r.IntN(2) {
		typ := "Observation"
		if !g.obsOnly && g.chance(2) {
			typ = g.pick([]string{"Condition", "Encounter", "Immunization", "AllergyIntolerance", "MedicationRequest"})
		}
		r := g.owned(typ, "")
		r[hunt.PatientElement(typ)] = map[string]any{"reference": link}
		if typ == "Observation" && g.chance(3) {
			r["performer"] = []any{map[string]any{"reference": link}}
			if g.chance(2) {
				r["subject"] = g.reference(r)
			}
		}
		out = append(out, whPost(hunt.URN(g.r), r))
	}
	return out
}

// urnPatient is a Patient the Bundle creates (by POST, or PUT of a new
// id) or updates under a urn:uuid fullUrl, and resources naming it by
// that urn: a patient-context token must not create a second patient
// and fill it.
func (g *whGen) urnPatient() []map[string]any {
	if g.tame {
		return g.linking("Patient/" + whPatient)
	}
	u := hunt.URN(g.r)
	patient := whPost(u, g.resource("Patient", ""))
	if g.chance(2) {
		g.n++
		id := g.pick([]string{fmt.Sprintf("gen-%d", g.n), "2", "01"})
		patient = map[string]any{"fullUrl": u, "resource": g.resource("Patient", id),
			"request": map[string]any{"method": "PUT", "url": "Patient/" + id}}
	}
	return append([]map[string]any{patient}, g.linking(g.spellURN(u))...)
}

// urnLink is a resource created under a urn:uuid fullUrl and
// Observations that name it (as their subject when it is a Patient,
// else as a related target), listed before or after it.
func (g *whGen) urnLink(typ string) []map[string]any {
	typ = linkable(typ)
	u := hunt.URN(g.r)
	first := whPost(u, g.owned(typ, ""))
	var out []map[string]any
	for range 1 + g.r.IntN(2) {
		out = append(out, whPost(hunt.URN(g.r), g.linkTo(typ, g.spellURN(u))))
	}
	if g.chance(2) {
		return append(out, first)
	}
	return append([]map[string]any{first}, out...)
}

// spellURN spells the urn u as an entry names it: as it is, mostly, or
// in a form careconnect does not resolve.
func (g *whGen) spellURN(u string) string {
	if g.tame || g.chance(2) {
		return u
	}
	return g.pick([]string{strings.ReplaceAll(u, ":", "%3A"), u + "/_history/1", strings.ToUpper(u), "Patient/" + u})
}

// conditionalReferences are creates and updates whose patient reference
// (or performer, or a Patient's link) is a conditional reference, which
// careconnect stores as written; a tame one names a Practitioner so.
func (g *whGen) conditionalReferences(typ string) []map[string]any {
	var out []map[string]any
	for range 1 + g.r.IntN(2) {
		r := g.owned(typ, "")
		link := map[string]any{"reference": g.pick([]string{"Patient?identifier=", "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|",
			"Patient?_id="}) + g.pick([]string{"9990000018", "9990000026", "1", "2"})}
		switch {
		case g.tame && !g.obsOnly:
			// A conditional reference to a shared type.
			r = g.owned("Observation", "")
			r["performer"] = []any{map[string]any{"reference": "Practitioner?_id=gp-1"}}
		case typ == "Patient":
			r["link"] = []any{map[string]any{"type": "seealso", "other": link}}
		case typ == "Observation" && g.chance(3):
			r["performer"] = []any{link}
		case typ != "Practitioner":
			r[hunt.PatientElement(typ)] = link
		}
		en := whPost("", r)
		if g.chance(3) {
			rt, _ := r["resourceType"].(string)
			id := g.targetID(rt)
			r["id"] = id
			en["request"] = map[string]any{"method": "PUT", "url": rt + "/" + id}
		}
		out = append(out, en)
	}
	return out
}

// foreignSearch draws an If-None-Exist search for typ that matches one
// resource: the context patient's (tame) or anyone's, or a "Laboratory"
// Observation.
func (g *whGen) foreignSearch(typ string) string {
	pid := g.patientID()
	switch typ {
	case "Patient":
		nhs := map[string]string{"2": "9990000026", "3": "9990000034"}[pid]
		if nhs == "" {
			nhs = "9990000018"
		}
		return g.pick([]string{"identifier=https://fhir.nhs.uk/Id/nhs-number|" + nhs, "identifier=" + nhs, "_id=" + pid})
	case "Observation":
		if g.tame {
			return "_id=" + g.targetID(typ)
		}
		return g.pick([]string{"_id=cat-" + pid, "_id=cat-" + pid + "&category=laboratory", "_id=obs-lab-" + pid,
			"_id=obs-vital-" + pid, "subject=Patient/" + pid + "&_id=obs-lab-" + pid, "category=Laboratory&subject=Patient/" + pid})
	case "Practitioner":
		return "_id=gp-1"
	}
	return hunt.PatientElement(typ) + "=Patient/" + pid
}

// foreignMatch is a conditional create under a urn:uuid fullUrl whose
// search may find another patient's resource (or one outside the
// token's constraints), which the answer then holds and the urn stands
// for in other entries' references.
func (g *whGen) foreignMatch(typ string) []map[string]any {
	typ = linkable(typ)
	u := hunt.URN(g.r)
	first := whPost(u, g.owned(typ, ""))
	first["request"].(map[string]any)["ifNoneExist"] = g.foreignSearch(typ)
	out := []map[string]any{first}
	switch {
	case g.chance(3):
		// Alone: its answer is what its search found.
	case typ == "Patient":
		out = append(out, g.linking(g.spellURN(u))...)
	default:
		out = append(out, whPost("", g.linkTo(typ, g.spellURN(u))))
	}
	return out
}

// putCreate is an update that creates a resource (a new id, or a case
// variant of an existing one) under a urn:uuid fullUrl, and resources
// that name it by the urn or by its new id.
func (g *whGen) putCreate(typ string) []map[string]any {
	typ = linkable(typ)
	g.n++
	id := fmt.Sprintf("gen-%d", g.n)
	if !g.tame && g.chance(3) {
		id = g.targetID(typ)
	}
	u := hunt.URN(g.r)
	first := map[string]any{"fullUrl": u, "resource": g.owned(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id}}
	link := g.pick([]string{u, typ + "/" + id})
	if typ == "Patient" {
		return append([]map[string]any{first}, g.linking(link)...)
	}
	return []map[string]any{first, whPost("", g.linkTo(typ, link))}
}

// deleteRecreate deletes a resource and writes the same id again in the
// same Bundle (by PUT, or by POST with the id in the body), in either
// order; careconnect runs deletes first.
func (g *whGen) deleteRecreate(typ string) []map[string]any {
	id := g.targetID(typ)
	del := map[string]any{"request": map[string]any{"method": "DELETE", "url": typ + "/" + id}}
	again := map[string]any{"resource": g.owned(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id}}
	if g.chance(3) {
		again = whPost(g.pick([]string{"", hunt.URN(g.r), g.base + "/" + typ + "/" + id}), g.owned(typ, id))
	}
	if g.chance(2) {
		return []map[string]any{again, del}
	}
	return []map[string]any{del, again}
}

// failing is a write the token may make, maybe linked, and an entry
// careconnect fails: a version that does not match, an invalid resource,
// a conditional create or update that matches several, a read of nothing.
// The Bundle must leave the store as it was.
func (g *whGen) failing(typ string) []map[string]any {
	u := hunt.URN(g.r)
	out := []map[string]any{whPost(u, g.owned(typ, ""))}
	out = append(out, g.linking("Patient/"+whPatient)...)
	id := g.targetID(typ)
	var bad map[string]any
	switch g.r.IntN(4) {
	case 0:
		bad = map[string]any{"resource": g.owned(typ, id), "request": map[string]any{"method": "PUT", "url": typ + "/" + id, "ifMatch": `W/"99"`}}
	case 1:
		r := g.owned("Observation", "")
		r["status"] = "not-a-status"
		bad = whPost("", r)
	case 2:
		bad = map[string]any{"resource": g.owned("Observation", ""), "request": map[string]any{"method": "PUT", "url": "Observation?subject=Patient/" + whPatient}}
	default:
		bad = map[string]any{"request": map[string]any{"method": "GET", "url": typ + "/none-" + id}}
	}
	if g.chance(2) {
		return append([]map[string]any{bad}, out...)
	}
	return append(out, bad)
}
