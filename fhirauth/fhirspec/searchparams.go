package fhirspec

import "strings"

// DataType is the FHIR data type of an element, as far as matching a
// search parameter's value against it needs to know: which members it
// has and what shape its JSON takes.
type DataType uint8

// The data types SearchPaths reports. Every other type is unknown to it.
const (
	TypeUnknown         DataType = iota
	TypeCodeableConcept          // {"coding":[Coding...],"text":...}
	TypeCoding                   // {"system":...,"code":...}
	TypeIdentifier               // {"system":...,"value":...}
	TypeReference                // {"reference":"Type/id"}
	TypeString                   // a JSON string: code, string, id, uri, canonical
	TypeBoolean                  // true or false
)

// SearchPath is one element a search parameter searches on a resource
// type, as fhirauth reads it to decide whether a resource in hand
// satisfies a scope constraint.
type SearchPath struct {
	// Path is the dotted JSON path of the element from the resource root
	// ("subject", "item.code", "medicationCodeableConcept").
	Path string
	// Element is the FHIR name of the path's first element, the one a
	// patch names: "subject", "item", or "medication[x]" for a choice.
	Element string
	// Type is the element's data type.
	Type DataType
	// Lists has bit i set when segment i of the path has max cardinality
	// *, so that its JSON value is an array (and not one otherwise).
	Lists uint8
	// Target, for a Reference, is the only resource type the parameter
	// matches ("Patient" for "patient", from where(resolve() is Patient)
	// or a single target type); "" allows any.
	Target string
	// Choice, when the last segment of Path is one type of a choice
	// element ("valueCodeableConcept" of value[x]), is that element's
	// name ("value"): a resource with another type of it beside this one
	// is ambiguous. "" otherwise.
	Choice string
}

// searchTables holds, per version, the generated map of "Type.param" to
// the elements the parameter searches (searchparams_gen.go); parameters
// of every type are under "Resource.param".
var searchTables = [...]map[string][]SearchPath{
	STU3: stu3Search,
	R4:   r4Search,
}

// SearchPaths returns the elements that search parameter param (a name
// without modifier, e.g. "category" or "_tag") searches on resource type
// t in version v, from the SearchParameter definitions of the release. It
// covers token, reference and uri parameters whose FHIRPath expression is
// a plain element path (a choice cast and a where(resolve() is T) allowed)
// and all of whose elements are of a DataType constant. It reports false
// for every other parameter, for a parameter t does not have, and for
// types and versions it does not know: a caller matching values must then
// fail closed. The returned slice is shared: do not modify it.
func SearchPaths(v Version, t, param string) ([]SearchPath, bool) {
	if !v.Valid() || !IsResourceType(v, t) {
		return nil, false
	}
	if paths, ok := searchTables[v][t+"."+param]; ok {
		return paths, true
	}
	if !strings.HasPrefix(param, "_") {
		return nil, false
	}
	paths, ok := searchTables[v]["Resource."+param]
	return paths, ok
}

// searchNameTables holds, per version, the names of every resource
// type's own search parameters and of those for every type, as sets
// built once from the generated lists (searchparams_gen.go): a linear
// search of the generated text cost a cached search ~3,000 instructions,
// 30% of its whole request (BenchmarkMiddleware/cached-token,
// callgrind).
var searchNameTables = [...]searchNames{
	STU3: splitSearchNames(stu3SearchNames, stu3CommonSearchNames),
	R4:   splitSearchNames(r4SearchNames, r4CommonSearchNames),
}

// searchNames are one release's search parameter names.
type searchNames struct {
	own    map[string]nameSet // by resource type
	common nameSet            // for every resource type
}

// nameSet is a set of names.
type nameSet map[string]struct{}

// splitSearchNames splits the generated space-separated lists into sets.
func splitSearchNames(own map[string]string, common string) searchNames {
	s := searchNames{own: make(map[string]nameSet, len(own)), common: newNameSet(common)}
	for t, list := range own {
		s.own[t] = newNameSet(list)
	}
	return s
}

func newNameSet(list string) nameSet {
	set := nameSet{}
	for _, n := range strings.Fields(list) {
		set[n] = struct{}{}
	}
	return set
}

// IsSearchParam reports whether name, a search parameter's name without
// modifier or chain ("code", "subject", "_lastUpdated"; not "code:text"
// or "subject:Patient.name"), is a search parameter of resource type t in
// version v as the release defines it: a SearchParameter of any parameter
// type (string, date, token, reference, quantity, number, uri, composite,
// special) based on t, or one for every resource type (_id,
// _lastUpdated, _tag, _profile, _security, _text, _content, _list, _has,
// _type, _query, _filter, and in R4 _source). With t "" it reports only
// the latter (a search of no one type). Names are case-sensitive; result
// parameters (_count, _include, _sort, ...) are not search parameters.
// It reports false for unknown types and versions, and does not allocate.
func IsSearchParam(v Version, t, name string) bool {
	if !v.Valid() {
		return false
	}
	tables := &searchNameTables[v]
	if t != "" {
		own, ok := tables.own[t]
		if !ok {
			return false
		}
		if _, found := own[name]; found {
			return true
		}
	}
	_, found := tables.common[name]
	return found
}
