package fhirspec

// DataType is the FHIR data type of an element, as far as matching a
// search parameter's value against it needs to know: which members it
// has and what shape its JSON takes.
type DataType uint8

// The data types ElementTypeOf reports. Every other type is unknown to it.
const (
	TypeUnknown         DataType = iota
	TypeCodeableConcept          // {"coding":[Coding...],"text":...}
	TypeCoding                   // {"system":...,"code":...}
	TypeIdentifier               // {"system":...,"value":...}
	TypeReference                // {"reference":"Type/id"}
	TypeString                   // a JSON string: code, string, id, uri, canonical
	TypeBoolean                  // true or false
)

// ElementType is the data type of an element path and which of its
// segments repeat.
type ElementType struct {
	Type DataType
	// Lists has bit i set when segment i of the path has max cardinality
	// *, so that its JSON value is an array (and not one otherwise).
	Lists uint8
}

// typedPaths lists the element paths whose types the generated tables
// hold (elementtype_gen.go): those that fhirauth's v2 scope constraint
// parameters search. internal/gen reads it through TypedPaths.
var typedPaths = [...]string{
	"id", "meta.tag", "meta.security", "meta.profile",
	"category", "code", "status", "clinicalStatus", "verificationStatus",
	"type", "class", "intent", "priority", "criticality", "identifier",
	"vaccineCode", "gender", "active", "subject", "patient", "encounter",
}

// TypedPaths returns the element paths that ElementTypeOf knows on the
// resource types that have them.
func TypedPaths() []string { return append([]string(nil), typedPaths[:]...) }

// elementTables holds, per version, the generated map of "Type.path" to
// the element's type; "*.path" stands for every resource type when the
// element is the same on all of them (id, meta.tag).
var elementTables = [...]map[string]ElementType{
	STU3: stu3Elements,
	R4:   r4Elements,
}

// ElementTypeOf returns the data type of the element at path (a dotted
// path of TypedPaths, e.g. "category" or "meta.tag") on resource type t
// in version v, from the google/fhir/go protos of the release. It reports
// false for a type without that element, for an element whose type is not
// one of the DataType constants, and for paths, types and versions it does
// not know: a caller matching values must then fail closed.
func ElementTypeOf(v Version, t, path string) (ElementType, bool) {
	if !v.Valid() || !IsResourceType(v, t) {
		return ElementType{}, false
	}
	if et, ok := elementTables[v][t+"."+path]; ok {
		return et, true
	}
	et, ok := elementTables[v]["*."+path]
	return et, ok
}
