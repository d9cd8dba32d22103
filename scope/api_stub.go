package scope

// THIS FILE IS THE AGREED PUBLIC API OF package scope. The scope helper replaces
// the bodies (and may split the file), but keeps every exported name and
// signature below: other packages are being written against it concurrently.

import "errors"

// Context is the SMART context prefix of a resource scope.
type Context uint8

const (
	// NoContext marks a non-resource scope (openid, launch/patient, ...).
	NoContext Context = iota
	// Patient is the "patient/" context: access limited to the token's patient compartment.
	Patient
	// User is the "user/" context: what the signed-in user may access.
	User
	// System is the "system/" context (Bulk Data / backend services).
	System
)

// Permission is a set of SMART v2 interaction letters (c r u d s).
type Permission uint8

const (
	Create Permission = 1 << iota // c
	Read                          // r
	Update                        // u
	Delete                        // d
	Search                        // s

	// V1Read is v1 ".read" (= "rs").
	V1Read = Read | Search
	// V1Write is v1 ".write" (= "cud").
	V1Write = Create | Update | Delete
	// All is v1 ".*" (= "cruds").
	All = Create | Read | Update | Delete | Search
)

// Constraint is one "param=value" item of a v2 scope query. All constraints of
// one scope must hold together (AND); different scopes are alternatives (OR).
type Constraint struct {
	Param string
	Value string
}

// Syntax records which SMART version's syntax a resource scope was written in.
type Syntax uint8

const (
	SyntaxNone Syntax = iota // non-resource scope
	SyntaxV1
	SyntaxV2
)

// Scope is one parsed scope token.
type Scope struct {
	Context      Context      // NoContext for non-resource scopes
	ResourceType string       // "*" for all types; "" for non-resource scopes
	Permissions  Permission   // 0 for non-resource scopes
	Constraints  []Constraint // nil when unconstrained
	Syntax       Syntax
	raw          string // exactly as given
}

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("scope: invalid")

// Error describes one invalid scope token. errors.Is(err, ErrInvalid) is true.
type Error struct {
	Scope  string // the offending token (truncated if huge)
	Reason string // what is wrong, in words
}

func (e *Error) Error() string { panic("TODO") }
func (e *Error) Unwrap() error { return ErrInvalid }

// Parse parses one scope token.
func Parse(s string) (Scope, error) { panic("TODO") }

// String returns the scope as it was given (v1 echoed as given).
func (s Scope) String() string { panic("TODO") }

// Canonical returns the SMART v2 canonical form (e.g. "patient/Observation.rs?category=x").
func (s Scope) Canonical() string { panic("TODO") }

// IsResource reports whether s is a resource scope (has a context).
func (s Scope) IsResource() bool { return s.Context != NoContext }

// Equal reports whether two scopes mean the same thing.
func (s Scope) Equal(o Scope) bool { panic("TODO") }

// Set is an immutable union of scopes, safe for concurrent use.
type Set struct{}

// NewSet builds a Set from parsed scopes.
func NewSet(scopes ...Scope) Set { panic("TODO") }

// ParseSet parses a space-separated scope claim strictly: any invalid token is an error.
func ParseSet(claim string) (Set, error) { panic("TODO") }

// ParseSetLenient keeps the valid tokens and reports each invalid one.
func ParseSetLenient(claim string) (Set, []*Error) { panic("TODO") }

// Match is the answer of Set.Permits.
type Match uint8

const (
	Denied        Match = iota // no scope grants it
	Constrained                // only v2 scopes with query constraints grant it; see AppendConstraints
	Unconstrained              // granted without constraints
)

// Permits reports whether the set grants every letter of p on resourceType in
// context c. Unconstrained if unconstrained scopes (possibly several, as a
// union) cover every letter; Constrained if not, but at least one constrained
// scope grants every letter of p by itself; Denied otherwise. Zero allocations.
func (s Set) Permits(c Context, resourceType string, p Permission) Match { panic("TODO") }

// AppendConstraints appends, for each constrained scope that by itself grants
// every letter of p on resourceType in context c, its constraint list (one
// alternative each) to dst and returns it.
func (s Set) AppendConstraints(dst [][]Constraint, c Context, resourceType string, p Permission) [][]Constraint {
	panic("TODO")
}

// Has reports whether the set contains the non-resource scope name (e.g. "openid", "launch/patient").
func (s Set) Has(name string) bool { panic("TODO") }

// Scopes returns the scopes of the set (a copy).
func (s Set) Scopes() []Scope { panic("TODO") }

// Len returns the number of scopes in the set.
func (s Set) Len() int { panic("TODO") }

// String returns the scopes as given, space separated.
func (s Set) String() string { panic("TODO") }

// Canonical returns the v2 canonical form of every scope, space separated.
func (s Set) Canonical() string { panic("TODO") }

// Intersect returns what both sets grant (requested ∩ allowed).
func (s Set) Intersect(allowed Set) Set { panic("TODO") }

// ResourceTypes returns the sorted resource types the set could touch in context c ("*" if a wildcard scope exists).
func (s Set) ResourceTypes(c Context) []string { panic("TODO") }
