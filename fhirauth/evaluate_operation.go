package fhirauth

import (
	"net/http"

	"github.com/fhirwarden/fhirwarden/scope"
)

// operation decides $export, $everything and registered operations; any
// other operation is denied.
func (e *evaluation) operation() (*Decision, denial) {
	switch e.req.Operation {
	case opExport:
		return e.export()
	case opEverything:
		return e.everything()
	}
	return e.registered()
}

// export: Bulk Data export is for backend services. It needs system/ scopes
// granting read and search ("rs", v1 "read") on every exported type without
// constraints (a bulk export cannot apply v2 constraints), and on Group for
// a group export.
func (e *evaluation) export() (*Decision, denial) {
	if e.c != scope.System {
		return nil, denial{status: http.StatusForbidden, code: "forbidden", needed: "system/*.rs",
			reason: "$export (bulk data) needs system/ scopes; " + e.c.String() + "/ scopes cannot export"}
	}
	req := e.req
	if req.Level == InstanceLevel {
		if m := e.permit("Group", scope.Read); m != scope.Unconstrained {
			return nil, e.missing("Group", scope.Read, "$export")
		}
	}
	for _, r := range req.Reaches {
		types := []string{r.Type}
		if r.Type == "*" {
			types = e.p.allTypes
		}
		for _, t := range types {
			switch e.permit(t, scope.V1Read) {
			case scope.Denied:
				via := "_type"
				if r.Type == "*" || r.Kind == ReachCompartment {
					via = "$export without _type"
				}
				return nil, e.missing(t, scope.V1Read, via)
			case scope.Constrained:
				return nil, e.unenforceable(t, scope.V1Read, "$export")
			}
		}
	}
	return e.grant(), denial{}
}

// everything: Patient/[id]/$everything needs "r" on Patient; under patient
// context only for the context patient. What it returns is filtered by a
// response check: under patient context compartment types must be in the
// compartment, and each resource but the Patient named by the request
// must be of a type the token may read and search ("rs"). The server
// finds those resources; the caller did not name them by id, so for
// them the operation is a search, as an _include is: "r" alone reads
// only what the caller can name. Types listed in _type must all be
// permitted "rs".
func (e *evaluation) everything() (*Decision, denial) {
	req := e.req
	m := e.permit("Patient", scope.Read)
	if m == scope.Denied {
		return nil, e.missing("Patient", scope.Read, "$everything")
	}
	if e.inPatient() {
		if req.Level != InstanceLevel {
			return nil, e.deny(http.StatusForbidden, "Patient/$everything covers all patients; use Patient/%s/$everything", e.patient)
		}
		if req.ID != e.patient {
			return nil, e.hidden("Patient/%s is not the token's patient; patient/ scopes reach only Patient/%s", req.ID, e.patient)
		}
	}
	for _, r := range req.Reaches {
		if r.Kind != ReachType {
			continue
		}
		if e.permit(r.Type, scope.V1Read) == scope.Denied {
			return nil, e.missing(r.Type, scope.V1Read, "_type")
		}
		if e.inPatient() && e.class(r.Type) == classOther {
			return nil, e.outsideCompartment(r.Type, "read")
		}
	}
	d := e.grant()
	e.checkResponse(d, responseCheck{on: true, bundle: true, letters: scope.V1Read, compartment: e.inPatient(), readNamed: true})
	return d, denial{}
}

// registered decides an operation registered with WithOperation.
func (e *evaluation) registered() (*Decision, denial) {
	req := e.req
	rule, ok := e.p.ops[req.Operation]
	if !ok {
		return nil, e.deny(http.StatusForbidden, "operation $%s is not allowed by this server's policy", req.Operation)
	}
	if rule.Levels&req.Level == 0 {
		return nil, e.deny(http.StatusForbidden, "operation $%s is allowed at %s level only, not %s", req.Operation, rule.Levels, req.Level)
	}
	if req.Level != SystemLevel && len(rule.Types) > 0 && !contains(rule.Types, req.ResourceType) {
		return nil, e.deny(http.StatusForbidden, "operation $%s is not allowed on %s", req.Operation, req.ResourceType)
	}
	letters := rule.Permission
	if req.Level == SystemLevel {
		if e.inPatient() {
			return nil, e.deny(http.StatusForbidden, "system-level $%s cannot be limited to the patient compartment", req.Operation)
		}
		types := rule.Types
		if len(types) == 0 {
			types = e.p.allTypes
		}
		for _, t := range types {
			switch e.permit(t, letters) {
			case scope.Denied:
				return nil, e.missing(t, letters, "$"+req.Operation)
			case scope.Constrained:
				return nil, e.unenforceable(t, letters, "$"+req.Operation)
			}
		}
		return e.grant(), denial{}
	}
	t := req.ResourceType
	m := e.permit(t, letters)
	if m == scope.Denied {
		return nil, e.missing(t, letters, "$"+req.Operation)
	}
	d := e.grant()
	if rule.Search {
		if den := e.searchPart(d, t, req.Params, letters, m); den.status != 0 {
			return nil, den
		}
		return d, denial{}
	}
	if m == scope.Constrained {
		return nil, e.unenforceable(t, letters, "$"+req.Operation)
	}
	if e.inPatient() {
		if req.Level == TypeLevel {
			return nil, e.deny(http.StatusForbidden, "type-level $%s cannot be limited to the patient compartment", req.Operation)
		}
		switch e.class(t) {
		case classPatient:
			if req.ID != e.patient {
				return nil, e.hidden("Patient/%s is not the token's patient; patient/ scopes reach only Patient/%s", req.ID, e.patient)
			}
		case classCompartment:
			d.stored = storedCheck{on: true, typ: t, letters: letters, compartment: true}
		case classShared:
			if letters&^scope.V1Read != 0 {
				return nil, e.sharedWrite(t)
			}
		default:
			return nil, e.outsideCompartment(t, "$"+req.Operation)
		}
	}
	return d, denial{}
}
