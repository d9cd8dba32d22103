package fhirspec

//go:generate go run ./internal/gen -o resourcetypes_gen.go -c cardinality_gen.go -s searchparams_gen.go -spec=$FHIR_SPEC

import "slices"

// resourceTypes returns the static sorted table of v, or nil.
func resourceTypes(v Version) []string {
	switch v {
	case STU3:
		return stu3ResourceTypes[:]
	case R4:
		return r4ResourceTypes[:]
	}
	return nil
}

// IsResourceType reports whether name is exactly (case-sensitively) a
// concrete resource type of version v. "observation", "OBSERVATION",
// " Observation", the abstract "Resource" and "DomainResource", and every
// name of an unknown version are not. It does not allocate.
func IsResourceType(v Version, name string) bool {
	_, ok := internType(v, name)
	return ok
}

// internType returns the table's own copy of the resource type name (so
// that a name read from a buffer can be kept after the buffer is reused)
// and whether it is one.
func internType(v Version, name string) (string, bool) {
	ti, ok := lookupType(v, name)
	return ti.name, ok
}

// typeInfo is what a resource type's one lookup gives: its name as the
// table holds it and its patient compartment definition.
type typeInfo struct {
	name        string
	compartment *compartmentType // nil for a type outside the compartment
}

// lookupType finds name among the resource types of v.
func lookupType(v Version, name string) (typeInfo, bool) {
	var ti typeInfo
	var ok bool
	switch v {
	case STU3:
		ti, ok = stu3TypeSet[name]
	case R4:
		ti, ok = r4TypeSet[name]
	}
	return ti, ok
}

// stu3TypeSet and r4TypeSet hold the tables as sets: a hashed lookup costs
// less than a binary search on every request.
var stu3TypeSet, r4TypeSet = typeSet(stu3ResourceTypes[:]), typeSet(r4ResourceTypes[:])

func typeSet(types []string) map[string]typeInfo {
	m := make(map[string]typeInfo, len(types))
	for _, t := range types {
		m[t] = typeInfo{name: t}
	}
	return m
}

// init adds the compartment definitions to the type sets (compiling them
// needs the sets, so they cannot be built in one expression).
func init() {
	for v, set := range [...]map[string]typeInfo{STU3: stu3TypeSet, R4: r4TypeSet} {
		for name, ti := range set {
			ti.compartment = compartments[v][name]
			set[name] = ti
		}
	}
}

// ResourceTypes returns a sorted copy of the resource types of version v
// (nil for an unknown version).
func ResourceTypes(v Version) []string {
	return slices.Clone(resourceTypes(v))
}
