package medplum

// The hand-picked part of the constraint differential's corpus: the
// resources and constraints a matcher most easily gets wrong.

const (
	sysCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysLOINC    = "http://loinc.org"
	sysActCode  = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysRxNorm   = "http://www.nlm.nih.gov/research/umls/rxnorm"
)

func coding(system, code string) map[string]any {
	c := map[string]any{}
	if system != "" {
		c["system"] = system
	}
	if code != "" {
		c["code"] = code
	}
	return c
}

func concept(codings ...map[string]any) map[string]any {
	var list []any
	for _, c := range codings {
		list = append(list, c)
	}
	return map[string]any{"coding": list}
}

func ref(s string) map[string]any { return map[string]any{"reference": s} }

// handResources are resources with several codings, escaped characters in
// codes, missing elements, texts only, references of other types and a
// medication by reference.
func handResources() []map[string]any {
	obs := func(id string, fields map[string]any) map[string]any {
		r := map[string]any{"resourceType": "Observation", "id": id, "status": "final", "code": map[string]any{"text": "x"}}
		for k, v := range fields {
			r[k] = v
		}
		return r
	}
	return []map[string]any{
		obs("hand-obs-lab", map[string]any{
			"category":   []any{concept(coding(sysCategory, "laboratory"), coding("http://example.org/cs", "vital-signs"))},
			"code":       map[string]any{"coding": []any{coding(sysLOINC, "1234-5")}, "text": "heart rate"},
			"subject":    ref("Patient/123"),
			"encounter":  ref("Encounter/e1"),
			"identifier": []any{map[string]any{"system": "http://example.org/ids", "value": "a,b|c"}},
			"meta":       map[string]any{"tag": []any{coding("http://example.org/tags", "x|y")}},
		}),
		obs("hand-obs-none", map[string]any{"subject": ref("Group/123"), "code": map[string]any{"text": "laboratory"}}),
		obs("hand-obs-textonly", map[string]any{
			"category":   []any{concept(map[string]any{"display": "laboratory"})},
			"code":       concept(coding(sysLOINC, "")),
			"identifier": []any{map[string]any{"type": map[string]any{"text": "a"}}},
			"subject":    map[string]any{"display": "Patient 123"},
		}),
		obs("hand-obs-escapes", map[string]any{
			"category": []any{concept(coding("", "a,b"), coding("", "x|y"), coding("", `c\d`))},
			"subject":  ref("Patient/456"),
		}),
		obs("hand-obs-sysbar", map[string]any{"category": []any{concept(coding("x", "y"))}, "subject": ref("Patient/123/_history/2")}),
		{"resourceType": "Encounter", "id": "hand-enc-amb", "status": "finished",
			"class": map[string]any{"system": sysActCode, "code": "AMB", "display": "ambulatory"}, "subject": ref("Patient/123")},
		{"resourceType": "Encounter", "id": "hand-enc-group", "status": "finished", "class": coding("", "AMB"), "subject": ref("Group/123")},
		{"resourceType": "Patient", "id": "hand-pat-1", "gender": "male", "active": true,
			"identifier": []any{map[string]any{"system": "http://example.org/mrn", "value": "123"}}},
		{"resourceType": "Patient", "id": "hand-pat-2", "active": false},
		{"resourceType": "MedicationRequest", "id": "hand-medreq-cc", "status": "active", "intent": "order",
			"medicationCodeableConcept": concept(coding(sysRxNorm, "1049221")), "subject": ref("Patient/123"), "encounter": ref("Encounter/e1")},
		{"resourceType": "MedicationRequest", "id": "hand-medreq-ref", "status": "active", "intent": "order",
			"medicationReference": ref("Medication/1049221"), "subject": ref("Patient/123")},
	}
}

// handConstraints are constraints in every value form on every parameter
// the differential covers, against handResources.
func handConstraints() []constraintCase {
	var out []constraintCase
	add := func(typ, param string, values ...string) {
		for _, v := range values {
			out = append(out, constraintCase{typ, param, v})
		}
	}
	add("Observation", "category", "laboratory", sysCategory+"|laboratory", "|laboratory", sysCategory+"|",
		"laboratory,vital-signs", "http://example.org/cs|vital-signs", "vital-signs", "Laboratory",
		`a\,b`, "a,b", `x\|y`, "x|y", `c\\d`, "|", `\|`)
	add("Observation", "code", "1234-5", sysLOINC+"|1234-5", sysLOINC+"|", "heart rate", "|1234-5")
	add("Observation", "identifier", `http://example.org/ids|a\,b\|c`, `a\,b\|c`, "http://example.org/ids|", "|", "a")
	add("Observation", "_tag", `http://example.org/tags|x\|y`, `x\|y`, "http://example.org/tags|", "x|y")
	add("Observation", "subject", "Patient/123", "123", "Group/123", "Patient/456,Group/123", "Patient/123/_history/2")
	add("Observation", "patient", "123", "Patient/123", "Group/123", "456")
	add("Observation", "encounter", "Encounter/e1", "e1")
	add("Observation", "status", "final", "|final", "http://hl7.org/fhir/observation-status|final", "amended,final")
	add("Encounter", "class", "AMB", sysActCode+"|AMB", "|AMB", "ambulatory", sysActCode+"|")
	add("Encounter", "patient", "123", "Patient/123")
	add("Encounter", "subject", "123", "Group/123")
	add("Patient", "gender", "male", "male,female", "|male", "female")
	add("Patient", "active", "true", "false", "true,false")
	add("Patient", "identifier", "http://example.org/mrn|123", "123", "|123")
	add("MedicationRequest", "code", "1049221", sysRxNorm+"|1049221", "Medication/1049221")
	add("MedicationRequest", "patient", "123")
	add("MedicationRequest", "encounter", "e1", "Encounter/e1")
	return out
}
