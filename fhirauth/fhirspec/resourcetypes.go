package fhirspec

//go:generate go run ./internal/gen -o resourcetypes_gen.go

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
	var t string
	var ok bool
	switch v {
	case STU3:
		t, ok = stu3TypeSet[name]
	case R4:
		t, ok = r4TypeSet[name]
	}
	return t, ok
}

// stu3TypeSet and r4TypeSet hold the tables as sets: a hashed lookup costs
// less than a binary search on every request.
var stu3TypeSet, r4TypeSet = typeSet(stu3ResourceTypes[:]), typeSet(r4ResourceTypes[:])

func typeSet(types []string) map[string]string {
	m := make(map[string]string, len(types))
	for _, t := range types {
		m[t] = t
	}
	return m
}

// ResourceTypes returns a sorted copy of the resource types of version v
// (nil for an unknown version).
func ResourceTypes(v Version) []string {
	return slices.Clone(resourceTypes(v))
}
