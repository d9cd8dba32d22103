package fhirspec

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// Matcher decides Patient compartment membership of FHIR JSON resources
// for one FHIR version. A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	v     Version
	bases []string // absolute base URLs, each ending in "/"
}

// MatcherOption configures a Matcher.
type MatcherOption func(*Matcher) error

// WithBaseURL makes absolute references under base (this server's FHIR
// base URL, e.g. "https://fhir.example.org/r4") count like relative ones:
// "https://fhir.example.org/r4/Patient/123" then names Patient/123. The
// comparison is exact and case-sensitive. Without this option absolute
// references never count, since they may name a patient of another server
// ("http://evil.example/Patient/123" is not our Patient/123). The base must
// be an absolute http(s) URL without query, fragment or user info.
func WithBaseURL(base string) MatcherOption {
	return func(m *Matcher) error {
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("fhirspec: base URL %q: %w", base, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Path, "//") ||
			strings.ContainsAny(base, "?#") {
			return fmt.Errorf("fhirspec: base URL %q must be an absolute http(s) URL without user info, query or fragment", base)
		}
		m.bases = append(m.bases, strings.TrimSuffix(base, "/")+"/")
		return nil
	}
}

// NewMatcher returns a Matcher for version v.
func NewMatcher(v Version, opts ...MatcherOption) (*Matcher, error) {
	if !v.Valid() {
		return nil, fmt.Errorf("fhirspec: %v: %w", v, ErrUnknownVersion)
	}
	m := &Matcher{v: v}
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Version returns the FHIR version m was built for.
func (m *Matcher) Version() Version { return m.v }

// InPatientCompartment reports whether the FHIR JSON resource is in the
// compartment of Patient/patientID, per the official patient
// CompartmentDefinition of v: some compartment parameter of its type refers
// to the patient (see CompartmentParam.Paths), or it is that Patient
// itself. It is the package-level form of Matcher.InPatientCompartment with
// no base URL (absolute references never count).
func InPatientCompartment(v Version, resource []byte, patientID string) (bool, error) {
	if !v.Valid() {
		return false, fmt.Errorf("fhirspec: %v: %w", v, ErrUnknownVersion)
	}
	m := Matcher{v: v}
	return m.InPatientCompartment(resource, patientID)
}

// InPatientCompartment reports whether resource (the raw JSON of one FHIR
// resource: raw bytes are the fast path, no map is built and nothing is
// allocated for typical resources) is in the compartment of
// Patient/patientID.
//
// The rules, all failing closed:
//   - Only the Reference elements at the compartment paths of the
//     resource's own type count; references elsewhere (note, extension,
//     contained resources, identifiers) do not.
//   - A reference counts when it is "Patient/<id>", "Patient/<id>/_history/<vid>"
//     or one of those under a base given by WithBaseURL, with <id> equal to
//     patientID byte for byte. Foreign absolute URLs, urn:uuid, contained,
//     conditional and identifier-only references never count.
//   - A Patient is in its own compartment (by "id") and, per the
//     definition's "link" parameter, in the compartments of the patients
//     its link.other elements refer to.
//   - Chained parameters (STU3 AuditEvent agent.patient, Provenance
//     target.subject, ...) cannot be evaluated on the resource alone and
//     are ignored.
//
// Errors: ErrMalformedResource (not one JSON object, no string
// resourceType), ErrUnknownResourceType, ErrAmbiguousResource (duplicate
// or case-variant keys in the root object or an object on a compartment
// path, a case variant of an element that decides membership, or a name
// in those objects written with escapes: no FHIR element name needs one),
// ErrInvalidID (patientID is not a FHIR id). A type outside the compartment
// (Practitioner, Medication, ...) is (false, nil).
func (m *Matcher) InPatientCompartment(resource []byte, patientID string) (bool, error) {
	_, in, err := m.PatientMembership(resource, patientID)
	return in, err
}

// PatientMembership is InPatientCompartment that also returns the
// resource's type, as ResourceTypeOf would, from the same single read of
// the resource: for callers that need both (a response check compares the
// type with the one requested). The type is a string of fhirspec's tables,
// never an alias of resource. On error it returns "" and false.
func (m *Matcher) PatientMembership(resource []byte, patientID string) (resourceType string, in bool, err error) {
	if !IsID(patientID) {
		return "", false, fmt.Errorf("fhirspec: patient id %q: %w", clip(patientID), ErrInvalidID)
	}
	w := walker{bases: m.bases, match: patientID}
	rt, err := m.walk(resource, &w)
	if err != nil {
		return "", false, err
	}
	return rt, w.found, nil
}

// PatientCompartments returns the resource type of resource and the sorted,
// distinct ids of the patients in whose compartments it is, by the same
// rules as InPatientCompartment. A write check that must not let a
// resource name other patients can require ids to be exactly the context
// patient.
func (m *Matcher) PatientCompartments(resource []byte) (resourceType string, ids []string, err error) {
	return m.compartments(resource, false)
}

// PatientCompartmentsStrict is PatientCompartments for checking a resource
// that is about to be written. Servers resolve more reference forms than
// fhirspec counts: a transaction resolves conditional references
// ("Patient?identifier=...") to whichever patient matches, and many servers
// treat an absolute URL under their own base as local. Such a reference in
// a compartment element could put the resource into a patient's
// compartment that PatientCompartments does not report, so here it is an
// error wrapping ErrUnverifiableReference: a conditional reference, an
// absolute URL with a "Patient" path segment (in any letter case) that is
// not under a WithBaseURL base, and a relative reference whose type is
// "Patient" in any letter case but that is not exactly
// "Patient/<id>[/_history/<vid>]". References that cannot name a patient
// (other types, "urn:uuid:" and "urn:oid:" placeholders of a Bundle,
// contained "#id") are accepted as in PatientCompartments. A
// compartment element that is neither an object nor an array of objects,
// and a "reference" there that is not a string, are errors wrapping
// ErrMalformedResource: FHIR JSON has neither, PatientCompartments reads
// them as naming nobody, and a lenient reader may find a patient in
// ["Patient/1"] or 1.
func (m *Matcher) PatientCompartmentsStrict(resource []byte) (resourceType string, ids []string, err error) {
	return m.compartments(resource, true)
}

// PatientCompartmentsReplaced is PatientCompartmentsStrict for a
// resource in a batch or transaction Bundle whose server replaces some
// references before it stores the resource: those that match the fullUrl
// of an entry whose id the server assigns or resolves (FHIR's
// transaction rules). A
// reference on a compartment path for which replaced reports true is an
// error wrapping ErrUnverifiableReference, whatever it names: once
// replaced it may name another patient, or none. replaced must not keep
// its argument, which may alias a scratch buffer; a nil replaced is
// PatientCompartmentsStrict.
func (m *Matcher) PatientCompartmentsReplaced(resource []byte, replaced func(ref string) bool) (resourceType string, ids []string, err error) {
	w := walker{bases: m.bases, collect: true, strict: true, replaced: replaced}
	return m.collect(resource, &w)
}

// compartments walks resource collecting the sorted patient ids of its
// compartments; strict refuses the references a server could resolve to
// a patient fhirspec cannot see (PatientCompartmentsStrict).
func (m *Matcher) compartments(resource []byte, strict bool) (string, []string, error) {
	w := walker{bases: m.bases, collect: true, strict: strict}
	return m.collect(resource, &w)
}

// collect walks resource with the collecting walker w and returns the
// resource's type and the sorted patient ids found.
func (m *Matcher) collect(resource []byte, w *walker) (string, []string, error) {
	rt, err := m.walk(resource, w)
	if err != nil {
		return "", nil, err
	}
	slices.Sort(w.ids)
	return rt, w.ids, nil
}

// ResourceTypeOf returns the "resourceType" of a FHIR JSON resource,
// checked against the resource types of v.
func ResourceTypeOf(v Version, resource []byte) (string, error) {
	if !v.Valid() {
		return "", fmt.Errorf("fhirspec: %v: %w", v, ErrUnknownVersion)
	}
	m := Matcher{v: v}
	return m.resourceType(resource)
}

func (m *Matcher) resourceType(resource []byte) (string, error) {
	if err := validJSON(resource); err != nil {
		return "", err
	}
	if !startsObject(resource) {
		return "", errNotObject
	}
	obj := jsonsyntax.ReadValidObject(resource, 0)
	return m.header(&obj, true)
}

// header reads the resourceType of the root object obj and checks it;
// the type returned is the table's string, never an alias of the input.
// With full set it reads the whole root object (validated as obj
// validates), and so refuses a repeated or case-variant resourceType
// anywhere; without, it stops at the first resourceType and leaves those
// checks to the walk.
func (m *Matcher) header(obj *jsonsyntax.ObjectReader, full bool) (string, error) {
	raw, err := typeMember(obj)
	if err == nil && full {
		err = rootRest(obj)
	}
	if err != nil {
		return "", err
	}
	t, ok := internType(m.v, raw)
	if !ok {
		return "", fmt.Errorf("fhirspec: resourceType %q in %v: %w", clip(raw), m.v, ErrUnknownResourceType)
	}
	return t, nil
}

// typeMember reads the members of the root object obj up to the first
// "resourceType" and returns its value, which may view the input.
func typeMember(obj *jsonsyntax.ObjectReader) (string, error) {
	for obj.Next() {
		key := jsonsyntax.View(obj.Name())
		switch {
		case obj.Escaped():
			return "", escapedKey(key)
		case key == "resourceType":
			v := obj.Value()
			if v == nil {
				return "", readerError(obj.Err())
			}
			if len(v) == 0 || v[0] != '"' { // empty: a look-ahead found no value
				return "", fmt.Errorf("fhirspec: resourceType is not a string: %w", ErrMalformedResource)
			}
			rt, plain, err := jsonsyntax.StringValue(v, nil)
			if err != nil {
				return "", errNotJSON
			}
			if !plain {
				return string(rt), nil // rare: a copy of its own
			}
			return jsonsyntax.View(rt), nil
		case foldsTo(key, "resourceType"):
			return "", fmt.Errorf("fhirspec: element %q differs from \"resourceType\" only in case: %w", clip(key), ErrAmbiguousResource)
		}
	}
	if err := obj.Err(); err != nil {
		return "", readerError(err)
	}
	return "", fmt.Errorf("fhirspec: resource has no resourceType: %w", ErrMalformedResource)
}

// rootRest reads the members of the root object obj after its
// resourceType, and what follows the object: names must not be written
// with escapes, and obj's NameSet, which holds "resourceType", refuses
// any repeat or case variant of it.
func rootRest(obj *jsonsyntax.ObjectReader) error {
	for obj.Next() {
		if obj.Escaped() {
			return escapedKey(jsonsyntax.View(obj.Name()))
		}
	}
	if err := obj.Done(true); err != nil {
		return readerError(err)
	}
	return nil
}

// readerError is the error for a jsonsyntax reader that stopped with
// err: two names a parser may take for one (the reader's one rule) make
// the resource ambiguous; anything else is a syntax error.
func readerError(err error) error {
	if errors.Is(err, jsonsyntax.ErrDuplicateName) || errors.Is(err, jsonsyntax.ErrInvalidString) {
		return fmt.Errorf("fhirspec: %w: %w", err, ErrAmbiguousResource)
	}
	return errNotJSON
}

// startsObject reports whether the first byte of resource after space
// opens an object.
func startsObject(resource []byte) bool {
	i := jsonsyntax.SkipSpace(resource, 0)
	return i < len(resource) && resource[i] == '{'
}

// validJSON checks that resource is one well-formed JSON value (as
// encoding/json.Valid decides) in valid UTF-8 (FHIR JSON is UTF-8;
// encoding/json would silently replace invalid bytes, so two readers could
// see different strings).
func validJSON(resource []byte) error {
	if !utf8.Valid(resource) {
		return fmt.Errorf("fhirspec: resource is not valid UTF-8: %w", ErrMalformedResource)
	}
	if !validJSONSyntax(resource) {
		return errNotJSON
	}
	return nil
}

// walk validates resource (UTF-8 first, then its JSON syntax while
// walking it, so a typical resource is read once) and reports to w the id
// of every patient whose compartment it is in. It returns the resource
// type.
func (m *Matcher) walk(resource []byte, w *walker) (string, error) {
	if !utf8.Valid(resource) {
		return "", fmt.Errorf("fhirspec: resource is not valid UTF-8: %w", ErrMalformedResource)
	}
	rt, err := m.walkValidating(resource, w)
	if err != nil && !errors.Is(err, ErrMalformedResource) && !validJSONSyntax(resource) {
		// Whatever the walk stumbled on first, a document that is not
		// JSON is reported as such, as a validation pass before the walk would.
		return "", errNotJSON
	}
	return rt, err
}

var (
	// errNotJSON is the error for a document that is not one JSON value.
	errNotJSON = fmt.Errorf("fhirspec: resource is not valid JSON: %w", ErrMalformedResource)
	// errNotObject is the error for one that is not an object.
	errNotObject = fmt.Errorf("fhirspec: resource is not a JSON object: %w", ErrMalformedResource)
)

// leadingType reads the first member of the root object root and returns
// the resource type when it is "resourceType" with a known type as its
// value, all written plain: the usual case, answered without header's
// look-ahead, and the walk goes on with root. Otherwise it reports false
// (root has then read a member), and header finds the type or the error.
func (m *Matcher) leadingType(root *jsonsyntax.ObjectReader) (typeInfo, bool) {
	if !root.Next() || root.Escaped() || string(root.Name()) != "resourceType" {
		return typeInfo{}, false
	}
	v := root.Value()
	if len(v) == 0 || v[0] != '"' {
		return typeInfo{}, false
	}
	name, plain, err := jsonsyntax.StringValue(v, nil)
	if err != nil || !plain {
		return typeInfo{}, false
	}
	return lookupType(m.v, jsonsyntax.View(name))
}

func (m *Matcher) walkValidating(resource []byte, w *walker) (string, error) {
	if !startsObject(resource) {
		return "", errNotObject
	}
	// The resourceType is needed before the walk, which follows the
	// compartment paths of that type. It is usually the first member,
	// which leadingType reads (validating it) for the walk to go on
	// after; otherwise header looks ahead, trusting the syntax, which the
	// walk then validates from the start.
	root := jsonsyntax.ReadObject(resource, 0, 0)
	ti, ok := m.leadingType(&root)
	rt, ct := ti.name, ti.compartment
	if !ok {
		var err error
		if rt, err = m.lookAhead(resource); err != nil {
			return "", err
		}
		ct = compartments[m.v][rt]
		root = jsonsyntax.ReadObject(resource, 0, 0)
	}
	if ct == nil {
		// Not a compartment type: nothing to find, but still refuse an
		// ambiguous or malformed document.
		var err error
		if ok {
			err = rootRest(&root)
		} else {
			_, err = m.header(&root, true)
		}
		if err != nil {
			return "", err
		}
		return rt, nil
	}
	w.data = resource
	w.patient = rt == "Patient"
	if !w.root(&root, &ct.root) {
		return "", w.err
	}
	return rt, nil
}

// lookAhead finds the resource type of a resource whose first member is
// not a plain "resourceType", trusting its syntax (the walk validates it
// after).
func (m *Matcher) lookAhead(resource []byte) (string, error) {
	obj := jsonsyntax.ReadValidObject(resource, 0)
	rt, err := m.header(&obj, false)
	if errors.Is(err, ErrUnknownResourceType) {
		// The look ahead stopped at the first resourceType; a second
		// one makes the document ambiguous, whatever the first says, and
		// that is the answer to give.
		obj = jsonsyntax.ReadObject(resource, 0, 0)
		if _, ferr := m.header(&obj, true); errors.Is(ferr, ErrAmbiguousResource) {
			return "", ferr
		}
	}
	return rt, err
}

// foldsTo reports whether key equals name (an ASCII element name) under
// jsonsyntax's fold rule, the Unicode case folding encoding/json matches
// names by (U+017F folds to "s", the Kelvin sign to "k").
func foldsTo(key, name string) bool { return jsonsyntax.FoldEqual(key, name) }

// escapedKey is the error for a member name written with escapes: no FHIR
// element name needs one, and a reader that compares raw names would see
// a different element than one that decodes them.
func escapedKey(key string) error {
	return fmt.Errorf("fhirspec: element name %q is written with escapes: %w", clip(key), ErrAmbiguousResource)
}

// clip shortens attacker-controlled text for error messages.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
