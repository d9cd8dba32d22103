package fhirspec

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// walker follows the compartment paths of one resource and either looks
// for one patient (match) or collects all of them (collect). It reads the
// document once, validating the syntax of everything it reads or steps
// over (so that a walk that ends at the end of data without marking it
// bad has checked it as jsonsyntax.Valid would), with plain loops rather
// than callbacks: it runs on every checked response.
type walker struct {
	data  []byte
	pos   int
	depth int    // arrays and objects open around pos
	bad   bool   // a syntax error: data is not one JSON value
	buf   []byte // scratch for a decoded string written with escapes

	bases   []string
	match   string
	found   bool
	collect bool
	ids     []string
	patient bool // the resource is a Patient: its own id counts
	strict  bool // references that may name a patient must be resolvable
	err     error
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

// next returns the next byte that is not space, or 0 at the end.
func (w *walker) next() byte {
	if w.pos < len(w.data) && w.data[w.pos] > ' ' {
		return w.data[w.pos] // no space to skip: the usual case
	}
	w.pos = jsonsyntax.SkipSpace(w.data, w.pos)
	if w.pos < len(w.data) {
		return w.data[w.pos]
	}
	return 0
}

// end reports whether the root value was read without error and only
// space follows it.
func (w *walker) end() bool {
	w.next()
	return !w.bad && w.depth == 0 && w.pos == len(w.data)
}

// skip steps over one value, validating it (nesting counted from the
// levels already open).
func (w *walker) skip() {
	var end int
	if w.next() == '"' {
		end = jsonsyntax.ScanString(w.data, w.pos)
	} else {
		end = jsonsyntax.ValidValue(w.data, w.pos, w.depth)
	}
	if end < 0 {
		w.bad = true
		return
	}
	w.pos = end
}

// str reads the string at the current position (the caller has seen its
// quote) and returns its content, decoded. The result aliases data, or
// the scratch buffer when escaped is true (and is then overwritten by the
// next escaped string).
func (w *walker) str() (s string, escaped bool) {
	start := w.pos
	end, plain := jsonsyntax.ScanStringPlain(w.data, start)
	if end < 0 {
		w.bad = true
		return "", false
	}
	w.pos = end
	raw := w.data[start+1 : end-1]
	if plain || bytes.IndexByte(raw, '\\') < 0 {
		return bytesString(raw), false
	}
	b, err := jsonsyntax.AppendUnquote(w.buf[:0], w.data[start:end])
	if err != nil { // a string that is not UTF-8 once unquoted
		w.bad = true
		return "", false
	}
	w.buf = b
	return bytesString(b), true
}

// key reads a member name and the colon after it. plain reports a name
// of ASCII without escapes (the bytes are the name); a name written with
// escapes is an error (no FHIR element name needs one, and a reader that
// compares raw names would see another element than one that decodes
// them).
func (w *walker) key() (key string, plain bool) {
	if w.next() != '"' {
		w.bad = true
		return "", false
	}
	start := w.pos
	end, plain := jsonsyntax.ScanStringPlain(w.data, start)
	if end < 0 {
		w.bad = true
		return "", false
	}
	return w.scannedKey(start, end, plain)
}

// scannedKey is key for the name data[start:end] (quotes included) that
// SkipMembers has already scanned (plain: its answer).
func (w *walker) scannedKey(start, end int, plain bool) (key string, _ bool) {
	raw := w.data[start+1 : end-1]
	w.pos = end
	if w.next() != ':' {
		w.bad = true
		return "", false
	}
	w.pos++
	key = bytesString(raw)
	if !plain && bytes.IndexByte(raw, '\\') >= 0 {
		w.err = escapedKey(key)
	}
	return key, plain
}

// enter consumes the '{' or '[' at the current position.
func (w *walker) enter() bool {
	if w.depth >= jsonsyntax.MaxDepth {
		w.bad = true
		return false
	}
	w.depth++
	w.pos++
	return true
}

// more consumes the separator after a member or element: it reports
// whether another follows (','), and consumes close, which ends the
// container.
func (w *walker) more(close byte) bool {
	switch w.next() {
	case ',':
		w.pos++
		return true
	case close:
		w.pos++
		w.depth--
	default:
		w.bad = true
	}
	return false
}

// value walks the value at the current position for path node n.
// Arrays are traversed one level (FHIR repeats elements as arrays; an
// array of arrays is not FHIR and is skipped).
func (w *walker) value(n *pathNode, inArray bool) {
	switch w.next() {
	case '{':
		w.object(n, nil)
	case '[':
		if inArray {
			w.skip()
			return
		}
		if !w.enter() {
			return
		}
		if w.next() == ']' {
			w.pos++
			w.depth--
			return
		}
		for {
			w.value(n, true)
			if w.err != nil || w.bad || !w.more(']') {
				return
			}
		}
	default:
		w.skip()
	}
}

// rootState is what the walk of the root object remembers: "resourceType"
// and "id" must not repeat, and a Patient's own id counts once it is known
// to be unique.
type rootState struct {
	seenType, seenID bool
	selfID           string
	// names holds every root member name: two that a parser may take
	// for one make the resource ambiguous, whichever element they name,
	// as in every object jsonsyntax's reader reads.
	names jsonsyntax.NameSet
}

// root walks the resource's root object: the compartment paths below n,
// plus "resourceType" and "id", which must not repeat or vary in case
// either.
func (w *walker) root(n *pathNode) {
	if w.next() != '{' {
		w.bad = true
		return
	}
	var r rootState
	w.object(n, &r)
	w.rootDone(&r)
}

// rootAfterType is root for a document whose first member, a
// "resourceType" with a plain string value, has been read up to data[pos]
// (Matcher.leadingType): the walk goes on after it.
func (w *walker) rootAfterType(n *pathNode, pos int) {
	w.pos, w.depth = pos, 1
	r := rootState{seenType: true}
	if w.more('}') {
		w.members(n, &r)
	}
	w.rootDone(&r)
}

// rootDone counts a Patient's own id once the root object is read.
func (w *walker) rootDone(r *rootState) {
	if w.err == nil && !w.bad && IsID(r.selfID) {
		w.hit(r.selfID)
	}
}

// object walks the members of the object at the current position for
// node n (r is set for the root). Names that decide membership (n's
// children, "reference" when n is a Reference, "resourceType" and "id" at
// the root) must appear at most once and not in another letter case.
func (w *walker) object(n *pathNode, r *rootState) {
	if !w.enter() {
		return
	}
	if w.next() == '}' {
		w.pos++
		w.depth--
		return
	}
	w.members(n, r)
}

// members walks the members of an object from the one at the current
// position (at least one follows) to the '}' that ends it.
func (w *walker) members(n *pathNode, r *rootState) {
	var seen uint64        // bit i: children[i] seen
	const refBit = 1 << 63 // "reference" seen
	lens := n.lensAt(r != nil)
	if r != nil {
		lens = ^uint64(0) // every root name goes to r.names
	}
	for {
		// Members whose names cannot matter here (plain, and of no
		// length that does: n.lensAt) are validated and stepped over
		// in one call; the loop reads the others.
		stop := jsonsyntax.SkipMembers(w.data, w.pos, w.depth, lens)
		if stop.At < 0 {
			w.bad = true
			return
		}
		if stop.Closed {
			w.pos = stop.At
			w.depth--
			return
		}
		key, plain := w.scannedKey(stop.At, stop.End, stop.Plain)
		if w.err != nil || w.bad {
			return
		}
		name := w.data[stop.At+1 : stop.End-1]
		switch {
		case r != nil && w.rootMember(r, key, plain):
		case n.ref && key == "reference":
			if seen&refBit != 0 {
				w.err = fmt.Errorf("fhirspec: duplicate \"reference\" in %q: %w", n.name, ErrAmbiguousResource)
				return
			}
			seen |= refBit
			w.reference(n)
		default:
			w.member(n, key, plain, &seen)
		}
		if w.err == nil && r != nil && !r.names.Add(name, plain) {
			w.err = fmt.Errorf("fhirspec: element %q repeats another, or one equal under case folding: %w", clip(key), ErrAmbiguousResource)
		}
		if w.err != nil || w.bad || !w.more('}') {
			return
		}
	}
}

// member walks the value of member key of an object at node n: one of
// n's children, or anything else (validated and skipped).
func (w *walker) member(n *pathNode, key string, plain bool, seen *uint64) {
	for i, c := range n.children {
		if key == c.name {
			if *seen&(1<<i) != 0 {
				w.err = fmt.Errorf("fhirspec: duplicate element %q: %w", c.name, ErrAmbiguousResource)
				return
			}
			*seen |= 1 << i
			w.value(c, false)
			return
		}
		if caseVariant(key, plain, c.name) {
			w.err = fmt.Errorf("fhirspec: element %q differs from %q only in case: %w", clip(key), c.name, ErrAmbiguousResource)
			return
		}
	}
	if n.ref && caseVariant(key, plain, "reference") {
		w.err = fmt.Errorf("fhirspec: element %q differs from \"reference\" only in case: %w", clip(key), ErrAmbiguousResource)
		return
	}
	w.skip()
}

// rootMember handles "resourceType" and "id" in the root object (and
// their case variants, which are errors), reporting whether key was one
// of them.
func (w *walker) rootMember(r *rootState, key string, plain bool) bool {
	switch {
	case key == "resourceType":
		if r.seenType {
			w.err = fmt.Errorf("fhirspec: duplicate %q: %w", key, ErrAmbiguousResource)
			return true
		}
		r.seenType = true
		w.skip() // read by header
	case key == "id":
		if r.seenID {
			w.err = fmt.Errorf("fhirspec: duplicate %q: %w", key, ErrAmbiguousResource)
			return true
		}
		r.seenID = true
		if !w.patient || w.next() != '"' {
			w.skip()
			return true
		}
		id, escaped := w.str()
		if escaped {
			id = strings.Clone(id) // keep it past the next escaped string
		}
		r.selfID = id
	case caseVariant(key, plain, "resourceType") || caseVariant(key, plain, "id"):
		w.err = fmt.Errorf("fhirspec: element %q differs from a FHIR element only in case: %w", clip(key), ErrAmbiguousResource)
	default:
		return false
	}
	return true
}

// reference reads the value of the "reference" member of a Reference at
// node n and records the patient it names.
func (w *walker) reference(n *pathNode) {
	if w.next() != '"' {
		w.skip() // not a string: names nobody
		return
	}
	ref, _ := w.str()
	if w.bad {
		return
	}
	if id, ok := patientRef(ref, w.bases); ok {
		w.hit(id)
	} else if w.strict && mayNamePatient(ref) {
		w.err = fmt.Errorf("fhirspec: %q in %q may name a patient but cannot be resolved: %w", clip(ref), n.name, ErrUnverifiableReference)
	}
}

// caseVariant reports whether key differs from name (an ASCII element
// name) but equals it under jsonsyntax's fold rule. A plain key (ASCII,
// see walker.key) can only fold to a name of its own length, which
// answers most keys with one comparison.
func caseVariant(key string, plain bool, name string) bool {
	if plain && len(key) != len(name) {
		return false
	}
	return key != name && jsonsyntax.FoldEqual(key, name)
}
