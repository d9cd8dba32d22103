package fhirauth

import (
	"fmt"
	"net/http"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// CheckResponse applies the decision's response check to what the server
// answered for this request (status and body, FHIR JSON), and returns the
// body to pass on: the body itself, or for a search, history or
// $everything the filtered Bundle, with the number of entries removed.
// It is the one sequence every server and gateway needs:
//
//   - a decision without a response check passes everything;
//   - under existence hiding, a 404 or 410 for a single resource (a read,
//     or an instance's history) returns ErrHidden: answer exactly as for a
//     missing resource, so that a missing resource and another patient's
//     look the same; so does an instance history with a version withheld,
//     which an emptied history Bundle would otherwise tell from a missing
//     resource, an instance history without entries (a _since after the
//     last version: it tells that the resource exists), and a 1xx or 3xx answer (a redirect, a 304), which has
//     nothing to check but tells that the resource exists;
//   - otherwise a 1xx or 3xx answer is refused (wrapping ErrNotJSON);
//   - a 2xx answer without a body (empty or JSON whitespace) holds no
//     resource to check, yet tells that there is one: it is ErrHidden
//     under existence hiding, as a 304 is, and refused (wrapping
//     ErrNotJSON) otherwise, but for a write (Prefer: return=minimal);
//   - an empty error answer passes, and so does a 4xx or 5xx answer that
//     is an OperationOutcome with only its own elements (anything else in
//     an error answer is refused, wrapping ErrNotJSON), and such an
//     OperationOutcome as a write's 2xx answer (Prefer:
//     return=OperationOutcome);
//   - a Bundle response goes through the Bundle filter (see ResponseIsBundle),
//     a single resource must pass the read check (see CheckResult).
//
// Any other error wraps ErrOutsideCompartment, ErrConstraint or ErrNotJSON:
// withhold the response and answer CheckStatus() (a gateway may answer 502
// for ErrNotJSON: the server's answer could not be checked).
func (d *Decision) CheckResponse(status int, body []byte) (out []byte, removed int, err error) {
	if !d.response.on {
		return body, 0, nil
	}
	// An informational answer, a redirect or a 304 holds nothing to
	// check, but says that something is there.
	uncheckable := status < 200 || (status >= 300 && status < 400)
	if d.hidesExistence() && (status == http.StatusNotFound || status == http.StatusGone || uncheckable) {
		return nil, 0, ErrHidden
	}
	if uncheckable {
		// The status is not echoed: a 304 would say which version exists.
		return nil, 0, fmt.Errorf("%w: the server answered with a redirect or an informational status, which cannot be checked", ErrNotJSON)
	}
	if len(body) == 0 && (status > 299 || d.answersWrite()) {
		return body, 0, nil
	}
	if status < 300 && jsonsyntax.SkipSpace(body, 0) == len(body) {
		return nil, 0, d.withoutBody(status)
	}
	if d.answersWrite() && isPlainOutcome(body) {
		// Prefer: return=OperationOutcome: no resource in it.
		return body, 0, nil
	}
	if status < 200 || status > 299 {
		if !isPlainOutcome(body) {
			return nil, 0, fmt.Errorf("%w: the server's %d answer is not an OperationOutcome", ErrNotJSON, status)
		}
		return body, 0, nil
	}
	if d.response.bundle {
		out, removed, err := d.filterBundle(body)
		if d.response.history && d.hidesExistence() && (err != nil || removed > 0 || !hasEntries(out)) {
			// An instance history with a version withheld, without
			// entries (_since after the last version) or that cannot be
			// read ("entry":null) tells that the resource exists: it
			// answers as a missing resource.
			return nil, removed, ErrHidden
		}
		if err == nil && removed > 0 && d.response.history {
			return nil, removed, d.historyWithheld(removed)
		}
		return out, removed, err
	}
	if err := d.checkRead(body); err != nil {
		return nil, 0, err
	}
	return body, 0, nil
}

// answersWrite reports whether the decision is about a write, which a
// server may answer without a body (Prefer: return=minimal).
func (d *Decision) answersWrite() bool {
	if d.request == nil {
		return false
	}
	switch d.request.Interaction {
	case Create, Update, Patch, Delete:
		return true
	}
	return false
}

// withoutBody is the error for a success answer without a body to a
// read, search, history or operation: it holds no resource to check, yet
// a server answers so only for what it has, so under existence hiding it
// answers as a missing resource (as a 304 does).
func (d *Decision) withoutBody(status int) error {
	if d.hidesExistence() {
		return ErrHidden
	}
	return fmt.Errorf("%w: the server answered %d without a body, which holds nothing to check", ErrNotJSON, status)
}

// hasEntries reports whether the Bundle b (as filterBundle rebuilt it)
// holds an entry.
func hasEntries(b []byte) bool {
	var vals [fbCount][]byte
	if readMembers(b, filterBundleNames, vals[:]) != nil {
		return false
	}
	e := vals[fbEntry]
	if len(e) == 0 {
		return false
	}
	i := jsonsyntax.SkipSpace(e, 1)
	return i < len(e) && e[i] != ']'
}

// hidesExistence reports whether the decision's response check is of one
// resource (a read, or an instance's history) under existence hiding:
// then a missing resource and a withheld one must get the same answer.
func (d *Decision) hidesExistence() bool {
	single := !d.response.bundle || d.response.history
	return d.response.on && single && d.CheckStatus() == http.StatusNotFound
}

// historyWithheld is the error for an instance history with versions the
// caller may not see: the resource is withheld as a whole.
func (d *Decision) historyWithheld(removed int) error {
	if d.CheckStatus() == http.StatusNotFound {
		return ErrHidden
	}
	return fmt.Errorf("%w: %d versions of the resource are outside the caller's access", ErrOutsideCompartment, removed)
}

// CheckResult checks one resource the response of this decision holds,
// for servers that build their answers natively rather than check them
// afterwards: the resource of a read, or one resource of a search,
// history or $everything result, which it accepts exactly when the Bundle
// filter of CheckResponse would keep an entry holding it. Under existence
// hiding answer a refused read as not found (CheckStatus()). It returns
// nil when the decision needs no response check.
//
// A read's resource must be of the requested type, of a type the caller
// may read, in the patient's compartment under patient context (for a
// Patient: the context patient itself, not a Patient that links to it),
// and satisfy the v2 constraints of the granting scopes. A search result
// follows the same rules without the requested-type check (a search
// returns included resources of other types too), plus two that the
// filter needs because it copies resources as they are: the resource's
// top-level keys must be distinct, also under Unicode case folding
// (ErrNotJSON), and an OperationOutcome, which is kept whatever the
// scopes, may hold only the elements FHIR defines for it, without
// contained resources (ErrConstraint). Errors wrap ErrNotJSON,
// ErrOutsideCompartment or ErrConstraint.
func (d *Decision) CheckResult(resource []byte) error {
	if d.response.bundle {
		return d.checkEntry(resource)
	}
	return d.checkRead(resource)
}

// isPlainOutcome reports whether body is an OperationOutcome with only the
// elements FHIR defines for it (no contained resources), read strictly:
// what an error answer may carry past a response check.
func isPlainOutcome(body []byte) bool {
	if !jsonsyntax.Valid(body) {
		return false
	}
	top, err := scanTopLevel(body)
	return err == nil && top.rt == "OperationOutcome" && !top.hasExtra
}
