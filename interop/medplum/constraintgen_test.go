package medplum

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file builds the corpus of the constraint differential
// (constraint_test.go): resources of four R4 types and scope constraints
// on them, from a seeded generator and by hand.

// pairSeed makes the generated corpus the same on every run.
const pairSeed = 20250101

// constraintCase is one scope constraint: param=value on resources of typ,
// the value as FHIR search writes it (before URL encoding).
type constraintCase struct {
	typ, param, value string
}

func (c constraintCase) String() string { return c.typ + "?" + c.param + "=" + c.value }

// vocabulary of the generated token elements and values. The codes hold
// the characters FHIR search escapes (, | \), a case variant and a code
// that is a prefix of another.
var (
	tokenSystems = []string{"http://terminology.hl7.org/CodeSystem/observation-category", "http://example.org/cs", "http://example.org/CS", "x"}
	tokenCodes   = []string{"laboratory", "Laboratory", "vital-signs", "a,b", "x|y", `c\d`, "a", "b", "y", "lab"}
	texts        = []string{"laboratory", "heart rate", "a", "y"}
	statusCodes  = []string{"final", "amended", "preliminary", "registered"}
	references   = []string{"Patient/123", "Patient/456", "Group/123", "Encounter/123", "Practitioner/123",
		"Patient/123/_history/2", "http://other.example/fhir/Patient/123", "#c1"}
	refItems = []string{"Patient/123", "123", "Group/123", "456", "Patient/456", "Encounter/123", "Practitioner/123",
		"Patient/123/_history/2", "http://other.example/fhir/Patient/123", "#c1", "patient/123", `Patient/123\,Patient/456`}
)

// gen draws the random parts of the corpus.
type gen struct{ r *rand.Rand }

func newGen() *gen { return &gen{r: rand.New(rand.NewPCG(pairSeed, pairSeed))} }

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }
func (g *gen) chance(n int) bool         { return g.r.IntN(n) == 0 }

// coding is a Coding with a system one time in four absent and a display
// one time in four.
func (g *gen) coding() map[string]any {
	c := map[string]any{"code": g.pick(tokenCodes)}
	if !g.chance(4) {
		c["system"] = g.pick(tokenSystems)
	}
	if g.chance(4) {
		c["display"] = g.pick(texts)
	}
	return c
}

// concept is a CodeableConcept of zero to three codings, sometimes with text.
func (g *gen) concept() map[string]any {
	cc := map[string]any{}
	var codings []any
	for range g.r.IntN(4) {
		codings = append(codings, g.coding())
	}
	if len(codings) > 0 {
		cc["coding"] = codings
	}
	if len(codings) == 0 || g.chance(3) {
		cc["text"] = g.pick(texts)
	}
	return cc
}

func (g *gen) identifiers() []any {
	var out []any
	for range 1 + g.r.IntN(2) {
		id := map[string]any{"value": g.pick(tokenCodes)}
		if !g.chance(3) {
			id["system"] = g.pick(tokenSystems)
		}
		if g.chance(4) {
			id["type"] = map[string]any{"text": g.pick(texts)}
		}
		out = append(out, id)
	}
	return out
}

func (g *gen) tags() []any {
	var out []any
	for range g.r.IntN(3) {
		out = append(out, g.coding())
	}
	return out
}

// reference is a Reference to one of references, or one time in eight a
// Reference with a display only.
func (g *gen) reference() map[string]any {
	if g.chance(8) {
		return map[string]any{"display": "somebody"}
	}
	return map[string]any{"reference": g.pick(references)}
}

// setSome sets key to the value of make, unless it is left out (one time
// in absentOneIn).
func (g *gen) setSome(r map[string]any, key string, absentOneIn int, make func() any) {
	if g.chance(absentOneIn) {
		return
	}
	if v := make(); v != nil {
		r[key] = v
	}
}

// resource generates one resource of type t with id id.
func (g *gen) resource(t, id string) map[string]any {
	r := map[string]any{"resourceType": t, "id": id}
	if tags := g.tags(); len(tags) > 0 {
		r["meta"] = map[string]any{"tag": tags}
	}
	ref := func() any { return g.reference() }
	switch t {
	case "Observation":
		r["status"] = g.pick(statusCodes)
		r["code"] = g.concept()
		g.setSome(r, "category", 4, func() any {
			var cats []any
			for range 1 + g.r.IntN(2) {
				cats = append(cats, g.concept())
			}
			return cats
		})
		g.setSome(r, "subject", 6, ref)
		g.setSome(r, "encounter", 2, ref)
		g.setSome(r, "identifier", 3, func() any { return g.identifiers() })
	case "Patient":
		g.setSome(r, "gender", 4, func() any { return g.pick([]string{"male", "female", "other", "unknown"}) })
		g.setSome(r, "active", 3, func() any { return g.chance(2) })
		g.setSome(r, "identifier", 3, func() any { return g.identifiers() })
	case "Encounter":
		r["status"] = g.pick([]string{"planned", "finished", "cancelled"})
		r["class"] = g.coding()
		g.setSome(r, "subject", 6, ref)
	case "MedicationRequest":
		r["status"] = g.pick([]string{"active", "completed", "stopped"})
		r["intent"] = "order"
		r["subject"] = g.reference()
		if g.chance(4) {
			r["medicationReference"] = map[string]any{"reference": "Medication/med1"}
		} else {
			r["medicationCodeableConcept"] = g.concept()
		}
		g.setSome(r, "encounter", 2, ref)
	}
	return r
}

// escapeToken escapes the characters FHIR search escapes in a token part.
func escapeToken(s string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `|`, `\|`, `$`, `\$`).Replace(s)
}

// tokenItem is one token search item in one of FHIR's forms: code,
// system|code, |code, system|, or one time in eight a code left unescaped.
func (g *gen) tokenItem() string {
	code, system := g.pick(tokenCodes), g.pick(tokenSystems)
	switch g.r.IntN(8) {
	case 0:
		return code // unescaped: "a,b" is an OR of two codes, "x|y" a system and a code
	case 1, 2:
		return escapeToken(system) + "|" + escapeToken(code)
	case 3:
		return "|" + escapeToken(code)
	case 4:
		return escapeToken(system) + "|"
	case 5:
		return escapeToken(g.pick(texts))
	}
	return escapeToken(code)
}

// orList joins one to three items of item with FHIR's OR comma.
func (g *gen) orList(item func() string) string {
	items := make([]string, 1+g.r.IntN(3))
	for i := range items {
		items[i] = item()
	}
	return strings.Join(items, ",")
}

// primitiveItem is a code of codes, sometimes as |code or system|code.
func (g *gen) primitiveItem(codes []string, system string) func() string {
	return func() string {
		c := g.pick(codes)
		switch g.r.IntN(6) {
		case 0:
			return "|" + c
		case 1:
			return system + "|" + c
		}
		return c
	}
}

// constraints generates n constraints on each parameter the differential
// covers.
func (g *gen) constraints(n int) []constraintCase {
	token := func() string { return g.orList(g.tokenItem) }
	ref := func() string { return g.orList(func() string { return g.pick(refItems) }) }
	params := []struct {
		typ, param string
		value      func() string
	}{
		{"Observation", "category", token}, {"Observation", "code", token}, {"Observation", "identifier", token},
		{"Observation", "_tag", token}, {"Patient", "identifier", token}, {"Encounter", "class", token},
		{"MedicationRequest", "code", token},
		{"Observation", "status", func() string {
			return g.orList(g.primitiveItem(statusCodes, "http://hl7.org/fhir/observation-status"))
		}},
		{"Patient", "gender", func() string {
			return g.orList(g.primitiveItem([]string{"male", "female", "Male"}, "http://hl7.org/fhir/administrative-gender"))
		}},
		{"Patient", "active", func() string { return g.orList(g.primitiveItem([]string{"true", "false", "TRUE"}, "x")) }},
		{"Observation", "subject", ref}, {"Observation", "patient", ref}, {"Observation", "encounter", ref},
		{"Encounter", "subject", ref}, {"Encounter", "patient", ref},
		{"MedicationRequest", "subject", ref}, {"MedicationRequest", "patient", ref}, {"MedicationRequest", "encounter", ref},
	}
	var out []constraintCase
	for _, p := range params {
		for range n {
			out = append(out, constraintCase{p.typ, p.param, p.value()})
		}
	}
	return out
}

// resources returns n resources of each type the differential
// covers.
func (g *gen) resources(n int) []map[string]any {
	var out []map[string]any
	for _, t := range []string{"Observation", "Patient", "Encounter", "MedicationRequest"} {
		for i := range n {
			out = append(out, g.resource(t, fmt.Sprintf("gen-%s-%d", strings.ToLower(t), i)))
		}
	}
	return out
}
