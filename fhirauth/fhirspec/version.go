package fhirspec

import (
	"fmt"
	"strings"
)

// Version is a FHIR release. The zero value is not a valid release.
type Version uint8

// The FHIR releases fhirspec knows.
const (
	// STU3 is FHIR Release 3 (3.0.1).
	STU3 Version = iota + 1
	// R4 is FHIR Release 4 (4.0.1).
	R4
)

// String returns "STU3" or "R4", or "Version(n)" for an unknown release.
func (v Version) String() string {
	switch v {
	case STU3:
		return "STU3"
	case R4:
		return "R4"
	}
	return fmt.Sprintf("Version(%d)", uint8(v))
}

// Valid reports whether v is a release fhirspec knows.
func (v Version) Valid() bool { return v == STU3 || v == R4 }

// ParseVersion parses a FHIR release name: "STU3", "stu3", "R3", "3.0",
// "3.0.1" and "3.0.2" for STU3; "R4", "r4", "4.0" and "4.0.1" for R4.
// Anything else is an error wrapping ErrUnknownVersion.
func ParseVersion(s string) (Version, error) {
	switch strings.ToUpper(s) {
	case "STU3", "R3", "3.0", "3.0.1", "3.0.2":
		return STU3, nil
	case "R4", "4.0", "4.0.1":
		return R4, nil
	}
	return 0, fmt.Errorf("fhirspec: FHIR version %q: %w", s, ErrUnknownVersion)
}
