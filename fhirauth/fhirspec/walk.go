package fhirspec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// walker follows the compartment paths of one resource and either looks
// for one patient (match) or collects all of them (collect). It reads
// objects and arrays with jsonsyntax's readers, which validate what they
// read or step over and refuse, in every object read, names a parser may
// take for one; the walker descends into the values on compartment paths
// itself (ValueStart, SkipTo). So a walk that ends at the end of data
// without an error has checked it as jsonsyntax.Valid would.
type walker struct {
	data []byte
	buf  []byte // scratch for a string value that is not plain

	bases   []string
	match   string
	found   bool
	collect bool
	ids     []string
	patient bool  // the resource is a Patient: its own id counts
	strict  bool  // references that may name a patient must be resolvable
	err     error // the first error; the walk stops at it

	// replaced reports the references the server replaces before it
	// stores the resource (PatientCompartmentsReplaced); nil: none.
	replaced func(ref string) bool
}

// hit records that the resource is in the compartment of Patient/id; id
// may alias the input or the walker's scratch buffer.
func (w *walker) hit(id string) {
	switch {
	case w.collect:
		if !slices.Contains(w.ids, id) {
			w.ids = append(w.ids, strings.Clone(id))
		}
	case id == w.match:
		w.found = true
	}
}

// failed records why a reader stopped (readerError); an earlier error
// of the walk stands.
func (w *walker) failed(err error) {
	if w.err == nil {
		w.err = readerError(err)
	}
}

// str returns the value of the string v (a JSON value), viewing v or the
// walker's scratch buffer (plain false: then overwritten by the next
// string that is not plain); a string that is not valid UTF-8 once
// unquoted is an error.
func (w *walker) str(v []byte) (s string, plain bool) {
	b, plain, err := jsonsyntax.StringValue(v, w.buf[:0])
	if err != nil {
		w.err = errNotJSON
		return "", false
	}
	if !plain {
		w.buf = b
	}
	return jsonsyntax.View(b), plain
}

// value walks the value at data[at] (depth levels open around it) for
// path node n and returns its end, or -1 when the walk stops there.
// Arrays are traversed one level (FHIR repeats elements as arrays; an
// array of arrays is not FHIR and is only validated).
func (w *walker) value(n *pathNode, at, depth int, inArray bool) int {
	switch {
	case at < len(w.data) && w.data[at] == '{':
		obj := jsonsyntax.ReadObject(w.data, at, depth)
		return w.object(&obj, n)
	case at < len(w.data) && w.data[at] == '[' && !inArray:
		return w.array(n, at, depth)
	}
	end := jsonsyntax.ValidValue(w.data, at, depth)
	if end < 0 {
		w.err = errNotJSON
	} else if w.strict {
		w.err = notObject(n.name)
		return -1
	}
	return end
}

// notObject is the error, for a resource about to be written, of an
// element on a compartment path that is neither an object nor an array
// of objects ("subject": "Patient/1", "performer": [["..."]], null): FHIR
// JSON has no such form of a Reference or of an element holding one, and
// a lenient reader may still find a reference in it.
func notObject(name string) error {
	return fmt.Errorf("fhirspec: element %q is not an object or an array of objects: %w", name, ErrMalformedResource)
}

// array walks the elements of the array at data[at] for node n.
func (w *walker) array(n *pathNode, at, depth int) int {
	arr := jsonsyntax.ReadArray(w.data, at, depth)
	for w.err == nil && arr.Next() {
		at, depth := arr.ValueStart()
		arr.SkipTo(w.value(n, at, depth, true))
	}
	if err := arr.Err(); err != nil {
		w.failed(err)
	}
	if w.err != nil {
		return -1
	}
	return arr.End()
}

// object walks the members of obj for node n and returns the end of the
// object, or -1. Names that decide membership (n's children, "reference"
// when n is a Reference) must not appear in another letter case either,
// even alone: a server that matches names case-insensitively would read
// that member as the element.
func (w *walker) object(obj *jsonsyntax.ObjectReader, n *pathNode) int {
	for w.err == nil && obj.Next() {
		if obj.Escaped() {
			w.err = escapedKey(jsonsyntax.View(obj.Name()))
			break
		}
		if key, plain := jsonsyntax.View(obj.Name()), obj.Plain(); n.mayDecide(key, plain, false) {
			w.member(obj, n, key, plain)
		}
	}
	if err := obj.Err(); err != nil {
		w.failed(err)
	}
	if w.err != nil {
		return -1
	}
	return obj.End()
}

// member walks the value of the member key of obj at node n: one of n's
// children, or "reference"; any other value is left for obj to validate.
func (w *walker) member(obj *jsonsyntax.ObjectReader, n *pathNode, key string, plain bool) {
	if n.ref {
		if key == "reference" {
			w.reference(obj.Value(), n)
			return
		}
		if caseVariant(key, plain, "reference") {
			w.err = fmt.Errorf("fhirspec: element %q differs from \"reference\" only in case: %w", clip(key), ErrAmbiguousResource)
			return
		}
	}
	for _, c := range n.children {
		if key == c.name {
			at, depth := obj.ValueStart()
			obj.SkipTo(w.value(c, at, depth, false))
			return
		}
		if caseVariant(key, plain, c.name) {
			w.err = fmt.Errorf("fhirspec: element %q differs from %q only in case: %w", clip(key), c.name, ErrAmbiguousResource)
			return
		}
	}
}

// root walks the members of the resource's root object left in obj: the
// compartment paths below n, plus "resourceType" and "id", which must not
// vary in case either. A Patient's own id counts once the whole object
// has been read. It reports whether the walk read the whole document
// without an error.
func (w *walker) root(obj *jsonsyntax.ObjectReader, n *pathNode) bool {
	var selfID string
	for w.err == nil && obj.Next() {
		if obj.Escaped() {
			w.err = escapedKey(jsonsyntax.View(obj.Name()))
			break
		}
		key, plain := jsonsyntax.View(obj.Name()), obj.Plain()
		if !n.mayDecide(key, plain, true) {
			continue // obj validates the value
		}
		switch {
		case key == "resourceType": // read by leadingType or header
		case key == "id":
			v := obj.Value()
			if len(v) == 0 || v[0] != '"' {
				w.err = fmt.Errorf("fhirspec: id is not a string: %w", ErrMalformedResource)
				break
			}
			if w.patient {
				id, plain := w.str(v)
				if !plain {
					id = strings.Clone(id) // keep it past the next string
				}
				selfID = id
			}
		case caseVariant(key, plain, "resourceType") || caseVariant(key, plain, "id"):
			w.err = fmt.Errorf("fhirspec: element %q differs from a FHIR element only in case: %w", clip(key), ErrAmbiguousResource)
		default:
			w.member(obj, n, key, plain)
		}
	}
	if w.err == nil {
		if err := obj.Done(true); err != nil {
			w.failed(err)
		}
	}
	if w.err != nil {
		return false
	}
	if IsID(selfID) {
		w.hit(selfID)
	}
	return true
}

// reference reads v, the value of the "reference" member of a Reference
// at node n, and records the patient it names.
func (w *walker) reference(v []byte, n *pathNode) {
	if len(v) == 0 {
		return // invalid: obj has the error
	}
	if v[0] != '"' {
		// Not a string: FHIR has none, so it names nobody, except to a
		// reader that takes ["Patient/2"] or {"x": "Patient/2"} for the
		// string in it, or 12 for "12": a write must not carry one.
		if w.strict {
			w.err = fmt.Errorf("fhirspec: the reference in %q is not a string: %w", n.name, ErrMalformedResource)
		}
		return
	}
	ref, _ := w.str(v)
	if w.err != nil {
		return
	}
	if w.replaced != nil && w.replaced(ref) {
		w.err = fmt.Errorf("fhirspec: %q in %q matches the fullUrl of a Bundle entry, so the server replaces it with a link to what it stores for that entry: %w", clip(ref), n.name, ErrUnverifiableReference)
		return
	}
	if id, ok := patientRef(ref, w.bases); ok {
		w.hit(id)
	} else if w.strict && mayNamePatient(ref) {
		w.err = fmt.Errorf("fhirspec: %q in %q may name a patient but cannot be resolved: %w", clip(ref), n.name, ErrUnverifiableReference)
	}
}

// caseVariant reports whether key differs from name (an ASCII element
// name) but equals it under jsonsyntax's fold rule. A plain key
// (ObjectReader.Plain) can only fold to a name of its own length, which
// answers most keys with one comparison.
func caseVariant(key string, plain bool, name string) bool {
	if plain && len(key) != len(name) {
		return false
	}
	return key != name && jsonsyntax.FoldEqual(key, name)
}
