package hunt

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// JSON is v encoded as JSON; a value that cannot be encoded is "".
func JSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// IsObservation reports whether r is an Observation, whatever it holds,
// and if not, why.
func IsObservation(r map[string]any) (bool, string) {
	if r["resourceType"] != "Observation" {
		return false, fmt.Sprintf("%v is not Observation", r["resourceType"])
	}
	return true, ""
}

// IsLaboratory reports whether r is an Observation with a category
// coding whose code is "laboratory" (any system), and if not, why.
func IsLaboratory(r map[string]any) (bool, string) {
	if ok, why := IsObservation(r); !ok {
		return false, why
	}
	cats, _ := r["category"].([]any)
	for _, c := range cats {
		cm, _ := c.(map[string]any)
		codings, _ := cm["coding"].([]any)
		for _, cd := range codings {
			if m, _ := cd.(map[string]any); m["code"] == "laboratory" {
				return true, ""
			}
		}
	}
	return false, "its category is " + JSON(r["category"])
}

// PatientRef normalizes a reference string: "Patient/id" for a reference
// to a Patient by a relative or absolute URL, with or without a version;
// "" for a plain reference to another type ("Type/id"); otherwise s as
// written behind a "?" (a local "#id", a urn:uuid, a search of
// patients, a spelling that names nothing plainly). A search of another
// type ("Practitioner?name=x") is "": whether a server resolves it or
// stores it as written, it names no patient.
func PatientRef(s string) string {
	if typ, _, ok := strings.Cut(s, "?"); ok && typ != "Patient" && isTypeName(typ) {
		return ""
	}
	rest := s
	if i := strings.Index(rest, "/Patient/"); i >= 0 && strings.HasPrefix(rest, "http") {
		rest = rest[i+1:]
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) >= 2 && parts[0] == "Patient" && (len(parts) == 2 || len(parts) == 4 && parts[2] == "_history"):
		return "Patient/" + parts[1]
	case len(parts) == 2 && !strings.ContainsAny(s, ":#?") && parts[0] != "" && parts[1] != "":
		return "" // another type
	}
	return "?" + s
}

// PatientRefs returns the reference strings (the "reference" members)
// anywhere under v, each normalized by ref (PatientRef or a stricter
// one); those it maps to "" are left out.
func PatientRefs(v any, ref func(string) string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "reference" {
				if n := ref(s); n != "" {
					out = append(out, n)
				}
				continue
			}
			out = append(out, PatientRefs(c, ref)...)
		}
	case []any:
		for _, c := range x {
			out = append(out, PatientRefs(c, ref)...)
		}
	}
	return out
}

// InCompartment reports whether r may be written under the context of
// patient (an id), and if not, why: a Patient must be that patient, and
// a resource of a type in elements must name, in the elements listed for
// its type, that patient and no other; a resource of any other type is
// outside. References are normalized by ref. A local reference ("#id")
// names no patient of the server, nor does a urn:uuid (in any letter
// case) that no entry of its Bundle resolved and that is stored as
// written, so both are passed over.
func InCompartment(r map[string]any, elements map[string][]string, patient string, ref func(string) string) (bool, string) {
	typ, _ := r["resourceType"].(string)
	elems, ok := elements[typ]
	if !ok {
		return false, typ + " is not a patient-compartment type"
	}
	var ids []string
	if typ == "Patient" {
		id, _ := r["id"].(string)
		ids = append(ids, "Patient/"+id)
	}
	for _, el := range elems {
		for _, n := range PatientRefs(r[el], ref) {
			if !strings.HasPrefix(n, "?#") && !hasFoldPrefix(n, "?urn:uuid:") {
				ids = append(ids, n)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 1 && ids[0] == "Patient/"+patient {
		return true, ""
	}
	return false, fmt.Sprintf("its compartment references are %q", ids)
}

// isTypeName reports whether s is spelled as a resource type is: an
// upper-case ASCII letter, then ASCII letters.
func isTypeName(s string) bool {
	for i, c := range s {
		if !(c >= 'A' && c <= 'Z' || i > 0 && c >= 'a' && c <= 'z') {
			return false
		}
	}
	return s != ""
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// ChangedKeys are the keys of resources created, deleted or changed (in
// any element, meta.versionId included) between two reads of a store,
// each a map of decoded resources by "Type/id"; sorted.
func ChangedKeys(before, after map[string]map[string]any) []string {
	var out []string
	for k, r := range after {
		if b, ok := before[k]; !ok || JSON(b) != JSON(r) {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// EntryStatuses are the status codes (the first words of response.status)
// of the entries of a batch- or transaction-response Bundle, in order;
// nil when body is not JSON.
func EntryStatuses(body []byte) []string {
	var b struct {
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	var out []string
	for _, en := range b.Entry {
		st, _, _ := strings.Cut(en.Response.Status, " ")
		out = append(out, st)
	}
	return out
}

// IDsOf are the ids of the resources of typ in store (decoded resources
// by "Type/id"), sorted.
func IDsOf(store map[string]map[string]any, typ string) []string {
	var ids []string
	for k := range store {
		if id, ok := strings.CutPrefix(k, typ+"/"); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// WritableIDs are the ids among ids (of typ) whose resource in store is
// within a principal's rights, as within judges them (InCompartment,
// IsLaboratory, ...).
func WritableIDs(store map[string]map[string]any, typ string, ids []string, within func(map[string]any) (bool, string)) []string {
	var out []string
	for _, id := range ids {
		if ok, _ := within(store[typ+"/"+id]); ok {
			out = append(out, id)
		}
	}
	return out
}

// AnswerResources are the resources a write's answer holds: the resource
// answered, or the resources of a Bundle's entries (an OperationOutcome
// is none). What a write answers is what it wrote or, for a conditional
// create that matched, what its search found: both must be within the
// token's rights.
func AnswerResources(answer []byte) []map[string]any {
	var top map[string]any
	if json.Unmarshal(answer, &top) != nil {
		return nil
	}
	var out []map[string]any
	switch top["resourceType"] {
	case "OperationOutcome", nil:
	case "Bundle":
		entries, _ := top["entry"].([]any)
		for _, en := range entries {
			m, _ := en.(map[string]any)
			if r, ok := m["resource"].(map[string]any); ok && r["resourceType"] != "OperationOutcome" {
				out = append(out, r)
			}
		}
	default:
		out = append(out, top)
	}
	return out
}

// Atomicity returns what is wrong with the outcome of a transaction of
// entries entries, answered status with answer, that changed the store
// as changed lists (ChangedKeys). A transaction is all or nothing: an
// answer other than 2xx must leave the store as it was, and a 2xx answer
// must be a transaction-response with an entry for each entry, each 2xx
// but those whose answer fhirauth withheld (403, or 404 where it hides
// existence).
func Atomicity(entries, status int, answer []byte, changed []string) []string {
	if status/100 != 2 {
		if len(changed) > 0 {
			return []string{fmt.Sprintf("the transaction was answered %d, yet the store changed %v", status, changed)}
		}
		return nil
	}
	statuses := EntryStatuses(answer)
	if len(statuses) != entries {
		return []string{fmt.Sprintf("the transaction of %d entries was answered %d with %d entries", entries, status, len(statuses))}
	}
	for i, st := range statuses {
		if !strings.HasPrefix(st, "2") && st != "403" && st != "404" {
			return []string{fmt.Sprintf("the transaction was answered %d, yet its entry %d was answered %s", status, i, st)}
		}
	}
	return nil
}
