package fhirauth

import (
	"errors"
	"fmt"

	"github.com/fhirwarden/fhirwarden/scope"
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
	} else if err := d.allowResource(top.rt, res, d.entryLetters(top)); err != nil {
		return "", "", err
	}
	return top.rt, top.id, nil
}

// entryLetters is what a Bundle entry holding a resource with header top
// needs: "r" for the resource the request names by id, the response
// check's letters for the others.
func (d *Decision) entryLetters(top topLevel) scope.Permission {
	if r := d.request; d.response.readNamed && r != nil && r.ID != "" && top.id == r.ID && top.rt == r.ResourceType {
		return scope.Read
	}
	return d.response.letters
}

// topLevel is what scanTopLevel finds.
type topLevel struct {
	rt, id   string // views of the resource's bytes when unescaped
	extra    string // the first key that is not an OperationOutcome element (a view of the resource's bytes)
	hasExtra bool   // extra was found (it may be "")
}

// scanTopLevel reads the top-level members of a resource (valid JSON)
// once: resourceType and id (as resourceHeader: an error when missing,
// not strings, or case-variant), and the first key that an
// OperationOutcome does not define. Two keys a parser may take for one
// are an error of eachMember's reader.
func scanTopLevel(res []byte) (topLevel, error) {
	var top topLevel
	ms := memberSet{names: []string{"resourceType", "id"}}
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
