package fhirauth

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// evaluation decides one request in one scope context.
type evaluation struct {
	p       *Policy
	c       scope.Context
	pr      *token.Principal
	req     *Request
	set     scope.Set
	patient string // the compartment patient (patient context only)
	// replaced are the links the server replaces in the Bundle the
	// request is an entry of (nil outside Bundles and when none are).
	replaced *replacedLinks
}

// denial is why a context does not grant a request. A zero reason means a
// missing permission: letters on typ (reached through via).
type denial struct {
	ctx       scope.Context
	status    int
	code      string
	reason    string
	typ       string
	letters   scope.Permission
	via       string
	needed    string // overrides the scope computed from typ and letters
	noContext bool   // patient/ scopes without a (valid) patient claim
}

func (d denial) specific() bool { return d.reason != "" }

// responseCheck describes the check of a response body.
type responseCheck struct {
	on     bool
	bundle bool // the response is a Bundle whose entries are filtered
	// history: the Bundle is one resource's history, hidden as a read is
	// (a withheld version means the resource is withheld).
	history     bool
	expectType  string           // single resource: must be of this type
	letters     scope.Permission // each returned resource's type needs these letters
	compartment bool             // compartment types must be in Patient/<patient>
	// expectCompartment: expectType is a patient compartment type (known
	// from the decision's own lookup, which the check need not repeat).
	expectCompartment bool
	// readNamed: in the Bundle, the resource the request names
	// (ResourceType/ID: $everything's Patient) needs only "r", the
	// other entries letters.
	readNamed bool
}

// storedCheck describes the check of the stored version before a write.
type storedCheck struct {
	on            bool
	typ           string
	letters       scope.Permission // constraints of these letters must hold
	compartment   bool             // the stored version must be in exactly Patient/<patient>'s compartment
	createAllowed bool             // a missing stored version (update-as-create) is allowed: "c" granted and its constraints hold on the body
}

type typeClass uint8

const (
	classOther       typeClass = iota // neither compartment nor shared
	classPatient                      // Patient itself
	classCompartment                  // in the patient compartment
	classShared                       // listed by WithSharedTypes
)

func (e *evaluation) class(t string) typeClass {
	switch {
	case t == "Patient":
		return classPatient
	case e.p.compartment[t] != nil:
		return classCompartment
	case e.p.shared[t]:
		return classShared
	}
	return classOther
}

func (e *evaluation) inPatient() bool { return e.c == scope.Patient }

// checkResponse gives d the response check rc, unless it is off or no
// resource could fail it. Outside patient context, a "*" scope that grants
// rc's letters without constraints passes every resource of every type,
// so checking would only hold the whole response in memory (and refuse
// one over the middleware's limit) to keep all of it: a backend service
// with system/*.rs that pages with a server's opaque token, or includes
// what a reference holds, gets its answers streamed.
func (e *evaluation) checkResponse(d *Decision, rc responseCheck) {
	if !rc.on || !e.inPatient() && e.permit("*", rc.letters) == scope.Unconstrained {
		return
	}
	d.response = rc
}

func (e *evaluation) permit(t string, letters scope.Permission) scope.Match {
	return e.set.Permits(e.c, t, letters)
}

func (e *evaluation) grant() *Decision {
	return &Decision{Allowed: true, Status: http.StatusOK, Context: e.c, Patient: e.patient, policy: e.p, request: e.req, set: e.set}
}

func (e *evaluation) missing(t string, letters scope.Permission, via string) denial {
	return denial{status: http.StatusForbidden, code: "forbidden", typ: t, letters: letters, via: via}
}

func (e *evaluation) deny(status int, format string, args ...any) denial {
	return denial{status: status, code: "forbidden", reason: fmt.Sprintf(format, args...)}
}

// hidden denies a request about a resource of another patient: 404 when the
// policy hides existence, else 403.
func (e *evaluation) hidden(format string, args ...any) denial {
	st := http.StatusForbidden
	code := "forbidden"
	if e.p.hide {
		st, code = http.StatusNotFound, "not-found"
	}
	return denial{status: st, code: code, reason: fmt.Sprintf(format, args...)}
}

func (e *evaluation) outsideCompartment(t, what string) denial {
	return e.deny(http.StatusForbidden, "%s is not in the patient compartment and not shared by the policy: patient/ scopes cannot %s it", t, what)
}

func (e *evaluation) evaluate() (*Decision, denial) {
	switch e.req.Interaction {
	case Read, VRead, HistoryInstance:
		return e.read()
	case SearchType, SearchSystem, SearchCompartment:
		return e.search()
	case HistoryType, HistorySystem:
		return e.history()
	case PageContinuation:
		return e.continuation()
	case Create, Update, Patch, Delete:
		if serverDefinition(e.req.ResourceType) != "" {
			return e.definitionWrite()
		}
		return e.write()
	case Operation:
		return e.operation()
	}
	return nil, e.deny(http.StatusBadRequest, "%s cannot be decided", e.req.Interaction)
}

// write decides a create, update, patch or delete.
func (e *evaluation) write() (*Decision, denial) {
	switch e.req.Interaction {
	case Create:
		return e.create()
	case Update, Patch:
		return e.update()
	}
	return e.delete()
}

// read: read, vread and instance history need "r". Under patient context a
// read by id cannot be decided from the URL (the id says nothing about the
// owner), so it is allowed with a response check: the returned resource
// must be in the patient's compartment. The Patient resource itself is
// decided from the URL: only the context patient. An instance history
// with _page (a possible opaque paging token, see hasPageToken) is
// checked whatever the scopes.
func (e *evaluation) read() (*Decision, denial) {
	t := e.req.ResourceType
	m := e.permit(t, scope.Read)
	if m == scope.Denied {
		return nil, e.missing(t, scope.Read, "")
	}
	history := e.req.Interaction == HistoryInstance
	rc := responseCheck{letters: scope.Read, expectType: t, bundle: history, history: history}
	if e.inPatient() {
		switch e.class(t) {
		case classPatient:
			if e.req.ID != e.patient {
				return nil, e.hidden("Patient/%s is not the token's patient; patient/ scopes reach only Patient/%s", e.req.ID, e.patient)
			}
		case classCompartment:
			rc.on, rc.compartment, rc.expectCompartment = true, true, true
		case classShared:
		default:
			return nil, e.outsideCompartment(t, "read")
		}
	}
	if m == scope.Constrained {
		if !e.constraintsCheckable(t, scope.Read) {
			return nil, e.unenforceable(t, scope.Read, e.req.Interaction.String())
		}
		rc.on = true
	}
	if history && hasPageToken(e.req.Params) {
		rc.on = true
	}
	d := e.grant()
	e.checkResponse(d, rc)
	return d, denial{}
}

// search: the target needs "s", and so does every type the search reaches.
func (e *evaluation) search() (*Decision, denial) {
	req := e.req
	t := req.ResourceType
	var m scope.Match = scope.Unconstrained
	if req.Interaction == SearchSystem {
		if e.inPatient() {
			return nil, e.deny(http.StatusForbidden, "a system-wide search cannot be limited to the patient compartment; search one resource type at a time (e.g. Observation?...)")
		}
		if !reachesKind(req.Reaches, ReachType) {
			// Classify always lists the types (or "*"); a Request built
			// by hand without them would otherwise reach nothing to check.
			return nil, e.deny(http.StatusBadRequest, "a system-wide search must list the types it reaches (Request.Reaches); build Requests with Classify")
		}
	} else if t != "*" {
		m = e.permit(t, scope.Search)
		if m == scope.Denied {
			return nil, e.missing(t, scope.Search, "")
		}
	}
	if req.Interaction == SearchCompartment && req.CompartmentType == "Patient" && e.inPatient() && req.CompartmentID != e.patient {
		return nil, e.hidden("Patient/%s is not the token's patient; patient/ scopes reach only Patient/%s", req.CompartmentID, e.patient)
	}
	d := e.grant()
	if den := e.searchPart(d, t, req.Params, scope.Search, m); den.status != 0 {
		return nil, den
	}
	return d, denial{}
}

// returnsFound reports whether a request of interaction i whose search
// part searchPart decides answers with what that search finds: a search,
// or a registered search operation, which behaves as a search of its type
// ("Operation" reaches searchPart for no other operation). A conditional
// write answers with the resource it wrote, which the stored and body
// checks hold.
func returnsFound(i Interaction) bool {
	return i.IsSearch() || i == Operation
}

// reachesKind reports whether rs has a Reach of kind k.
func reachesKind(rs []Reach, k ReachKind) bool {
	for _, r := range rs {
		if r.Kind == k {
			return true
		}
	}
	return false
}

// searchPart checks and narrows the search part of a request (a search, or
// the condition of a conditional write): every reached type, the patient
// compartment and the v2 constraints of the target. m is what the target
// type's letters were granted with.
func (e *evaluation) searchPart(d *Decision, t string, params url.Values, letters scope.Permission, m scope.Match) denial {
	req := e.req
	var rc responseCheck
	for _, r := range req.Reaches {
		if r.Kind == ReachTarget {
			continue
		}
		if den := e.reach(r, &rc); den.status != 0 {
			return den
		}
	}
	if e.inPatient() {
		if den := e.patientSearch(d, t, params); den.status != 0 {
			return den
		}
		if t == "Patient" && returnsFound(req.Interaction) {
			// The narrowing _id=X holds only where the server matches
			// ids exactly, as FHIR ids are compared. medplum (its
			// in-memory repository, and the matching of its
			// Subscriptions) compares every token, _id too, without
			// regard to letter case: Patient?_id=abc returns Patient/ABC
			// as well, and _revinclude that Patient's records.
			rc.on = true
		}
	}
	if m == scope.Constrained && t != "*" && t != "" {
		if den := e.constrainSearch(d, t, params, letters); den.status != 0 {
			return den
		}
		if returnsFound(req.Interaction) {
			// The constraint is added to the query, but a server may
			// not search by it (a parameter the type's element has no
			// search parameter for, one it ignores, an operation that
			// reads a repeated parameter as OR or its Parameters body
			// instead of the query): the results are held to the
			// constraints in the response as well.
			rc.on = true
		}
	}
	if !rc.on && returnsFound(req.Interaction) && (!e.p.knownParams(t, params) || req.unreadParams) {
		// A parameter the release does not define for t may be a
		// server's opaque paging token (Azure's ct, Cerner's
		// -pageContext, HealthLake's page), which can replay any
		// search and make the server ignore the rest of the query, the
		// narrowing too: the page is checked entry by entry, as a
		// _getpages continuation is. So may a search operation's
		// parameter whose value fhirauth does not read.
		rc.on = true
	}
	rc.bundle, rc.letters, rc.compartment = true, scope.Search, e.inPatient()
	e.checkResponse(d, rc)
	return denial{}
}

// reach checks one non-target reached type of a search.
func (e *evaluation) reach(r Reach, rc *responseCheck) denial {
	if r.Type == "*" {
		if r.Kind == ReachChain || r.Kind == ReachHas || r.Kind == ReachList {
			return e.deny(http.StatusForbidden, "%s reaches an unknown type", r.Param)
		}
		for _, t := range e.p.allTypes {
			if e.permit(t, scope.Search) == scope.Denied {
				what := r.Param + " can return resources of any type"
				hint := "name the target type (e.g. Observation:subject:Patient)"
				if r.Kind == ReachType {
					what, hint = "a system-wide search without _type covers every type", "list the types in _type"
				}
				return denial{status: http.StatusForbidden, code: "forbidden", typ: t, letters: scope.Search, via: r.Param,
					reason: fmt.Sprintf("%s, but the token's %s/ scopes do not permit search on %s (and maybe others); %s or ask for %s/*.s", what, e.c, t, hint, e.c)}
			}
		}
		rc.on = true
		return denial{}
	}
	m := e.permit(r.Type, scope.Search)
	if m == scope.Denied {
		return e.missing(r.Type, scope.Search, r.Param)
	}
	switch r.Kind {
	case ReachInclude, ReachRevInclude:
		return e.reachIncluded(r, m, rc)
	case ReachChain:
		if m == scope.Constrained {
			return e.unenforceable(r.Type, scope.Search, r.Param)
		}
		if e.inPatient() && e.class(r.Type) == classOther {
			return e.deny(http.StatusForbidden, "chained parameter %s goes through %s, which is not in the patient compartment and not shared by the policy", r.Param, r.Type)
		}
	case ReachHas:
		if m == scope.Constrained {
			return e.unenforceable(r.Type, scope.Search, r.Param)
		}
		if e.inPatient() {
			if den := e.patientHas(r); den.status != 0 {
				return den
			}
		}
	case ReachList:
		if m == scope.Constrained {
			return e.unenforceable(r.Type, scope.Search, r.Param)
		}
		if e.inPatient() {
			return e.deny(http.StatusForbidden, "%s would test membership in a List that may belong to another patient; not allowed with patient/ scopes", r.Param)
		}
	case ReachType, ReachCompartment:
		if m == scope.Constrained {
			return e.unenforceable(r.Type, scope.Search, r.Param)
		}
		if r.Kind == ReachCompartment && e.inPatient() {
			// Patient/X/*: the server's idea of the compartment (and
			// the Patients linking to X) is checked against fhirauth's.
			rc.on = true
		}
	}
	return denial{}
}

// reachIncluded checks an _include or _revinclude of a search: included
// resources are filtered in the response whenever the token's scopes or
// the patient compartment must hold them (m is what the included type's
// search was granted with).
func (e *evaluation) reachIncluded(r Reach, m scope.Match, rc *responseCheck) denial {
	if m == scope.Constrained {
		if !e.constraintsCheckable(r.Type, scope.Search) {
			return e.unenforceable(r.Type, scope.Search, r.Param)
		}
		rc.on = true
	}
	if r.Kind == ReachInclude && r.Type != "*" && e.permit("*", scope.Search) != scope.Unconstrained {
		// A server may ignore an include's target type and include
		// whatever the reference holds, of types the token may not
		// search: filter the included resources in the response.
		rc.on = true
	}
	if e.inPatient() {
		switch e.class(r.Type) {
		case classPatient, classCompartment, classShared:
			// Included resources are not narrowed by the search's
			// parameters (and a shared target type may be ignored,
			// above): filter them in the response.
			rc.on = true
		default:
			return e.deny(http.StatusForbidden, "%s reaches %s, which is not in the patient compartment and not shared by the policy", r.Param, r.Type)
		}
	}
	return denial{}
}

// history: type and system history need "s" on every type they cover. A
// history Bundle also reveals deleted versions and cannot take search
// parameters, so it is denied under patient context and under v2
// constraints rather than narrowed. With _page, which a server may take
// for an opaque paging token replaying another search, the page is
// checked entry by entry, as a search's with _page is.
func (e *evaluation) history() (*Decision, denial) {
	if e.inPatient() {
		return nil, e.deny(http.StatusForbidden, "the history of a whole type or system cannot be limited to the patient compartment; read the history of one resource instead (Type/id/_history)")
	}
	types, via, what := e.p.allTypes, "_history of the whole system", "system history"
	if e.req.Interaction == HistoryType {
		types, via, what = []string{e.req.ResourceType}, "", "type history"
	}
	for _, t := range types {
		switch e.permit(t, scope.Search) {
		case scope.Denied:
			return nil, e.missing(t, scope.Search, via)
		case scope.Constrained:
			return nil, e.unenforceable(t, scope.Search, what)
		}
	}
	d := e.grant()
	e.checkResponse(d, responseCheck{on: hasPageToken(e.req.Params), bundle: true, letters: scope.Search})
	return d, denial{}
}

// continuation: an opaque paging token of the server (HAPI's _getpages)
// could replay any search, so the page is re-authorized entry by entry: the
// response check keeps only resources of types the token may search, in
// the patient's compartment under patient context, satisfying any v2
// constraints, and drops total.
func (e *evaluation) continuation() (*Decision, denial) {
	any := false
	for _, t := range e.p.allTypes {
		if e.permit(t, scope.Search) != scope.Denied {
			any = true
			break
		}
	}
	if !any {
		return nil, e.missing("*", scope.Search, "_getpages")
	}
	d := e.grant()
	e.checkResponse(d, responseCheck{on: true, bundle: true, letters: scope.Search, compartment: e.inPatient()})
	return d, denial{}
}
