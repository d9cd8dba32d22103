package fhirauth

import (
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
)

// usableMode is what a resource must be, besides satisfying a constraint
// alternative, for a request of one interaction to use it.
type usableMode uint8

const (
	usableAny      usableMode = iota // outside patient context, or a shared type
	usableIn                         // a read: in the patient's compartment
	usableNarrowed                   // a search: matched by its narrowing parameter
	usableAlone                      // a create, update or delete: in that compartment alone
)

// usableBudget bounds the combinations of constraint values one
// alternative is tried with; an alternative that needs more is not
// offered.
const usableBudget = 4096

// usability decides whether some resource of one type can satisfy a v2
// constraint alternative together with what the patient context demands
// of it, so that Explain offers only grants a request can use.
//
// The rule: each constraint needs one of its values (an OR-list item)
// matched on one element its parameter searches, read as the constraint
// matcher reads it (a reference only as a relative Type/id or by its id,
// of the parameter's target type; a code, string, id or boolean only as
// a plain value without "|"; a Coding or Identifier by system and code).
// Values that no element can hold match nothing. Values of constraints
// placed in the same element that does not repeat must be one value.
// Under patient context the resource must also be in the token patient's
// compartment: a Patient is the token's patient itself (its id is
// fixed); another type needs a compartment element (for a search, the
// element its narrowing parameter searches) naming that patient, which a
// single-valued element asked for something else cannot; and a create,
// update or delete writes only resources in that compartment alone, so a
// value naming another Patient in a compartment element can never be
// written. It fails closed: an element of unknown cardinality counts as
// single-valued, and an alternative with more combinations of values than
// usableBudget counts as unusable.
type usability struct {
	v       fhirspec.Version
	t       string
	mode    usableMode
	patient string   // the token's patient under patient context, else ""
	alone   []string // compartment paths that must name no other patient
	slots   []string // paths one of which must be free to name the patient
	slotFor string   // what the slots are, for the reason
	fixedID bool     // a Patient: its id is the patient's
}

// usabilityOf returns the usability of type t for interaction in (an
// Explanation interaction name) in context c for a token whose patient
// claim is patient.
func (p *Policy) usabilityOf(c scope.Context, patient, t, in string) *usability {
	u := &usability{v: p.version, t: t}
	if c != scope.Patient || !fhirspec.IsID(patient) {
		return u
	}
	ci := p.compartment[t]
	if ci == nil {
		return u // a shared type, or one patient/ scopes never reach
	}
	u.patient = patient
	switch in {
	case ExplainRead:
		u.mode = usableIn
	case ExplainSearch:
		u.mode = usableNarrowed
	default:
		u.mode = usableAlone
		u.alone = ci.paths
	}
	if t == "Patient" {
		// The token's own Patient: its id is fixed. Only an update writes
		// its links; a delete checks no compartment of the stored one.
		u.fixedID = true
		if in != ExplainUpdate {
			u.alone = nil
		}
		return u
	}
	u.slots = ci.paths
	u.slotFor = explainArticle(t) + " is in Patient/" + patient + "'s compartment only when "
	if u.mode == usableNarrowed {
		u.slots = ci.narrowPaths
		u.slotFor = "a patient/ search finds " + explainArticle(t) + " only through its narrowing " + ci.narrow + "=Patient/" + patient + ", that is when "
	}
	return u
}

// explainArticle returns type t with its indefinite article: "an
// Observation", "a Patient".
func explainArticle(t string) string {
	if t != "" && strings.ContainsRune("AEIOU", rune(t[0])) {
		return "an " + t
	}
	return "a " + t
}

// unusable says in plain words why no resource can satisfy alt under u,
// or returns "" when one can.
func (u *usability) unusable(alt []scope.Constraint) string {
	var opts [][]usableOpt
	for _, c := range alt {
		o, free, why := u.options(c)
		if why != "" {
			return why
		}
		if !free {
			opts = append(opts, o)
		}
	}
	s := usableSearch{u: u, assigned: map[string]usableValue{}, budget: usableBudget}
	if u.fixedID {
		s.assigned["id"] = usableValue{kind: valueText, text: u.patient}
	}
	if s.run(opts) {
		return ""
	}
	name := formatAlternatives([][]scope.Constraint{alt})
	switch {
	case s.budget < 0:
		return "fhirauth cannot tell whether " + explainArticle(u.t) + " can satisfy " + name + " (too many combinations of values)"
	case s.complete:
		return u.slotFor + u.pathList(u.slots) + " names Patient/" + u.patient + ", and " + name + " asks for something else there"
	}
	return "no " + u.t + " can satisfy " + name + ": " + u.t + "." + s.conflict + " holds one value and the constraints ask for different ones"
}

// pathList names paths of u's type as "T.a or T.b".
func (u *usability) pathList(paths []string) string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = u.t + "." + p
	}
	return strings.Join(names, " or ")
}

// usableOpt is one way to satisfy a constraint: a value at a path.
type usableOpt struct {
	path string
	val  usableValue
}

// options lists the ways constraint c can be satisfied on a single-valued
// element; free reports that c can be satisfied where it binds nothing
// (an element that repeats, a CodeableConcept's codings), so that it
// cannot conflict with anything. why says why c matches nothing.
func (u *usability) options(c scope.Constraint) (opts []usableOpt, free bool, why string) {
	paths, _ := fhirspec.SearchPaths(u.v, u.t, c.Param)
	for _, item := range splitList(c.DecodedValue()) {
		for _, sp := range paths {
			val, bad := u.value(sp, item)
			if bad == "" {
				bad = u.patientConflict(sp, val)
			}
			if bad != "" {
				if why == "" {
					why = c.String() + " " + bad
				}
				continue
			}
			if sp.Lists != 0 || val.kind == valueFree {
				return nil, true, ""
			}
			if !containsOpt(opts, usableOpt{sp.Path, val}) {
				opts = append(opts, usableOpt{sp.Path, val})
			}
		}
	}
	if len(opts) > 0 {
		return opts, false, ""
	}
	if why == "" {
		why = c.String() + " matches no " + u.t + ": fhirauth does not know which " + u.t + " elements " + c.Param + " searches"
	}
	return nil, false, why
}

func containsOpt(opts []usableOpt, o usableOpt) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// patientConflict says why value val at path sp can never be in a
// resource the patient context lets through, or returns "".
func (u *usability) patientConflict(sp fhirspec.SearchPath, val usableValue) string {
	if u.fixedID && sp.Path == "id" && val.text != u.patient {
		return "asks for a Patient other than the token's patient; patient/ scopes reach only Patient/" + u.patient
	}
	if val.kind == valueRef && val.typ == "Patient" && val.id != u.patient && contains(u.alone, sp.Path) {
		return "names Patient/" + val.id + " in " + u.t + "." + sp.Path + ", which puts the " + u.t + " in Patient/" + val.id +
			"'s compartment; patient/ scopes create, change and delete only resources in Patient/" + u.patient + "'s compartment alone"
	}
	return ""
}

// usableSearch tries the options of each constraint in turn, keeping
// the values given to single-valued elements consistent.
type usableSearch struct {
	u        *usability
	assigned map[string]usableValue
	budget   int
	complete bool   // some choice satisfied every constraint at once
	conflict string // the first element asked for two values
}

// run reports whether one option per constraint of opts fits, with an
// element left to name the patient where the mode needs one.
func (s *usableSearch) run(opts [][]usableOpt) bool {
	if s.budget--; s.budget < 0 {
		return false
	}
	if len(opts) == 0 {
		s.complete = true
		return s.slotFree()
	}
	for _, o := range opts[0] {
		old, had := s.assigned[o.path]
		merged := o.val
		if had {
			m, ok := unifyValues(old, o.val)
			if !ok {
				if s.conflict == "" {
					s.conflict = o.path
				}
				continue
			}
			merged = m
		}
		s.assigned[o.path] = merged
		found := s.run(opts[1:])
		if had {
			s.assigned[o.path] = old
		} else {
			delete(s.assigned, o.path)
		}
		if found || s.budget < 0 {
			return found
		}
	}
	return false
}

// slotFree reports whether a path that can name the patient is left
// for it: one that repeats (fail closed: known to repeat), holds nothing
// yet, or holds a value the patient's reference is.
func (s *usableSearch) slotFree() bool {
	u := s.u
	if u.mode == usableAny || u.fixedID {
		return true
	}
	me := usableValue{kind: valueRef, typ: "Patient", id: u.patient}
	for _, p := range u.slots {
		if fhirspec.RepeatingElement(u.v, u.t, p) != "" {
			return true
		}
		v, ok := s.assigned[p]
		if !ok {
			return true
		}
		if _, ok := unifyValues(v, me); ok {
			return true
		}
	}
	return false
}
