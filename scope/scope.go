package scope

// Context is the SMART context prefix of a resource scope.
type Context uint8

// The SMART contexts.
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

// String returns the context prefix without its slash ("patient", "user",
// "system"), or "" for NoContext and unknown values.
func (c Context) String() string {
	switch c {
	case Patient:
		return "patient"
	case User:
		return "user"
	case System:
		return "system"
	}
	return ""
}

// Permission is a set of SMART v2 interaction letters (c r u d s).
type Permission uint8

// The SMART v2 permission letters, and the v1 permission words as letters.
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

// letters lists the v2 permission letters in their mandatory order; bit i of
// a Permission is letters[i].
const letters = "cruds"

// String returns the v2 letters of p in canonical order ("rs", "cruds"), or ""
// when p grants nothing. Bits outside All are ignored.
func (p Permission) String() string {
	if p&All == All {
		return letters
	}
	var b [len(letters)]byte
	n := 0
	for i := range len(letters) {
		if p&(1<<i) != 0 {
			b[n] = letters[i]
			n++
		}
	}
	return string(b[:n])
}

// Constraint is one "param=value" item of a v2 scope query. All constraints of
// one scope must hold together (AND); different scopes are alternatives (OR).
//
// Param and Value are kept exactly as written in the scope (not
// percent-decoded), so a Constraint can be re-emitted unchanged; the parser
// has checked that any percent-encoding in them is well formed. Use
// [Constraint.DecodedValue] for the decoded value.
type Constraint struct {
	Param string
	Value string
}

// String returns "param=value" as written in the scope.
func (c Constraint) String() string { return c.Param + "=" + c.Value }

// Syntax records which SMART version's syntax a resource scope was written in.
type Syntax uint8

// The syntaxes a scope can be written in.
const (
	SyntaxNone Syntax = iota // non-resource scope
	SyntaxV1                 // ".read", ".write" or ".*" (SMART App Launch 1.0.0)
	SyntaxV2                 // ".cruds" letters, optional "?param=value" (SMART App Launch 2.x)
)

// String returns "none", "v1" or "v2".
func (s Syntax) String() string {
	switch s {
	case SyntaxV1:
		return "v1"
	case SyntaxV2:
		return "v2"
	}
	return "none"
}

// Scope is one parsed scope token.
//
// Scopes produced by [Parse] are valid. A Scope may also be built as a struct
// literal (for example Scope{Context: Patient, ResourceType: "Observation",
// Permissions: V1Read}); [NewSet] validates such scopes and drops invalid ones.
type Scope struct {
	Context      Context      // NoContext for non-resource scopes
	ResourceType string       // "*" for all types; "" for non-resource scopes
	Permissions  Permission   // 0 for non-resource scopes
	Constraints  []Constraint // nil when unconstrained
	Syntax       Syntax
	raw          string // exactly as given
}

// IsResource reports whether s is a resource scope (has a context).
func (s Scope) IsResource() bool { return s.Context != NoContext }

// String returns the scope as it was given (v1 echoed as given). For a Scope
// built as a struct literal it returns [Scope.Canonical].
func (s Scope) String() string {
	if s.raw != "" {
		return s.raw
	}
	return s.Canonical()
}

// Canonical returns the SMART v2 canonical form (e.g.
// "patient/Observation.rs?category=x"): context, type, the permission letters
// in "cruds" order and, if constrained, the constraints sorted by parameter and
// value with duplicates removed. Non-resource scopes are returned as given.
func (s Scope) Canonical() string {
	if !s.IsResource() {
		return s.raw
	}
	cons := normalizeConstraints(s.Constraints)
	n := len(s.Context.String()) + 1 + len(s.ResourceType) + 1 + len(letters)
	for _, c := range cons {
		n += len(c.Param) + len(c.Value) + 2
	}
	b := make([]byte, 0, n)
	b = s.appendHead(b)
	b = appendQuery(b, cons)
	return string(b)
}

// appendHead appends "context/Type.letters" to b.
func (s Scope) appendHead(b []byte) []byte {
	b = append(b, s.Context.String()...)
	b = append(b, '/')
	b = append(b, s.ResourceType...)
	b = append(b, '.')
	return append(b, s.Permissions.String()...)
}

// appendQuery appends "?p=v&p=v" for cons, or nothing when cons is empty.
func appendQuery(b []byte, cons []Constraint) []byte {
	for i, c := range cons {
		if i == 0 {
			b = append(b, '?')
		} else {
			b = append(b, '&')
		}
		b = append(b, c.Param...)
		b = append(b, '=')
		b = append(b, c.Value...)
	}
	return b
}

// Equal reports whether two scopes mean the same thing: v1 and v2 spellings of
// the same permissions are equal (patient/Observation.read equals
// patient/Observation.rs), and constraints are compared as a set (order and
// repetition do not matter). Non-resource scopes are equal when their text is
// identical (scopes are case-sensitive).
func (s Scope) Equal(o Scope) bool {
	if s.Context != o.Context {
		return false
	}
	if !s.IsResource() {
		return s.raw == o.raw
	}
	return s.ResourceType == o.ResourceType &&
		s.Permissions == o.Permissions &&
		sameConstraints(s.Constraints, o.Constraints)
}
