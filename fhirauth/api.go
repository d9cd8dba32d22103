package fhirauth

// This file is the public face of package fhirauth: the types callers build
// on (Interaction, Request, Reach, Policy and its options, Decision) and the
// sentinel errors. The logic lives in the files named after each idea
// (classify*.go, decide*.go, check*.go, outcome.go).

import (
	"context"
	"errors"
	"net/url"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// Sentinel errors. Classification errors wrap ErrInvalidRequest (answer 400,
// issue code "invalid"), ErrUnsupported (400, "not-supported") or
// ErrBodyTooLarge (413); response and stored-version checks wrap
// ErrOutsideCompartment, ErrConstraint or ErrNotJSON, or return ErrHidden.
var (
	// ErrInvalidRequest means the request is not a well-formed, unambiguous
	// FHIR REST request (bad path, unknown or mis-cased type, dot segments,
	// encoded slashes, malformed Bundle, ...). It is never passed through.
	ErrInvalidRequest = errors.New("fhirauth: invalid request")
	// ErrUnsupported means the request is well-formed FHIR that fhirwarden
	// cannot judge safely (e.g. _filter, _query, XML bodies that need
	// inspection); it is refused rather than guessed at.
	ErrUnsupported = errors.New("fhirauth: unsupported request")
	// ErrBodyTooLarge means a body that the decision needs exceeds the
	// policy's limit.
	ErrBodyTooLarge = errors.New("fhirauth: request body too large")
	// ErrOutsideCompartment means a resource (response, stored version or
	// request body) is not in the patient compartment the decision allows.
	ErrOutsideCompartment = errors.New("fhirauth: resource outside the patient compartment")
	// ErrConstraint means a resource does not satisfy the SMART v2 scope
	// constraints (e.g. category=laboratory) the decision requires, or is of
	// a type the caller may not read.
	ErrConstraint = errors.New("fhirauth: resource not permitted by scope")
	// ErrNotJSON means a body that must be checked is not FHIR JSON.
	ErrNotJSON = errors.New("fhirauth: body is not FHIR JSON")
	// ErrHidden means the server answered that a resource does not exist
	// while the policy hides existence: answer exactly as for a resource
	// the caller may not see (CheckStatus(), the same body), so that the
	// two cannot be told apart.
	ErrHidden = errors.New("fhirauth: resource not found")
)

// Interaction is a FHIR RESTful interaction (or one of the few
// non-interaction endpoints a FHIR server exposes).
type Interaction uint8

// The interactions fhirauth recognises.
const (
	// Unknown is the zero Interaction; a request never classifies as Unknown
	// without an error.
	Unknown            Interaction = iota
	Capabilities                   // GET [base]/metadata (public)
	SMARTConfiguration             // GET [base]/.well-known/smart-configuration (public)
	Read                           // GET [base]/Type/id
	VRead                          // GET [base]/Type/id/_history/vid
	Update                         // PUT [base]/Type/id, or conditional PUT [base]/Type?query
	Patch                          // PATCH [base]/Type/id, or conditional PATCH [base]/Type?query
	Delete                         // DELETE [base]/Type/id, or conditional DELETE [base]/Type?query
	Create                         // POST [base]/Type (conditional with If-None-Exist)
	SearchType                     // GET [base]/Type?query or POST [base]/Type/_search
	SearchSystem                   // GET [base]?query or POST [base]/_search
	SearchCompartment              // GET [base]/Patient/id/Type?query (or .../*)
	HistoryInstance                // GET [base]/Type/id/_history
	HistoryType                    // GET [base]/Type/_history
	HistorySystem                  // GET [base]/_history
	Operation                      // [base]/$op, [base]/Type/$op, [base]/Type/id/$op
	Batch                          // POST [base] with a Bundle of type batch
	Transaction                    // POST [base] with a Bundle of type transaction
	PageContinuation               // GET [base]?_getpages=... (an opaque server paging token)
)

// Level says where an operation is invoked: on the whole system, a type, or
// one instance. Levels combine as a bit set in OperationRule.
type Level uint8

// Operation levels.
const (
	SystemLevel   Level = 1 << iota // [base]/$op
	TypeLevel                       // [base]/Type/$op
	InstanceLevel                   // [base]/Type/id/$op
)

// PatchFormat is the body format of a patch interaction.
type PatchFormat uint8

// Patch formats.
const (
	NoPatch       PatchFormat = iota
	JSONPatch                 // application/json-patch+json (RFC 6902)
	FHIRPathPatch             // a Parameters resource (FHIR JSON)
	OtherPatch                // any other content type (XML patch, ...)
)

// ReachKind says why a request can read a resource type.
type ReachKind uint8

// Reach kinds.
const (
	ReachTarget      ReachKind = iota // the type the interaction is about
	ReachInclude                      // an _include target
	ReachRevInclude                   // a _revinclude source
	ReachChain                        // a chained parameter hop
	ReachHas                          // a _has reverse chain
	ReachList                         // _list (membership of a List)
	ReachType                         // a _type of a system search or $export
	ReachCompartment                  // a type returned by a compartment search or $everything
)

// Reach is one resource type a request can read and why. Type "*" means the
// request can reach resources of any type (an untyped or wildcard _include,
// for example); the decision then needs read permission on every type or a
// response check that filters by type.
type Reach struct {
	Type  string
	Kind  ReachKind
	Param string // the query parameter (or path) responsible, e.g. "_include=Observation:subject"
}

// Request is what an HTTP request (or one Bundle entry) does in FHIR terms.
// Classify builds it; Decide reads it. Fields that do not apply are zero.
type Request struct {
	Method      string      // HTTP method (entry.request.method for Bundle entries)
	Path        string      // canonical path relative to the base, without leading slash ("" is the base)
	Interaction Interaction // what the request does
	// ResourceType is the type the interaction is about ("" for system-level
	// interactions; the searched type for compartment searches, "*" for
	// Patient/id/*).
	ResourceType string
	ID           string // logical id (read, vread, update, patch, delete, instance history/operation)
	VersionID    string // vread version
	// CompartmentType and CompartmentID name the compartment of a
	// compartment search ("Patient", "123").
	CompartmentType string
	CompartmentID   string
	Operation       string // operation name without "$"
	Level           Level  // operation level
	// Params are the search (or operation) parameters: the query merged with
	// a POST _search form body. Never nil for searches.
	Params url.Values
	// Conditional is true for conditional create/update/patch/delete.
	Conditional bool
	// IfNoneExist is the parsed If-None-Exist query of a conditional
	// create, the search the decision judged. A server searches with it
	// (and Decision.Narrow), not with the header or request.ifNoneExist
	// as sent: fhirauth also reads "?query", "Type?query" and the type's
	// absolute URL there, which servers read differently (medplum's
	// conditional create prefixes "Type?" and reads
	// "Observation??identifier=x" as a search of every Observation). The
	// middleware sends it so.
	IfNoneExist url.Values
	// Patch is the patch body format.
	Patch PatchFormat
	// Body is the request body when the decision needs it (writes, patches,
	// POST _search, POSTed $export, $everything and registered search
	// operations), or entry.resource for Bundle entries. It aliases the
	// bytes read from the request, which Classify also restores as the
	// request's Body for the next handler. For POST _search it is the
	// form exactly as sent (Params holds it parsed, merged with the query),
	// so a server or middleware need not read the request body again;
	// it is empty when the form was.
	Body []byte
	// Entries are the classified entries of a batch or transaction, in
	// Bundle order.
	Entries []*Request
	// FullURL is entry.fullUrl of a Bundle entry.
	FullURL string
	// Reaches lists every resource type the request can read.
	Reaches []Reach

	// unreadParams: an operation's Parameters body has parameters whose
	// values are not strings, which Params cannot hold (such as $lastn's
	// max as a valuePositiveInt).
	unreadParams bool
}

// OperationRule registers a FHIR operation ($name) that the policy allows,
// with the permission it needs. Operations that are not registered are
// denied (except the built-in $export and $everything, which have their own
// rules).
type OperationRule struct {
	// Name is the operation name without "$", e.g. "lastn".
	Name string
	// Levels are the levels the operation may be invoked at.
	Levels Level
	// Types restricts type and instance level invocations to these resource
	// types; empty means any type.
	Types []string
	// Permission is the set of SMART letters the caller needs on the target
	// type (for system-level invocations: on every type listed in Types).
	Permission scope.Permission
	// Search marks operations that behave as a search of the target type
	// (e.g. Observation/$lastn): their parameters are narrowed like a
	// search's under patient context and v2 constraints, and their
	// results are checked entry by entry wherever a search's are: under
	// a constrained scope, and with a parameter that is not a search
	// parameter of the type (the operation's own, such as $lastn's max,
	// too). A search operation is type level
	// only: at instance level the resource in the path, not the narrowed
	// parameters, says what it reads. Non-search type or system level
	// operations are denied under patient/ scopes, and instance-level ones
	// need the stored-resource check.
	Search bool
}

// UserRule is a hook for rules beyond scopes, consulted when a request would
// be allowed by user/ scopes. Returning an error denies the request with
// 403 and the error's text as the reason.
type UserRule func(ctx context.Context, p *token.Principal, r *Request) error

// Option configures a Policy.
type Option func(*Policy) error

// Policy decides FHIR requests. Build it with NewPolicy; it is immutable and
// safe for concurrent use.
type Policy struct {
	version     fhirspec.Version
	base        string // "/fhir": no trailing slash; "" for a root base
	shared      map[string]bool
	ops         map[string]OperationRule
	userRule    UserRule
	hide        bool
	maxBody     int64
	maxEntries  int // of a batch or transaction; 0: maxBundleEntries
	matcher     *fhirspec.Matcher
	compartment map[string]*compartmentInfo
	allTypes    []string
}

// Decision is the answer to one request: allow or deny, why, and what the
// server (or a gateway) must still enforce when it allows.
type Decision struct {
	// Allowed is true when the request may proceed (possibly with
	// narrowing, response checks, or, for batches, some entries denied).
	Allowed bool
	// Status is the HTTP status to answer with when denied: 400, 401, 403,
	// 404 (existence hiding) or 413. It is 200 when allowed.
	Status int
	// Reason says in words a person can act on why the request was denied
	// (or, when allowed, how it was narrowed).
	Reason string
	// Needed names scope(s) that would have been enough, space separated,
	// for the scope attribute of WWW-Authenticate (empty when unknown).
	Needed string
	// IssueCode is the OperationOutcome issue code: "forbidden", "login",
	// "security", "invalid", "not-supported", "too-costly" or "" when
	// allowed.
	IssueCode string
	// Context is the scope context that granted the request (scope.Patient,
	// scope.User or scope.System); scope.NoContext for public endpoints and
	// denials.
	Context scope.Context
	// Patient is the compartment patient id when Context is scope.Patient.
	Patient string
	// Narrow are search parameters the server must enforce (AND) on the
	// search this request performs: the query of a search, conditional
	// update, patch or delete, or the If-None-Exist query of a conditional
	// create. A server that cannot enforce them natively applies them with
	// ApplyTo. Nil when nothing is narrowed.
	Narrow url.Values
	// Entries are the per-entry decisions of a batch or transaction, in
	// Bundle order.
	Entries []*Decision

	policy  *Policy
	request *Request
	set     scope.Set
	// response describes the response check; zero when none is needed.
	response responseCheck
	// stored describes the stored-version check; zero when none is needed.
	stored storedCheck
}
