package fhirauth

import (
	"bytes"
	"fmt"
	"math/bits"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/fhirwarden/fhirwarden/scope"
)

// Request returns the classified request the decision is about (nil for
// requests that could not be classified).
func (d *Decision) Request() *Request { return d.request }

// ApplyTo adds the decision's narrowing parameters to the query q (the
// request's query, or the parsed If-None-Exist of a conditional create)
// and returns it; q is modified in place (a nil q gets a new map).
//
// It is idempotent: a parameter value already present (for "patient", also
// the bare id of the context patient) is not added again, so a query that
// a server or an earlier ApplyTo has already narrowed is unchanged. When
// the decision carries a response check it also removes _elements and
// any _summary but count, and forces a JSON _format, so the response
// still holds the elements the check reads. Servers that enforce Narrow natively need not call it.
func (d *Decision) ApplyTo(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	for k, vs := range d.Narrow {
		for _, v := range vs {
			if !narrowPresent(q[k], k, v) {
				q[k] = append(q[k], v)
			}
		}
	}
	if d.response.on {
		delete(q, "_elements")
		if s, ok := q["_summary"]; ok && !countOnly(s) {
			delete(q, "_summary")
		}
		if f, ok := q["_format"]; ok && !jsonFormat(f) {
			q["_format"] = []string{"json"}
		}
	}
	return q
}

// ChangesQuery reports whether ApplyTo would change q: whether it would
// add a narrowing value q does not have, remove _elements or _summary, or
// force a JSON _format. When it would not, a gateway may pass the query on as the
// client wrote it, provided the server reads that query exactly as it was
// parsed into q (the middleware does so only for queries of plain
// name=value pairs with nothing to unescape). q is not modified.
func (d *Decision) ChangesQuery(q url.Values) bool {
	for k, vs := range d.Narrow {
		for _, v := range vs {
			if !narrowPresent(q[k], k, v) {
				return true
			}
		}
	}
	if d.response.on {
		if _, ok := q["_elements"]; ok {
			return true
		}
		if s, ok := q["_summary"]; ok && !countOnly(s) {
			return true
		}
		if f, ok := q["_format"]; ok && !jsonFormat(f) {
			return true
		}
	}
	return false
}

// countOnly reports whether the values of a _summary parameter ask for a
// count alone, a Bundle without resources, which a check reads whole.
// Every other _summary (true: an Observation's category is no summary
// element; text: text, id and meta only) may leave out what a check
// reads, and is removed for a checked request: the answer then holds the
// whole resource, still checked.
func countOnly(s []string) bool {
	return len(s) == 1 && s[0] == "count"
}

// jsonFormat reports whether the values of a _format parameter ask for
// JSON, and nothing else, so a checked response can read what comes back.
func jsonFormat(f []string) bool {
	return len(f) == 1 && strings.Contains(f[0], "json")
}

func narrowPresent(have []string, k, v string) bool {
	for _, h := range have {
		if h == v {
			return true
		}
		if k == "patient" && "Patient/"+h == v {
			return true
		}
	}
	return false
}

// NeedsResponseCheck reports whether the response body must pass
// CheckResponse before it reaches the caller. Responses of decisions
// without checks can stream. HEAD requests are refused (400) when a check
// would be needed: a HEAD's bare status would otherwise tell whether
// another patient's resource exists.
func (d *Decision) NeedsResponseCheck() bool { return d.response.on }

// ResponseIsBundle reports whether the checked response is a Bundle
// (search, history, $everything, paging), which CheckResponse filters
// entry by entry rather than accepts or refuses whole.
func (d *Decision) ResponseIsBundle() bool { return d.response.on && d.response.bundle }

// NeedsStoredCheck reports whether the server (or gateway) must pass the
// currently stored version of the target resource to CheckStored before
// performing the write.
func (d *Decision) NeedsStoredCheck() bool { return d.stored.on }

// CheckStatus is the status to answer when a response or stored-version
// check fails: 404 when the policy hides existence, else 403.
func (d *Decision) CheckStatus() int {
	if d.policy == nil || d.policy.hide {
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

// checkRead checks a single-resource response (read, vread): see
// CheckResult. It returns nil when the decision needs no response check.
func (d *Decision) checkRead(body []byte) error {
	if !d.response.on {
		return nil
	}
	if d.response.bundle {
		return fmt.Errorf("%w: this decision's response is a Bundle", ErrConstraint)
	}
	if d.acceptsInOnePass(body) {
		return nil
	}
	return d.checkReadFully(body)
}

// checkReadFully is checkRead without its one-pass shortcut: every
// check in order, the first failure worded as the error.
func (d *Decision) checkReadFully(body []byte) error {
	rt, err := checkedType(body)
	if err != nil {
		return err
	}
	if d.response.expectType != "" && rt != d.response.expectType {
		return fmt.Errorf("%w: the response is a %s, not the requested %s", ErrConstraint, clip(rt), d.response.expectType)
	}
	return d.allowResource(rt, body, d.response.letters)
}

// checkEntry checks one resource as an entry of a search result of this
// decision: it returns nil exactly when filterBundle would keep an entry
// holding this resource (see CheckResult). Without a response check it
// returns nil, as filterBundle then keeps everything.
func (d *Decision) checkEntry(resource []byte) error {
	if !d.response.on {
		return nil
	}
	if !jsonsyntax.Valid(resource) {
		return fmt.Errorf("%w: not valid JSON", ErrNotJSON)
	}
	return d.checkEntryResource(resource)
}

// checkEntryResource decides the resource of one search-result entry
// (valid JSON): the rule filterBundle and checkEntry share.
func (d *Decision) checkEntryResource(res []byte) error {
	_, _, err := d.entryResource(res)
	return err
}

// acceptsInOnePass reports whether body passes checkRead, validating
// it only once, in the common case of a compartment type under patient
// context (a patient-context read): the compartment matcher validates the
// document (syntax and UTF-8) before it walks it, so the separate
// validation of checkedType is not needed for an answer of yes. It only
// ever says yes to what the full sequence accepts (the same checks on a
// document the matcher found valid); for everything else the full
// sequence decides, and words the error.
func (d *Decision) acceptsInOnePass(body []byte) bool {
	t, p := d.response.expectType, d.policy
	if !d.response.expectCompartment || p == nil || !(d.response.compartment || d.Context == scope.Patient) {
		return false // also for t == "Patient": the Patient's own id decides
	}
	rt, in, err := p.matcher.PatientMembership(body, d.Patient)
	if err != nil || !in || rt != t {
		return false
	}
	return d.allowScopes(rt, body, d.response.letters) == nil
}

func checkedType(body []byte) (string, error) {
	if !jsonsyntax.Valid(body) {
		return "", fmt.Errorf("%w: not valid JSON", ErrNotJSON)
	}
	rt, _, err := resourceHeader(body)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	return rt, nil
}

// allowResource decides whether a resource of type rt may be returned.
func (d *Decision) allowResource(rt string, body []byte, letters scope.Permission) error {
	m := d.set.Permits(d.Context, rt, letters)
	if m == scope.Denied && !d.eachLetterPermitted(rt, letters) {
		return d.notPermitted(rt, letters)
	}
	if d.response.compartment || d.Context == scope.Patient {
		p := d.policy
		switch {
		case rt == "Patient":
			// Only the context patient's own record: the compartment
			// definition also puts Patients that link to it there, but a
			// read of such a Patient by id is refused, so a Bundle
			// (include, $everything, paging) must not return it either.
			_, id, err := resourceHeader(body)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrOutsideCompartment, err)
			}
			if id != d.Patient {
				return fmt.Errorf("%w: Patient/%s is not the token's patient", ErrOutsideCompartment, clip(id))
			}
		case p.compartment[rt] != nil:
			in, err := p.matcher.InPatientCompartment(body, d.Patient)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrOutsideCompartment, err)
			}
			if !in {
				return fmt.Errorf("%w: the %s is not in the compartment of Patient/%s", ErrOutsideCompartment, rt, d.Patient)
			}
		case p.shared[rt]:
		default:
			return fmt.Errorf("%w: %s is neither in the patient compartment nor shared", ErrOutsideCompartment, clip(rt))
		}
	}
	if m != scope.Unconstrained {
		return d.scopesHold(rt, body, letters)
	}
	return nil
}

// allowScopes is the part of allowResource that does not depend on the
// compartment: the token's scopes must permit letters on rt, and their
// constraints hold on body.
func (d *Decision) allowScopes(rt string, body []byte, letters scope.Permission) error {
	switch d.set.Permits(d.Context, rt, letters) {
	case scope.Unconstrained:
		return nil
	case scope.Denied:
		if !d.eachLetterPermitted(rt, letters) {
			return d.notPermitted(rt, letters)
		}
	}
	return d.scopesHold(rt, body, letters)
}

// notPermitted is the error for letters the token's scopes do not grant
// on rt.
func (d *Decision) notPermitted(rt string, letters scope.Permission) error {
	return fmt.Errorf("%w: the token's %s/ scopes do not permit %s on %s", ErrConstraint, d.Context, letters, clip(rt))
}

// eachLetterPermitted reports whether letters are more than one and the
// token's scopes permit each of them on rt, some only under constraints
// (which scopesHold then checks letter by letter).
func (d *Decision) eachLetterPermitted(rt string, letters scope.Permission) bool {
	if bits.OnesCount8(uint8(letters)) < 2 {
		return false
	}
	for b := scope.Create; b <= scope.Search; b <<= 1 {
		if letters&b != 0 && d.set.Permits(d.Context, rt, b) == scope.Denied {
			return false
		}
	}
	return true
}

// scopesHold checks that the token's scopes grant letters on the
// resource body of type rt, which some of them grant only under
// constraints: one scope's constraints that hold on body grant all the
// letters; failing that, each letter is checked by itself. For a
// resource in hand the union of the scopes' grants is exact letter by
// letter ("r" on every Observation and "s" on laboratory ones grant "rs"
// on a laboratory Observation), which Set.Permits, asked about a type
// rather than a resource, does not add up.
func (d *Decision) scopesHold(rt string, body []byte, letters scope.Permission) error {
	err := d.constraintsHoldOn(rt, body, letters)
	if err == nil || bits.OnesCount8(uint8(letters)) < 2 {
		return err
	}
	for b := scope.Create; b <= scope.Search; b <<= 1 {
		if letters&b == 0 || d.set.Permits(d.Context, rt, b) == scope.Unconstrained {
			continue
		}
		if err := d.constraintsHoldOn(rt, body, b); err != nil {
			return err // also when no scope grants b: no alternative holds
		}
	}
	return nil
}

// constraintsHoldOn checks that some constraint alternative of the token's
// scopes granting letters on rt holds on body.
func (d *Decision) constraintsHoldOn(rt string, body []byte, letters scope.Permission) error {
	alts := d.set.AppendConstraints(nil, d.Context, rt, letters)
	ok, why, err := constraintsHold(d.policy.version, rt, body, alts, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConstraint, err)
	}
	if !ok {
		return fmt.Errorf("%w: the %s does not satisfy the scope constraints (%s)%s", ErrConstraint, rt, formatAlternatives(alts), whyNot(why))
	}
	return nil
}

// checkMissing is CheckStored for a target that is not stored.
func (d *Decision) checkMissing() error {
	sc := d.stored
	if sc.createAllowed {
		return nil
	}
	id := ""
	if d.request != nil {
		id = d.request.ID
	}
	if d.request != nil && d.request.Interaction == Update {
		return fmt.Errorf("%w: %s/%s does not exist and the token may not create it (update-as-create needs a %s/ scope granting %s on %s whose constraints, if any, the resource satisfies)",
			ErrConstraint, sc.typ, clip(id), d.Context, sc.letters|scope.Create, sc.typ)
	}
	sentinel := ErrConstraint
	if sc.compartment {
		sentinel = ErrOutsideCompartment
	}
	return fmt.Errorf("%w: %s/%s does not exist (a missing resource is answered like one the token may not see)", sentinel, sc.typ, clip(id))
}

// CheckStored checks the currently stored version of the target of a
// write (update, patch, delete, instance operation) before the server
// performs it; pass nil when no version is stored. Under patient context
// the stored version must be in exactly the patient's compartment (so
// another patient's resource can be neither changed nor taken over), with
// no compartment reference a server could resolve to someone else
// (fhirspec.Matcher.PatientCompartmentsStrict); under
// v2 constraints it must satisfy them; and a missing resource is accepted
// only when an update-as-create would be permitted ("c" with the update's
// letters, and the body satisfying that scope's constraints): for a patch, a
// delete or an instance operation it is an error too (wrapping
// ErrOutsideCompartment under patient context, else ErrConstraint), so
// that a missing resource and a withheld one get the same answer and a
// delete cannot tell which ids exist. It returns nil when the decision
// needs no stored check. On error answer CheckStatus().
func (d *Decision) CheckStored(resource []byte) error {
	sc := d.stored
	if !sc.on {
		return nil
	}
	if len(bytes.TrimSpace(resource)) == 0 {
		return d.checkMissing()
	}
	if d.storedInOnePass(resource) {
		return nil
	}
	return d.checkStoredFully(resource)
}

// storedInOnePass reports whether resource passes checkStoredFully,
// reading it only once, in the common case of a write under patient
// context: the strict compartment walk validates the document and reads
// its resourceType, so checkedType's separate pass (nearly half of the
// full check's time; a Bundle's PUT entries each need a check) is not
// needed for an answer of yes. Like acceptsInOnePass it only ever says
// yes to what the full sequence accepts; everything else is decided, and
// its error worded, by checkStoredFully.
func (d *Decision) storedInOnePass(resource []byte) bool {
	sc := d.stored
	if !sc.compartment {
		return false
	}
	rt, ids, err := d.policy.matcher.PatientCompartmentsStrict(resource)
	return err == nil && rt == sc.typ && len(ids) == 1 && ids[0] == d.Patient && d.storedConstraints(resource) == nil
}

// checkStoredFully is CheckStored of a stored resource without its
// one-pass shortcut: every check in order, the first failure worded as
// the error.
func (d *Decision) checkStoredFully(resource []byte) error {
	sc := d.stored
	rt, err := checkedType(resource)
	if err != nil {
		return err
	}
	if rt != sc.typ {
		return fmt.Errorf("%w: the stored resource is a %s, not a %s", ErrConstraint, clip(rt), sc.typ)
	}
	if sc.compartment {
		_, ids, err := d.policy.matcher.PatientCompartmentsStrict(resource)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrOutsideCompartment, err)
		}
		if len(ids) != 1 || ids[0] != d.Patient {
			return fmt.Errorf("%w: the stored %s is not a resource of Patient/%s alone", ErrOutsideCompartment, sc.typ, d.Patient)
		}
	}
	return d.storedConstraints(resource)
}

// storedConstraints checks the v2 scope constraints that grant the
// write on the stored resource.
func (d *Decision) storedConstraints(resource []byte) error {
	sc := d.stored
	if d.set.Permits(d.Context, sc.typ, sc.letters) != scope.Constrained {
		return nil
	}
	alts := d.set.AppendConstraints(nil, d.Context, sc.typ, sc.letters)
	ok, why, err := constraintsHold(d.policy.version, sc.typ, resource, alts, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConstraint, err)
	}
	if !ok {
		return fmt.Errorf("%w: the stored %s does not satisfy the scope constraints (%s)%s", ErrConstraint, sc.typ, formatAlternatives(alts), whyNot(why))
	}
	return nil
}
