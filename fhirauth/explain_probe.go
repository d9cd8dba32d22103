package fhirauth

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// explainProbeID is the logical id of the resources the explanation's probes
// name (other than the token's patient).
const explainProbeID = "explain-probe"

// explainProbe is one representative request Explain decides.
type explainProbe struct {
	name    string // the Explanation interaction name
	method  string
	path    string // relative to the base
	body    []byte
	letters scope.Permission // the SMART letters the interaction needs (0 for operations)
	write   bool
	typ     string
}

// explainOutcome is what the policy answered to a probe.
type explainOutcome struct {
	allowed bool
	context string
	patient string
	where   [][]string
}

// explainProber decides probes for one principal.
type explainProber struct {
	p   *Policy
	pr  *token.Principal
	ctx context.Context
	// usage records which constraint alternatives were offered and which
	// were left out as unusable, and why.
	usage *explainUsage
}

// typeProbes returns the probes of resource type t.
func (pb explainProber) typeProbes(t string) []explainProbe {
	id := explainProbeID
	if t == "Patient" && fhirspec.IsID(pb.pr.Patient) {
		id = pb.pr.Patient
	}
	body := pb.body(t, id)
	probes := []explainProbe{
		{name: ExplainRead, method: http.MethodGet, path: t + "/" + id, letters: scope.Read},
		{name: ExplainSearch, method: http.MethodGet, path: t, letters: scope.Search},
		{name: ExplainHistory, method: http.MethodGet, path: t + "/_history", letters: scope.Search},
		{name: ExplainCreate, method: http.MethodPost, path: t, body: pb.body(t, ""), letters: scope.Create, write: true},
		{name: ExplainUpdate, method: http.MethodPut, path: t + "/" + id, body: body, letters: scope.Update, write: true},
		{name: ExplainDelete, method: http.MethodDelete, path: t + "/" + id, letters: scope.Delete, write: true},
	}
	switch t {
	case "Patient":
		probes = append(probes,
			explainProbe{name: ExplainExport, method: http.MethodGet, path: "Patient/$export"},
			explainProbe{name: ExplainEverything, method: http.MethodGet, path: "Patient/" + id + "/$everything"})
	case "Group":
		probes = append(probes, explainProbe{name: ExplainExport, method: http.MethodGet, path: "Group/" + explainProbeID + "/$export"})
	}
	for i := range probes {
		probes[i].typ = t
	}
	return probes
}

// systemProbes returns the probes of system-level operations.
func (pb explainProber) systemProbes() []explainProbe {
	return []explainProbe{{name: ExplainExport, method: http.MethodGet, path: "$export"}}
}

// body returns a resource of type t with id (none when id is ""), in the
// token patient's compartment when the token has a patient, so that a
// write probe is denied only for what the scopes and policy say, not for a
// body that names nobody.
func (pb explainProber) body(t, id string) []byte {
	res := map[string]any{"resourceType": t}
	if id != "" {
		res["id"] = id
	}
	if pb.pr.Patient != "" && t != "Patient" {
		if params, ok := fhirspec.PatientCompartment(pb.p.version, t); ok {
			explainCompartmentRef(res, params, pb.pr.Patient)
		}
	}
	if t == "Subscription" {
		if c := pb.runnableCriteria(); c != "" {
			res["criteria"] = c
		}
	}
	b, _ := json.Marshal(res) // a map of strings and maps always marshals
	return b
}

// runnableCriteria is a Subscription criteria the token may run as
// written, if it has one: a search of a type its system/ or user/
// scopes let it search without constraints (a Subscription is allowed
// only with such a criteria), or "".
func (pb explainProber) runnableCriteria() string {
	for _, t := range pb.p.allTypes {
		for _, c := range []scope.Context{scope.System, scope.User} {
			if pb.pr.Scopes.Permits(c, t, scope.Search) == scope.Unconstrained {
				return t + "?"
			}
		}
	}
	return ""
}

// explainCompartmentRef sets the element of the first compartment parameter
// that has a path to a reference to Patient/patient.
func explainCompartmentRef(res map[string]any, params []fhirspec.CompartmentParam, patient string) {
	for _, cp := range params {
		if len(cp.Paths) == 0 {
			continue
		}
		segs := strings.Split(cp.Paths[0], ".")
		m := res
		for _, s := range segs[:len(segs)-1] {
			next := map[string]any{}
			m[s] = next
			m = next
		}
		m[segs[len(segs)-1]] = map[string]any{"reference": "Patient/" + patient}
		return
	}
}

// judge decides probe in and, for typed interactions, adds the
// constraints of the granting context. A write denied under v2
// constraints is reported as allowed where the constraints hold (the
// probe's body satisfies none).
func (pb explainProber) judge(in explainProbe) explainOutcome {
	d := pb.decide(in)
	if d.Allowed {
		o := explainOutcome{allowed: true, context: d.Context.String(), patient: d.Patient}
		if _, ok := fhirspec.PatientCompartment(pb.p.version, in.typ); !ok && in.typ != "Patient" {
			o.patient = "" // a shared type: read whoever it concerns
		}
		if in.letters != 0 && pb.pr.Scopes.Permits(d.Context, in.typ, in.letters) == scope.Constrained {
			o.where = pb.checkableWhere(d.Context, in)
			if len(o.where) == 0 {
				return explainOutcome{} // no alternative can be used
			}
		}
		return o
	}
	if in.write {
		return pb.constrainedWrite(in)
	}
	return explainOutcome{}
}

// constrainedWrite reports a write that only constrained scopes could
// grant, in the first context (system, user, patient) whose scopes do,
// under the alternatives that can be checked on a body of the type (a
// constraint on a parameter whose elements the type lacks or whose data
// type is unknown denies every write) and that some body can satisfy
// (usability). Under patient context only compartment types count, with
// the token's patient: Patient only for an update (patient/ scopes never
// create a Patient).
func (pb explainProber) constrainedWrite(in explainProbe) explainOutcome {
	for _, c := range []scope.Context{scope.System, scope.User, scope.Patient} {
		if pb.pr.Scopes.Permits(c, in.typ, in.letters) != scope.Constrained {
			continue
		}
		if c == scope.Patient {
			_, ok := fhirspec.PatientCompartment(pb.p.version, in.typ)
			if !ok || (in.typ == "Patient" && in.name != ExplainUpdate) || !fhirspec.IsID(pb.pr.Patient) {
				continue
			}
		}
		where := pb.checkableWhere(c, in)
		if len(where) == 0 {
			continue
		}
		if c == scope.Patient {
			return explainOutcome{allowed: true, context: c.String(), patient: pb.pr.Patient, where: where}
		}
		return explainOutcome{allowed: true, context: c.String(), where: where}
	}
	return explainOutcome{}
}

// checkableWhere is where of the probe's type and letters in context c,
// limited to the alternatives that can be evaluated on a resource of the
// type (for a create, on a body: none that constrains _id, withoutID) and
// that some resource can satisfy together with what the context demands
// of it (usability); it records the others, with why, in pb.usage.
func (pb explainProber) checkableWhere(c scope.Context, in explainProbe) [][]string {
	var out [][]string
	alts := pb.pr.Scopes.AppendConstraints(nil, c, in.typ, in.letters)
	if in.name == ExplainCreate {
		alts = withoutID(alts)
	}
	u := pb.p.usabilityOf(c, pb.pr.Patient, in.typ, in.name)
	for _, alt := range alts {
		if !altCheckable(pb.p.version, in.typ, alt) {
			continue
		}
		if why := u.unusable(alt); why != "" {
			pb.usage.add(c, in, alt, why)
			continue
		}
		pb.usage.add(c, in, alt, "")
		items := make([]string, len(alt))
		for i, k := range alt {
			items[i] = k.String()
		}
		out = append(out, items)
	}
	return out
}

// decide classifies and decides the probe's request.
func (pb explainProber) decide(in explainProbe) *Decision {
	r, err := http.NewRequestWithContext(pb.ctx, in.method, pb.p.base+"/"+in.path, bytes.NewReader(in.body))
	if err != nil {
		return &Decision{}
	}
	if in.body != nil {
		r.Header.Set("Content-Type", "application/fhir+json")
	}
	_, d := pb.p.Authorize(pb.ctx, pb.pr, r)
	return d
}
