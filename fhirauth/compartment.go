package fhirauth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// compartmentInfo is what the decision needs about one type of the patient
// compartment, precomputed from fhirspec at NewPolicy.
type compartmentInfo struct {
	// params are the search parameters tying the type to the compartment
	// (chained ones included).
	params []string
	// narrow is the parameter used to narrow searches to Patient/X ("" when
	// the type has only chained parameters and cannot be narrowed).
	narrow string
	// narrowAliases are the compartment parameters that search the same
	// elements as narrow (narrow included).
	narrowAliases []string
	// narrowPins reports that narrow selects at most one Reference in a
	// resource (a single path, single-valued at every element): then once
	// a search is narrowed to Patient/X, a chain through one of
	// narrowAliases can only reach X. Otherwise narrowing guarantees only
	// that SOME selected reference is X while the chain matches when ANY
	// does (Group member.entity: any member), so the chain reaches others.
	narrowPins bool
	// narrowWhy says why narrow does not pin ("" when it does), for the
	// denial.
	narrowWhy string
	// elements are the first segments of the compartment reference paths
	// ("subject", "performer", ...): a patch touching one of them could move
	// the resource between compartments.
	elements []string
	// paths are the compartment reference paths themselves ("subject",
	// "participant.actor"), each once.
	paths []string
	// narrowPaths are the paths narrow searches.
	narrowPaths []string
}

// buildCompartments precomputes compartmentInfo for every compartment type.
//
// How narrowing picks a parameter: a resource is in Patient/X's compartment
// when ANY of its compartment parameters refers to X (Observation: subject
// OR performer). Plain FHIR search cannot express an OR across different
// parameters, so narrowing uses one of them, which yields a subset of the
// compartment: never more than the caller may see, possibly less (an
// Observation where X is only the performer). The preference is "patient"
// (a parameter that targets only Patient, so a bare id is unambiguous),
// then "subject", then "beneficiary" (Coverage), then the first
// non-chained parameter in CompartmentDefinition order. Patient itself is narrowed by "_id".
func buildCompartments(v fhirspec.Version) map[string]*compartmentInfo {
	out := map[string]*compartmentInfo{}
	for _, t := range fhirspec.PatientCompartmentTypes(v) {
		params, ok := fhirspec.PatientCompartment(v, t)
		if !ok {
			continue
		}
		ci := &compartmentInfo{}
		first := ""
		for _, p := range params {
			ci.params = append(ci.params, p.Name)
			if p.Chained() {
				continue
			}
			if first == "" {
				first = p.Name
			}
			for _, path := range p.Paths {
				if !contains(ci.paths, path) {
					ci.paths = append(ci.paths, path)
				}
				seg, _, _ := strings.Cut(path, ".")
				if !contains(ci.elements, seg) {
					ci.elements = append(ci.elements, seg)
				}
			}
		}
		switch {
		case t == "Patient":
			ci.narrow = "_id"
		case contains(ci.params, "patient"):
			ci.narrow = "patient"
		case contains(ci.params, "subject"):
			ci.narrow = "subject"
		case contains(ci.params, "beneficiary"):
			// Coverage: the beneficiary is required and a Patient;
			// policy-holder, first in the definition, is optional and
			// often an Organization or a parent, so narrowing by it
			// would hide a beneficiary's own Coverage.
			ci.narrow = "beneficiary"
		default:
			ci.narrow = first
		}
		var narrowPaths []string
		for _, p := range params {
			if p.Name == ci.narrow {
				narrowPaths = p.Paths
			}
		}
		ci.narrowPaths = narrowPaths
		for _, p := range params {
			if len(narrowPaths) > 0 && slices.Equal(p.Paths, narrowPaths) {
				ci.narrowAliases = append(ci.narrowAliases, p.Name)
			}
		}
		ci.narrowWhy = unpinned(v, t, narrowPaths)
		ci.narrowPins = len(narrowPaths) > 0 && ci.narrowWhy == ""
		out[t] = ci
	}
	return out
}

// unpinned says why narrowing type t by a parameter searching paths does
// not pin the one Reference a chain through that parameter follows, or
// returns "" when it does: every path element, the Reference included, has
// max cardinality 1 (fhirspec.SingleValuedPath; unknown counts as
// repeating) and there is one path (with two, narrowing pins one and the
// chain may follow the other). The answer completes "<param> ...".
func unpinned(v fhirspec.Version, t string, paths []string) string {
	for _, path := range paths {
		if fhirspec.SingleValuedPath(v, t, path) {
			continue
		}
		if elem := fhirspec.RepeatingElement(v, t, path); elem != "" {
			return fmt.Sprintf("searches %s.%s, where %s repeats (max cardinality *)", t, path, elem)
		}
		return fmt.Sprintf("searches %s.%s, whose cardinality is unknown", t, path)
	}
	if len(paths) > 1 {
		return fmt.Sprintf("searches several elements (%s.%s)", t, strings.Join(paths, ", "+t+"."))
	}
	return ""
}

// caseVariant reports whether name differs only in letter case from a
// parameter that refers to patients on type t ("Patient=", "SUBJECT="):
// a server that matched names case-insensitively would read it as that
// parameter.
func (ci *compartmentInfo) caseVariant(t, name string) bool {
	if strings.EqualFold(name, "patient") || (t == "Patient" && strings.EqualFold(name, "link")) {
		return true
	}
	if ci == nil {
		return false
	}
	for _, p := range ci.params {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// isPatientParam reports whether search parameter name (without modifier)
// of type t refers to patients: a compartment parameter, "patient", or for
// Patient itself "_id" and "link".
func (ci *compartmentInfo) isPatientParam(t, name string) bool {
	if name == "patient" {
		return true
	}
	if t == "Patient" && name == "_id" {
		return true
	}
	return ci != nil && contains(ci.params, name)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
