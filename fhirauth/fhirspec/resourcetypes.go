package fhirspec

//go:generate go run ./internal/gen -o resourcetypes_gen.go

import (
	"slices"
	"sort"
)

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
	types := resourceTypes(v)
	i := sort.SearchStrings(types, name)
	return i < len(types) && types[i] == name
}

// ResourceTypes returns a sorted copy of the resource types of version v
// (nil for an unknown version).
func ResourceTypes(v Version) []string {
	return slices.Clone(resourceTypes(v))
}
