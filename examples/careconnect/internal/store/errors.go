package store

import "errors"

// Sentinel errors. Every error returned by the store wraps exactly one of
// them, so the FHIR handler can map it to an HTTP status with errors.Is.
var (
	// ErrNotFound: no resource with that type and id (or version) exists.
	ErrNotFound = errors.New("store: not found")
	// ErrGone: the resource existed and its current version is a deletion.
	ErrGone = errors.New("store: deleted")
	// ErrInvalid: the resource or request content is malformed or fails
	// FHIR validation; nothing was stored.
	ErrInvalid = errors.New("store: invalid resource")
	// ErrUnknownType: the resource type is not one of the FHIR version's types.
	ErrUnknownType = errors.New("store: unknown resource type")
	// ErrBadSearch: a search parameter is unknown, unsupported or malformed.
	ErrBadSearch = errors.New("store: invalid search")
	// ErrVersionConflict: an If-Match version did not match the current one.
	ErrVersionConflict = errors.New("store: version conflict")
	// ErrMultipleMatches: a conditional interaction matched more than one resource.
	ErrMultipleMatches = errors.New("store: multiple matches")
	// ErrForbidden: the caller's access rules do not allow the operation on
	// this resource (returned when a write check refuses the stored version).
	ErrForbidden = errors.New("store: forbidden")
)
