package naivefhir

import (
	"encoding/json"
)

// SharedTypes are the resource types of Sample that belong to no patient
// (a policy shares them with patient/ scopes).
var SharedTypes = []string{"Practitioner", "Organization"}

// Leaks returns "Type/id" of every resource in body (a resource, or a
// Bundle of any type, nested Bundles included) that the given patient may
// not see: a Patient other than them, or a resource that refers to them
// in none of subject, patient and performer (the patient compartment
// elements of the types in Sample). Resources of SharedTypes and
// OperationOutcomes are never leaks. A body that is not JSON is reported
// as a leak of "unparsable body", since nothing can be said about it.
func Leaks(body []byte, patient string) []string {
	if len(body) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"unparsable body"}
	}
	var out []string
	collect(v, patient, &out)
	return out
}

func collect(v any, patient string, out *[]string) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	rt, _ := m["resourceType"].(string)
	id, _ := m["id"].(string)
	switch rt {
	case "Bundle":
		entries, _ := m["entry"].([]any)
		for _, e := range entries {
			em, _ := e.(map[string]any)
			collect(em["resource"], patient, out)
			if resp, ok := em["response"].(map[string]any); ok {
				collect(resp["outcome"], patient, out)
			}
		}
		return
	case "OperationOutcome", "":
		return
	case "Patient":
		if id != patient {
			*out = append(*out, rt+"/"+id)
		}
		return
	}
	for _, t := range SharedTypes {
		if rt == t {
			return
		}
	}
	for _, el := range []string{"subject", "patient", "performer"} {
		for _, ref := range references(m[el]) {
			if ref == "Patient/"+patient {
				return
			}
		}
	}
	*out = append(*out, rt+"/"+id)
}
