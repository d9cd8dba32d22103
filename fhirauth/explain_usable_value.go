package fhirauth

import (
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// The kinds of usableValue.
const (
	valueFree  uint8 = iota // binds nothing (a CodeableConcept holds any number of codings)
	valueRef                // a Reference naming typ/id
	valueText               // a code, string, id, uri or boolean equal to text
	valueToken              // a Coding or Identifier
)

// The system of a token value.
const (
	systemAny   uint8 = iota // "code": any system or none
	systemNone               // "|code": no system
	systemExact              // "system|code" or "system|"
)

// usableValue is what one constraint item asks of the element it is
// matched on, so that two items asked of one element can be told apart
// from two that one value satisfies.
type usableValue struct {
	kind    uint8
	typ     string // valueRef: the resource type, "" for any type
	id      string // valueRef: the id
	text    string // valueText: the value; valueToken: the code, "" for any
	system  string // valueToken with systemExact: the system
	sysKind uint8  // valueToken: how the system is constrained
}

// value reads constraint item it as the constraint matcher reads it on
// an element at sp (elementMatches), or says why it matches no value
// such an element can hold.
func (u *usability) value(sp fhirspec.SearchPath, it string) (usableValue, string) {
	system, code, hasBar, ok := cutToken(it)
	if !ok {
		return usableValue{}, "matches nothing: " + it + " has a backslash that FHIR search does not define"
	}
	switch sp.Type {
	case fhirspec.TypeReference:
		return u.refValue(sp, code, hasBar)
	case fhirspec.TypeString, fhirspec.TypeBoolean:
		switch {
		case hasBar || code == "":
			return usableValue{}, "matches no " + u.t + ": " + u.t + "." + sp.Path + " is matched by a code without \"|\""
		case sp.Path == "id" && !fhirspec.IsID(code):
			return usableValue{}, "matches no " + u.t + ": " + code + " is not a FHIR id"
		case sp.Type == fhirspec.TypeBoolean && code != "true" && code != "false":
			return usableValue{}, "matches no " + u.t + ": " + u.t + "." + sp.Path + " is true or false"
		}
		return usableValue{kind: valueText, text: code}, ""
	}
	v := usableValue{kind: valueToken, text: code, sysKind: systemAny}
	switch {
	case hasBar && system == "" && code == "", !hasBar && code == "":
		return usableValue{}, "matches no " + u.t + ": it names no code"
	case hasBar && system == "":
		v.sysKind = systemNone
	case hasBar:
		v.sysKind, v.system = systemExact, system
	}
	if sp.Type == fhirspec.TypeCodeableConcept {
		v = usableValue{kind: valueFree}
	}
	return v, ""
}

// refValue reads a reference item (without its escapes) as
// referenceMatches does: "Type/id" of a resource type, or a bare id; of
// the parameter's target type when it has one.
func (u *usability) refValue(sp fhirspec.SearchPath, code string, hasBar bool) (usableValue, string) {
	if hasBar {
		return usableValue{}, "matches no " + u.t + ": a reference has no system"
	}
	typ, id, typed := strings.Cut(code, "/")
	if !typed {
		typ, id = sp.Target, code
	}
	switch {
	case typed && (!fhirspec.IsResourceType(u.v, typ) || !fhirspec.IsID(id)):
		return usableValue{}, "matches no " + u.t + ": a reference constraint names a resource as Type/id (relative) or by its id, and " + code + " is neither"
	case !fhirspec.IsID(id):
		return usableValue{}, "matches no " + u.t + ": " + code + " is not a FHIR id"
	case sp.Target != "" && typ != sp.Target:
		return usableValue{}, "matches no " + u.t + ": it names a " + typ + ", and the parameter searches only " + sp.Target + " references"
	}
	return usableValue{kind: valueRef, typ: typ, id: id}, ""
}

// unifyValues returns the value that satisfies both a and b, the asks of
// two items of one single-valued element, or false when none does.
func unifyValues(a, b usableValue) (usableValue, bool) {
	switch {
	case a.kind == valueFree:
		return b, true
	case b.kind == valueFree:
		return a, true
	case a.kind != b.kind:
		return usableValue{}, false
	}
	switch a.kind {
	case valueRef:
		if a.id != b.id || (a.typ != "" && b.typ != "" && a.typ != b.typ) {
			return usableValue{}, false
		}
		if a.typ == "" {
			a.typ = b.typ
		}
		return a, true
	case valueText:
		return a, a.text == b.text
	}
	if a.text != "" && b.text != "" && a.text != b.text {
		return usableValue{}, false
	}
	if a.text == "" {
		a.text = b.text
	}
	switch {
	case a.sysKind == systemAny:
		a.sysKind, a.system = b.sysKind, b.system
	case b.sysKind == systemAny:
	case a.sysKind != b.sysKind || a.system != b.system:
		return usableValue{}, false
	}
	return a, true
}
