package fhirauth

import (
	"net/http"
	"net/url"
	"strings"
)

// patientSearch narrows a search of type t to the context patient's
// compartment and rejects parameters that name anybody else.
//
// The narrowing parameter is chosen by buildCompartments (patient, then
// subject, then beneficiary, then the first compartment parameter; _id
// for Patient); it is ANDed with the request's own parameters, so
// whatever else the query says the result stays inside the compartment.
// Parameters that refer to patients (the type's compartment parameters,
// "patient", and _id/link on Patient) must name only the context patient:
// another id, an OR-list with another id ("patient=A,B"), another
// reference type ("performer=Practitioner/1"), a modifier that changes what the value
// means (":identifier", ":missing", ":not", a type other than Patient) are
// rejected rather than silently ANDed to an empty result, so a caller
// learns at once that the request is outside its rights. Any other
// parameter whose value is a reference to another Patient is rejected too.
func (e *evaluation) patientSearch(d *Decision, t string, params url.Values) denial {
	req := e.req
	compartmentSearch := req.Interaction == SearchCompartment && req.CompartmentType == "Patient"
	ci := e.p.compartment[t]
	if den := e.narrowToPatient(d, t, compartmentSearch); den.status != 0 {
		return den
	}
	for key, vals := range params {
		if strings.HasPrefix(key, "_has:") || strings.HasPrefix(key, "_include") || strings.HasPrefix(key, "_revinclude") {
			continue
		}
		hop, _, chained := strings.Cut(key, ".")
		name, mod, _ := strings.Cut(hop, ":")
		if t != "" && t != "*" && ci.isPatientParam(t, name) || (t == "Patient" && name == "link") {
			if chained {
				if mod == "Patient" || (mod == "" && name == "patient") {
					if den := e.patientChain(t, ci, compartmentSearch, key, vals); den.status != 0 {
						return den
					}
					continue
				}
				return e.deny(http.StatusForbidden, "chained parameter %s goes through another reference type than Patient in a patient-compartment parameter", clip(key))
			}
			if mod != "" && mod != "Patient" {
				return e.deny(http.StatusForbidden, "modifier :%s on patient parameter %s cannot be verified against the token's patient; use %s=Patient/%s", clip(mod), name, name, e.patient)
			}
			if den := e.onlyContextPatient(name, vals); den.status != 0 {
				return den
			}
			continue
		}
		if chained {
			if den := e.patientChain(t, ci, compartmentSearch, key, vals); den.status != 0 {
				return den
			}
		} else if name != "" && name[0] != '_' && t != "" && t != "*" && ci.caseVariant(t, name) {
			return e.deny(http.StatusForbidden, "parameter %q differs only in letter case from a parameter that names patients; search parameter names are case-sensitive", clip(name))
		}
		for _, v := range vals {
			if _, ok := otherPatientIn(v, e.patient); ok {
				return e.deny(http.StatusForbidden, "%s=%s names another patient; patient/ scopes reach only Patient/%s", clip(key), clip(v), e.patient)
			}
		}
	}
	return denial{}
}

// narrowToPatient sets the narrowing of a search of type t under patient
// context: the Patient itself by _id, a compartment type by its patient
// search parameter, nothing for a shared type or a Patient compartment
// search (the compartment is the narrowing); other types are refused.
func (e *evaluation) narrowToPatient(d *Decision, t string, compartmentSearch bool) denial {
	switch cls := e.class(t); {
	case compartmentSearch && t == "Patient":
		// Patient/X/Patient would also return the Patients that link to
		// X; patient/ scopes reach only X itself.
		d.Narrow = url.Values{"_id": []string{e.patient}}
	case compartmentSearch:
		// Patient/X/Type: the compartment itself is the narrowing.
	case t == "":
	case cls == classPatient:
		d.Narrow = url.Values{"_id": []string{e.patient}}
	case cls == classCompartment:
		np := e.p.compartment[t].narrow
		if np == "" {
			return e.deny(http.StatusForbidden, "%s cannot be narrowed to a patient compartment by a search parameter; not searchable with patient/ scopes", t)
		}
		d.Narrow = url.Values{np: []string{"Patient/" + e.patient}}
	case cls == classShared:
	default:
		return e.outsideCompartment(t, "search")
	}
	return denial{}
}

// onlyContextPatient requires every value of the patient parameter name
// (each item of an OR-list) to name the token's patient.
func (e *evaluation) onlyContextPatient(name string, vals []string) denial {
	for _, v := range vals {
		items := []string{v}
		if strings.Contains(v, ",") {
			items = splitList(v)
		}
		for _, item := range items {
			if e.isContextPatient(item, name == "_id") {
				continue
			}
			if len(items) > 1 {
				return e.deny(http.StatusForbidden, "%s=%s is an OR-list that names patients other than the token's patient (Patient/%s)", name, clip(v), e.patient)
			}
			if strings.Contains(item, "/") && !strings.HasPrefix(item, "Patient/") {
				return e.deny(http.StatusForbidden, "%s=%s names another reference type; under patient/ scopes this parameter may only name Patient/%s", name, clip(item), e.patient)
			}
			return e.deny(http.StatusForbidden, "%s=%s names another patient; patient/ scopes reach only Patient/%s", name, clip(item), e.patient)
		}
	}
	return denial{}
}

// patientChain checks a chained parameter of a search of type t under
// patient context. A hop into Patient or a compartment type could reach
// another patient's resources and test their content (a chained oracle:
// "Coverage?patient.name=x" where the beneficiary is someone else, or
// "Observation?performer:Patient.birthdate=x"), so such a hop is allowed
// only when the narrowing already pins it to the context patient: the
// first hop of a narrowed search (not a compartment search), into Patient,
// through the narrowing parameter or one searching the same elements
// (Observation: subject:Patient, patient), when that parameter selects a
// single Reference (ci.narrowPins). Where the element repeats
// ("Group?member:Patient.birthdate=x"), the narrowing member=Patient/X
// holds when SOME member is X, but servers match the chain when ANY
// member's Patient matches, so it would test the other members. A final
// "_id" after the pinned hop must name the context patient.
func (e *evaluation) patientChain(t string, ci *compartmentInfo, compartmentSearch bool, key string, vals []string) denial {
	hops := strings.Split(key, ".")
	for i, hop := range hops[:len(hops)-1] {
		name, mod, _ := strings.Cut(hop, ":")
		target := mod
		if mod == "" && name == "patient" {
			target = "Patient"
		}
		switch e.class(target) {
		case classPatient, classCompartment:
		default:
			continue
		}
		pinned := i == 0 && !compartmentSearch && target == "Patient" && ci != nil && t != "Patient" && contains(ci.narrowAliases, name)
		if pinned && !ci.narrowPins {
			return e.deny(http.StatusForbidden, "chained parameter %s is not pinned to Patient/%s by the search's narrowing: %s %s, so a resource may reference several patients there and the chain matches through any of them (chained oracle)", clip(key), e.patient, name, ci.narrowWhy)
		}
		if !pinned {
			return e.deny(http.StatusForbidden, "chained parameter %s goes through %s resources that may belong to another patient (chained oracle); with patient/ scopes a chain may reach Patient only through the search's patient parameter", clip(key), target)
		}
	}
	if last, _, _ := strings.Cut(hops[len(hops)-1], ":"); len(hops) == 2 && last == "_id" {
		for _, v := range vals {
			for _, item := range splitList(v) {
				if item != e.patient {
					return e.deny(http.StatusForbidden, "%s=%s names another patient; patient/ scopes reach only Patient/%s", clip(key), clip(v), e.patient)
				}
			}
		}
	}
	return denial{}
}

// isContextPatient reports whether a reference parameter value names the
// context patient: "X" or "Patient/X" ("X" only for _id).
func (e *evaluation) isContextPatient(v string, idOnly bool) bool {
	if v == e.patient {
		return true
	}
	if idOnly {
		return false
	}
	id, ok := strings.CutPrefix(v, "Patient/")
	return ok && id == e.patient
}

// otherPatientIn finds a Patient reference ("Patient/id", possibly
// absolute or versioned, possibly in a comma list) in a parameter value that
// names a patient other than patient, and returns its id.
func otherPatientIn(v, patient string) (string, bool) {
	for off := 0; ; {
		i := strings.Index(v[off:], "Patient/")
		if i < 0 {
			return "", false
		}
		i += off
		off = i + len("Patient/")
		if i > 0 && v[i-1] != '/' && v[i-1] != ',' && v[i-1] != '|' && v[i-1] != ':' {
			continue
		}
		rest := v[off:]
		end := strings.IndexAny(rest, "/,|&")
		if end < 0 {
			end = len(rest)
		}
		if rest[:end] != patient {
			return rest[:end], true
		}
	}
}

// patientHas allows a reverse chain under patient context only when it
// cannot act as an oracle on other patients' data: the searched type is
// Patient (narrowed to the context patient), the _has type is in the
// compartment and its reference parameter is one of that type's
// compartment parameters (so the resources tested are the patient's own),
// and it is not nested. "Practitioner?_has:Observation:performer:code=X"
// would reveal which practitioners recorded code X for any patient.
func (e *evaluation) patientHas(r Reach) denial {
	parts := strings.SplitN(r.Param, ":", 4)
	if e.req.ResourceType != "Patient" || len(parts) != 4 || strings.HasPrefix(parts[3], "_has:") {
		return e.deny(http.StatusForbidden, "%s could reveal other patients' data (_has oracle); with patient/ scopes a reverse chain is allowed only on Patient through a patient-compartment parameter", clip(r.Param))
	}
	ci := e.p.compartment[parts[1]]
	if ci == nil || !contains(ci.params, parts[2]) {
		return e.deny(http.StatusForbidden, "%s tests %s resources through %q, which is not a patient-compartment parameter of %s (_has oracle)", clip(r.Param), parts[1], parts[2], parts[1])
	}
	return denial{}
}
