package fhirauth

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/fhirwarden/fhirwarden/scope"
)

// A conditional reference ("Patient?identifier=x|1") in a written body
// is a search the server runs with its own authority: FHIR has a server
// resolve one in a transaction, and fail the transaction when no
// resource or more than one matches (HAPI resolves them outside
// transactions too when configured to, IBM's server in every
// transaction). Whether the write succeeds tells the caller whether some
// resource matches the search, whoever's it is
// (Observation?subject=Patient/2&code=hiv), and what is stored links to
// what the search found. So such a reference, anywhere in the body
// (extensions and contained resources too, a patch's values), needs what
// the search needs: "s" on its type, unconstrained; under patient
// context it is refused unless its type is shared with patient/ scopes
// (a Practitioner, a Medication), since the server's search is not
// narrowed to the compartment.

// conditionalReferences refuses a write whose body holds a conditional
// reference the token may not search for.
func (e *evaluation) conditionalReferences() denial {
	refs, err := conditionalRefs(e.req.Body)
	if err != nil {
		return denial{status: http.StatusBadRequest, code: "invalid", reason: "the body's references cannot be read: " + err.Error()}
	}
	for _, ref := range refs {
		if den := e.conditionalReference(ref); den.status != 0 {
			return den
		}
	}
	return denial{}
}

// conditionalReference decides one conditional reference ref.
// Under patient context only a type shared with patient/ scopes, which
// they search unnarrowed, may be searched so.
func (e *evaluation) conditionalReference(ref string) denial {
	typ, _, _ := strings.Cut(strings.TrimSpace(ref), "?")
	if !fhirspec.IsResourceType(e.p.version, typ) {
		return e.deny(http.StatusForbidden, "the body holds the reference %q, which a server may resolve by a search fhirauth cannot judge (a conditional reference must be Type?[search parameters])", clip(ref))
	}
	if e.inPatient() && e.class(typ) != classShared {
		return e.deny(http.StatusForbidden, "the body holds the conditional reference %q: the server resolves it by a search outside the patient's compartment, and whether the write succeeds tells whether something matched; patient/ scopes write only literal references (Type/id), or conditional ones to types shared with them", clip(ref))
	}
	switch e.permit(typ, scope.Search) {
	case scope.Denied:
		return e.missing(typ, scope.Search, "the conditional reference "+ref)
	case scope.Constrained:
		return e.unenforceable(typ, scope.Search, "the conditional reference "+clip(ref))
	}
	return denial{}
}

// conditionalRefs returns every string value of a "reference" member
// (in any letter case or spelling of the name) that holds a "?",
// anywhere in the JSON value body. A body with no "?" and no escape,
// where no string can hold one, is not walked.
func conditionalRefs(body []byte) ([]string, error) {
	if bytes.IndexByte(body, '?') < 0 && !bytes.Contains(body, []byte(`\u`)) {
		return nil, nil
	}
	s := refScan{data: body}
	at := jsonsyntax.SkipSpace(body, 0)
	if at >= len(body) {
		return nil, nil
	}
	s.value(at, 0)
	return s.refs, s.err
}

// refScan walks a JSON value for conditionalRefs.
type refScan struct {
	data []byte
	refs []string
	done bool // stop: an error
	err  error
}

var errRefSyntax = errors.New("not valid JSON")

// value walks the value at data[at] (depth levels open around it) and
// returns its end, or -1 when the walk stops.
func (s *refScan) value(at, depth int) int {
	if at < 0 || at >= len(s.data) {
		s.fail(errRefSyntax)
		return -1
	}
	switch s.data[at] {
	case '{':
		obj := jsonsyntax.ReadObject(s.data, at, depth)
		for !s.done && obj.Next() {
			a, d := obj.ValueStart()
			if a >= 0 && a < len(s.data) && s.data[a] == '"' && jsonsyntax.FoldEqual(obj.Name(), "reference") {
				s.reference(obj.Value())
				continue
			}
			obj.SkipTo(s.value(a, d))
		}
		return s.finish(obj.Err(), obj.End())
	case '[':
		arr := jsonsyntax.ReadArray(s.data, at, depth)
		for !s.done && arr.Next() {
			a, d := arr.ValueStart()
			arr.SkipTo(s.value(a, d))
		}
		return s.finish(arr.Err(), arr.End())
	}
	end := jsonsyntax.ValidValue(s.data, at, depth)
	if end < 0 {
		s.fail(errRefSyntax)
	}
	return end
}

// finish returns the end of an object or array whose reader stopped
// with err, or -1 when the walk stops.
func (s *refScan) finish(err error, end int) int {
	if s.done {
		return -1
	}
	if err != nil {
		s.fail(err)
		return -1
	}
	return end
}

// fail stops the walk with err.
func (s *refScan) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.done = true
}

// reference reads v, the value of a "reference" member: a string that
// holds a "?" is kept.
func (s *refScan) reference(v []byte) {
	if len(v) == 0 || v[0] != '"' {
		return // not a string, or invalid: the reader has the error
	}
	ref, err := jsonsyntax.Unquote(v)
	if err != nil {
		s.fail(err)
		return
	}
	if strings.Contains(ref, "?") {
		s.refs = append(s.refs, ref)
	}
}
