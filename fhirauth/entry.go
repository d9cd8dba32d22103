package fhirauth

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// operationOutcomeElements are the top-level elements an OperationOutcome
// entry may have (STU3 and R4 alike), "contained" left out: an
// OperationOutcome is kept without any scope or compartment check, so it
// must not carry resources or members a client could read as data.
var operationOutcomeElements = []string{"resourceType", "id", "meta", "implicitRules", "language", "text", "extension", "modifierExtension", "issue"}

// entryResource decides the resource of one search-result entry (valid
// JSON) and returns its type and id, which may view res: the rule
// filterBundle and checkEntry share. See CheckResult.
func (d *Decision) entryResource(res []byte) (rt, id string, err error) {
	top, err := scanTopLevel(res)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if top.rt == "OperationOutcome" {
		if top.hasExtra {
			return "", "", fmt.Errorf("%w: an OperationOutcome with %q is not passed on unchecked", ErrConstraint, clip(top.extra))
		}
	} else if err := d.allowResource(top.rt, res, d.response.letters); err != nil {
		return "", "", err
	}
	if top.ambiguous {
		return "", "", fmt.Errorf("%w: the %s has duplicate or case-variant keys", ErrNotJSON, clip(top.rt))
	}
	return top.rt, top.id, nil
}

// topLevel is what scanTopLevel finds.
type topLevel struct {
	rt, id    string // views of the resource's bytes when unescaped
	ambiguous bool   // two keys equal under Unicode case folding
	extra     string // the first key that is not an OperationOutcome element (a view of the resource's bytes)
	hasExtra  bool   // extra was found (it may be "")
}

// scanTopLevel reads the top-level members of a resource (valid JSON)
// once: resourceType and id (as resourceHeader: an error when missing,
// not strings, duplicated or case-variant), whether any two keys are equal
// under Unicode simple case folding (parsers disagree on which of them
// counts, and some match keys case-insensitively), and the first key that
// an OperationOutcome does not define.
func scanTopLevel(res []byte) (topLevel, error) {
	var top topLevel
	ms := memberSet{names: []string{"resourceType", "id"}}
	var keys foldedKeys
	err := eachMember(res, func(key string, val []byte) error {
		i, err := ms.index(key)
		if err != nil {
			return err
		}
		switch i {
		case 0, 1:
			s, ok := jsonStringView(val)
			if !ok {
				return errors.New(key + " is not a string")
			}
			if i == 0 {
				top.rt = s
			} else {
				top.id = s
			}
		}
		if !top.ambiguous && keys.add(key) {
			top.ambiguous = true
		}
		if !top.hasExtra && !contains(operationOutcomeElements, key) {
			top.extra, top.hasExtra = key, true
		}
		return nil
	})
	if err == nil && top.rt == "" {
		err = errors.New("no resourceType")
	}
	return top, err
}

// foldedKeys finds keys that are equal under Unicode simple case folding
// (strings.EqualFold): pairwise for the usual few dozen, then by their
// folded form.
type foldedKeys struct {
	few  [32]string
	n    int
	many map[string]struct{}
}

// add records key and reports whether an equal one was recorded before.
func (k *foldedKeys) add(key string) bool {
	if k.n < len(k.few) {
		for _, s := range k.few[:k.n] {
			if strings.EqualFold(s, key) {
				return true
			}
		}
		k.few[k.n] = key
		k.n++
		return false
	}
	if k.many == nil {
		k.many = make(map[string]struct{}, 2*len(k.few))
		for _, s := range k.few {
			k.many[foldKey(s)] = struct{}{}
		}
	}
	f := foldKey(key)
	if _, dup := k.many[f]; dup {
		return true
	}
	k.many[f] = struct{}{}
	return false
}

// foldKey maps s to one representative of its case-folding class: two
// strings are strings.EqualFold exactly when their foldKeys are equal.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == utf8.RuneError {
			b.WriteRune(r)
			continue
		}
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}
