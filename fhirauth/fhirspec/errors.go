package fhirspec

import "errors"

// Sentinel errors; the errors returned by this package wrap one of them.
var (
	// ErrUnknownVersion means a Version or version string is not STU3 or R4.
	ErrUnknownVersion = errors.New("unknown FHIR version")
	// ErrMalformedResource means the resource bytes are not one well-formed
	// JSON object with a string "resourceType" and, when present, a string
	// "id" (or too deeply nested); for a resource about to be written
	// (Matcher.PatientCompartmentsStrict), also one with a compartment
	// element or reference of a shape FHIR JSON does not have.
	ErrMalformedResource = errors.New("malformed FHIR resource")
	// ErrAmbiguousResource means the resource repeats an element that decides
	// compartment membership ("resourceType", "id", a compartment element or
	// its "reference"), or spells one with different letter case. Parsers
	// disagree on such documents (first wins, last wins, case-insensitive
	// matching), so fhirspec refuses to judge them.
	ErrAmbiguousResource = errors.New("ambiguous FHIR resource")
	// ErrUnknownResourceType means a resource type is not one of the
	// version's resource types (case-sensitive).
	ErrUnknownResourceType = errors.New("unknown FHIR resource type")
	// ErrInvalidID means a patient id is not a FHIR id
	// ([A-Za-z0-9\-\.]{1,64}).
	ErrInvalidID = errors.New("invalid FHIR id")
	// ErrUnverifiableReference means a compartment element of a resource
	// holds a reference that may name a patient in a form fhirspec cannot
	// resolve: a conditional reference ("Patient?identifier=..."), an
	// absolute URL with a Patient segment, a mis-cased or malformed
	// "Patient/..." reference. A server may resolve it to any patient, so
	// a write check cannot know whose compartment the resource joins
	// (see Matcher.PatientCompartmentsStrict).
	ErrUnverifiableReference = errors.New("unverifiable patient reference")
)
