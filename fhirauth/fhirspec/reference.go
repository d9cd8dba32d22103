package fhirspec

import "strings"

// IsID reports whether s is a FHIR id: 1 to 64 characters from
// A-Z, a-z, 0-9, '-' and '.'.
func IsID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// patientRef returns the Patient id a Reference.reference string names, or
// false. It accepts exactly:
//
//   - "Patient/<id>" (relative, resolved against this server),
//   - "Patient/<id>/_history/<vid>" (a version-specific reference to the
//     same patient),
//   - either form prefixed by one of bases (each ending in "/").
//
// Everything else names no patient here: absolute URLs of other servers,
// "urn:uuid:" and "urn:oid:" references, contained ("#x") and conditional
// ("Patient?identifier=...") references, other resource types, mis-cased
// "patient/", extra or empty segments, query or fragment suffixes.
func patientRef(ref string, bases []string) (string, bool) {
	rel, found := "", false
	for _, b := range bases {
		if strings.HasPrefix(ref, b) {
			rel, found = ref[len(b):], true
			break
		}
	}
	if !found {
		rel = ref
	}
	typ, id, ok := splitRelativeRef(rel)
	if !ok || typ != "Patient" {
		return "", false
	}
	return id, true
}

// splitRelativeRef splits a relative reference "Type/id" or
// "Type/id/_history/vid" into its type (unchecked: the caller says which
// types it accepts) and id. Anything else is not one: an empty type, an
// id or version that is not a FHIR id, extra, missing or empty segments,
// query or fragment suffixes, absolute URLs, conditional references.
func splitRelativeRef(ref string) (typ, id string, ok bool) {
	typ, id, ok = strings.Cut(ref, "/")
	if !ok || typ == "" {
		return "", "", false
	}
	if id, vid, versioned := strings.Cut(id, "/"); versioned {
		v, ok := strings.CutPrefix(vid, "_history/")
		if !ok || !IsID(v) || !IsID(id) {
			return "", "", false
		}
		return typ, id, true
	}
	if !IsID(id) {
		return "", "", false
	}
	return typ, id, true
}

// RelativeReference returns the resource type and id that a
// Reference.reference string names on this server, read as the patient
// compartment walker reads a Patient reference: only "Type/id" or
// "Type/id/_history/vid" where Type is a resource type of version v.
// Absolute URLs (which may name another server), conditional references
// ("Patient?identifier=..."), contained ("#x") and urn: references, and
// everything malformed report false, so a check that needs to know the
// target fails closed rather than matching by suffix.
func RelativeReference(v Version, ref string) (typ, id string, ok bool) {
	typ, id, ok = splitRelativeRef(ref)
	if !ok || !IsResourceType(v, typ) {
		return "", "", false
	}
	return typ, id, true
}

// mayNamePatient reports whether a reference that patientRef did not
// accept could still name a Patient on a server that resolves it:
// conditional references (a type-less or Patient query), absolute URLs
// with a Patient path segment, and relative references with a Patient
// segment or whose first segment starts with "Patient", in any letter
// case ("patient/1", "Patient/1?x", "Patient%2F1", "./Patient/1"). Bundle
// placeholders (urn:uuid:, urn:oid:), contained references (#id) and
// plain references to other types cannot.
func mayNamePatient(ref string) bool {
	ref = strings.TrimSpace(ref)
	switch {
	case strings.HasPrefix(ref, "#"), strings.HasPrefix(ref, "urn:uuid:"), strings.HasPrefix(ref, "urn:oid:"):
		return false
	case strings.HasPrefix(ref, "?"):
		return true // a conditional reference without a type
	}
	head := ref // without query or fragment
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		head = ref[:i]
	}
	if i := strings.Index(head, "://"); i >= 0 {
		head = head[i+3:]
		j := strings.IndexByte(head, '/')
		if j < 0 {
			return false
		}
		head = head[j+1:] // the path after the host
	} else if len(head) >= len("patient") && strings.EqualFold(head[:len("patient")], "patient") {
		return true
	}
	for seg := range strings.SplitSeq(head, "/") {
		if strings.EqualFold(strings.TrimSpace(seg), "Patient") {
			return true
		}
	}
	return false
}
