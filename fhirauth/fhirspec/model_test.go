package fhirspec

import (
	"strings"
)

// modelInCompartment is a slow, obviously-correct reference for
// InPatientCompartment over a document decoded by encoding/json into
// map[string]any. It follows the same published rules (compartment paths,
// one level of arrays, "reference" strings, Patient's own id) but none of
// the scanner's code; the fuzz test compares the two.
func modelInCompartment(v Version, doc map[string]any, patientID string, bases []string) (bool, error) {
	rt, ok := doc["resourceType"].(string)
	if !ok {
		return false, ErrMalformedResource
	}
	if !IsResourceType(v, rt) {
		return false, ErrUnknownResourceType
	}
	params, ok := PatientCompartment(v, rt)
	if !ok {
		return false, nil
	}
	if id, ok := doc["id"]; ok {
		if _, isString := id.(string); !isString {
			return false, ErrMalformedResource
		}
	}
	if rt == "Patient" {
		if id, _ := doc["id"].(string); id == patientID {
			return true, nil
		}
	}
	for _, p := range params {
		for _, path := range p.Paths {
			for _, ref := range modelRefs(doc, strings.Split(path, ".")) {
				if modelPatientID(ref, bases) == patientID {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// modelRefs returns the "reference" strings of the Reference objects at
// path below obj.
func modelRefs(obj map[string]any, path []string) []string {
	var out []string
	var elems []any
	switch x := obj[path[0]].(type) {
	case []any:
		elems = x
	default:
		elems = []any{x}
	}
	for _, e := range elems {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if len(path) == 1 {
			if r, ok := m["reference"].(string); ok {
				out = append(out, r)
			}
			continue
		}
		out = append(out, modelRefs(m, path[1:])...)
	}
	return out
}

// modelPatientID splits a reference the long way: optional base, then
// exactly Patient/<id> or Patient/<id>/_history/<vid>.
func modelPatientID(ref string, bases []string) string {
	for _, b := range bases {
		if rest, ok := strings.CutPrefix(ref, b); ok {
			ref = rest
			break
		}
	}
	parts := strings.Split(ref, "/")
	switch {
	case len(parts) == 2 && parts[0] == "Patient" && IsID(parts[1]):
		return parts[1]
	case len(parts) == 4 && parts[0] == "Patient" && IsID(parts[1]) && parts[2] == "_history" && IsID(parts[3]):
		return parts[1]
	}
	return "\x00none" // never a valid id
}

// modelMisshapen reports whether a compartment path of doc's type holds
// an element that is neither an object nor an array of objects (null
// included), or a Reference whose "reference" is present but not a
// string: what PatientCompartmentsStrict refuses as malformed.
func modelMisshapen(v Version, doc map[string]any) bool {
	rt, _ := doc["resourceType"].(string)
	params, _ := PatientCompartment(v, rt)
	for _, p := range params {
		for _, path := range p.Paths {
			if misshapenAt(doc, strings.Split(path, ".")) {
				return true
			}
		}
	}
	return false
}

func misshapenAt(obj map[string]any, path []string) bool {
	x, present := obj[path[0]]
	if !present {
		return false
	}
	elems := []any{x}
	if arr, ok := x.([]any); ok {
		elems = arr
	}
	for _, e := range elems {
		m, ok := e.(map[string]any)
		if !ok {
			return true
		}
		if len(path) == 1 {
			if r, present := m["reference"]; present {
				if _, ok := r.(string); !ok {
					return true
				}
			}
			continue
		}
		if misshapenAt(m, path[1:]) {
			return true
		}
	}
	return false
}
