package naivefhir

import (
	"encoding/json"
	"fmt"
)

// The sample patients.
const (
	Alice = "p1" // Patient/p1
	Bob   = "p2" // Patient/p2
	Carol = "p3" // Patient/p3
)

// Sample returns a small data set (valid as FHIR STU3 and R4 JSON): three
// patients (Alice p1, Bob p2, Carol p3), for each a laboratory and a
// vital-signs Observation, an Encounter and a Condition, plus a
// Practitioner and an Organization. Observation obs-p1-by-p2 is Alice's
// but names Bob as its performer (so it is in both compartments, and
// _include=Observation:performer on it reaches Bob).
func Sample() []json.RawMessage {
	out := []json.RawMessage{
		json.RawMessage(`{"resourceType":"Practitioner","id":"pr1","name":[{"family":"House"}]}`),
		json.RawMessage(`{"resourceType":"Organization","id":"org1","name":"General Hospital"}`),
	}
	for _, p := range []struct{ id, name string }{{Alice, "Alice"}, {Bob, "Bob"}, {Carol, "Carol"}} {
		out = append(out,
			raw(`{"resourceType":"Patient","id":%q,"name":[{"given":[%q],"family":"Example"}],"managingOrganization":{"reference":"Organization/org1"},"generalPractitioner":[{"reference":"Practitioner/pr1"}]}`, p.id, p.name),
			raw(`{"resourceType":"Observation","id":"obs-%s-lab","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"Patient/%s"},"performer":[{"reference":"Practitioner/pr1"}],"valueQuantity":{"value":5.4,"unit":"mmol/L"}}`, p.id, p.id),
			raw(`{"resourceType":"Observation","id":"obs-%s-vital","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/%s"},"valueQuantity":{"value":72,"unit":"/min"}}`, p.id, p.id),
			raw(`{"resourceType":"Encounter","id":"enc-%s","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/%s"}}`, p.id, p.id),
			raw(`{"resourceType":"Condition","id":"cond-%s","code":{"text":"secret diagnosis of %s"},"subject":{"reference":"Patient/%s"}}`, p.id, p.name, p.id),
		)
	}
	out = append(out, raw(`{"resourceType":"Observation","id":"obs-p1-by-p2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}]},"subject":{"reference":"Patient/%s"},"performer":[{"reference":"Patient/%s"}]}`, Alice, Bob))
	return out
}

func raw(format string, args ...any) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(format, args...))
}
