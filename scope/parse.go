package scope

import (
	"strconv"
	"strings"
)

// Parse parses one scope token.
//
// Resource scopes have the form context/Type.permissions[?constraints]:
//
//   - context is "patient", "user" or "system" (case-sensitive);
//   - Type is "*" or a FHIR resource type name: an ASCII letter followed by
//     ASCII letters and digits (whether the type exists in a FHIR version is
//     for the caller to decide);
//   - permissions are v1 "read", "write" or "*", or v2 letters: a non-empty
//     subset of "cruds" in that order, each at most once;
//   - constraints, v2 only, are "?param=value" items joined by "&", at most
//     MaxConstraints of them. Each item
//     needs a non-empty param (letters, digits, "_", "-", ".", ":") and a
//     non-empty value made of URL query characters (RFC 3986) or "|"; "&", "=",
//     "#" and brackets must be percent-encoded and every "%" must start a
//     valid "%HH" escape. Param and Value are kept as written, not decoded.
//
// Every other token that consists of RFC 6749 scope-token characters is a
// non-resource scope (openid, fhirUser, launch/patient, offline_access, an
// extension scope, ...) with Context NoContext, except tokens that look like
// a broken resource scope, which fail closed: a token whose prefix before "/"
// is patient, user or system in another letter case, "launch/" with nothing
// after it, a resource scope under another or an empty context
// ("practitioner/Observation.rs", "/Observation.rs"), and context-less
// resource scopes such as "*.*" or "Observation.read".
//
// Every error is an *Error wrapping ErrInvalid that names the token and what
// is wrong with it.
func Parse(s string) (Scope, error) {
	if s == "" {
		return Scope{}, newError(s, "empty scope token")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isScopeTokenChar(c) {
			return Scope{}, newError(s, "byte %s at offset %d is not allowed in a scope token (RFC 6749 section 3.3 allows only printable ASCII except space, '\"' and '\\')", strconv.QuoteToASCII(string([]byte{c})), i)
		}
	}
	prefix, body, hasSlash := strings.Cut(s, "/")
	if hasSlash {
		switch prefix {
		case "patient":
			return parseResource(s, Patient, body)
		case "user":
			return parseResource(s, User, body)
		case "system":
			return parseResource(s, System, body)
		case "launch":
			if body == "" {
				return Scope{}, newError(s, `"launch/" must name a launch context (e.g. launch/patient)`)
			}
		}
		for _, ctx := range [...]string{"patient", "user", "system"} {
			if strings.EqualFold(prefix, ctx) {
				return Scope{}, newError(s, "context %q must be written %q (scopes are case-sensitive)", prefix, ctx)
			}
		}
		if looksLikeResourceScope(body) {
			return Scope{}, newError(s, "context %q is not patient, user or system", prefix)
		}
	} else if looksLikeResourceScope(s) {
		return Scope{}, newError(s, "resource scope without a context: it must start with patient/, user/ or system/")
	}
	return Scope{raw: s}, nil
}

// parseResource parses body, the part of resource scope s after "ctx/".
func parseResource(s string, ctx Context, body string) (Scope, error) {
	head, query, hasQuery := strings.Cut(body, "?")
	typ, perm, hasDot := strings.Cut(head, ".")
	if !hasDot {
		return Scope{}, newError(s, "missing '.' and permissions after the resource type")
	}
	if typ == "" {
		return Scope{}, newError(s, "empty resource type")
	}
	if typ != "*" && !isTypeName(typ) {
		return Scope{}, newError(s, "resource type %q is not \"*\" or a FHIR resource type name (an ASCII letter followed by letters and digits)", typ)
	}
	sc := Scope{Context: ctx, ResourceType: typ, raw: s}
	switch perm {
	case "":
		return Scope{}, newError(s, "empty permissions after '.'")
	case "read", "write", "*":
		if hasQuery {
			return Scope{}, newError(s, "v1 permission %q cannot take a query; constraints need v2 letters (e.g. .rs?param=value)", perm)
		}
		sc.Syntax = SyntaxV1
		sc.Permissions = v1Permission(perm)
		return sc, nil
	}
	p, err := parseLetters(s, perm)
	if err != nil {
		return Scope{}, err
	}
	sc.Syntax = SyntaxV2
	sc.Permissions = p
	if hasQuery {
		cons, err := parseQuery(s, query)
		if err != nil {
			return Scope{}, err
		}
		sc.Constraints = cons
	}
	return sc, nil
}

// v1Permission maps a v1 permission word to its letters.
func v1Permission(perm string) Permission {
	switch perm {
	case "read":
		return V1Read
	case "write":
		return V1Write
	}
	return All
}

// parseLetters parses v2 permission letters of scope s.
func parseLetters(s, perm string) (Permission, error) {
	if strings.EqualFold(perm, "read") || strings.EqualFold(perm, "write") {
		return 0, newError(s, "permission %q must be written in lower case (scopes are case-sensitive)", perm)
	}
	var p Permission
	last := -1
	for i := 0; i < len(perm); i++ {
		c := perm[i]
		idx := strings.IndexByte(letters, c)
		if idx < 0 {
			return 0, newError(s, "unknown permission letter %q (want v1 read, write or *, or v2 letters from c r u d s in that order)", c)
		}
		bit := Permission(1) << idx
		if p&bit != 0 {
			return 0, newError(s, "permission letter %q appears twice", c)
		}
		if idx < last {
			return 0, newError(s, "permission letter %q after %q: v2 letters must appear in the order c r u d s", c, letters[last])
		}
		last = idx
		p |= bit
	}
	return p, nil
}

// parseQuery parses the constraints after '?' of scope s.
func parseQuery(s, query string) ([]Constraint, error) {
	if query == "" {
		return nil, newError(s, "empty query after '?'")
	}
	n := strings.Count(query, "&") + 1
	if n > MaxConstraints {
		return nil, newError(s, "%d query items; a scope may have at most %d constraints", n, MaxConstraints)
	}
	cons := make([]Constraint, 0, n)
	for item := range strings.SplitSeq(query, "&") {
		if item == "" {
			return nil, newError(s, "empty query item (stray '&')")
		}
		param, value, hasEq := strings.Cut(item, "=")
		switch {
		case !hasEq:
			return nil, newError(s, "query item %q is not param=value", item)
		case param == "":
			return nil, newError(s, "query item %q has an empty parameter name", item)
		case value == "":
			return nil, newError(s, "query item %q has an empty value", item)
		}
		if err := checkParam(s, param); err != nil {
			return nil, err
		}
		if err := checkValue(s, param, value); err != nil {
			return nil, err
		}
		cons = append(cons, Constraint{Param: param, Value: value})
	}
	return cons, nil
}

// checkParam validates a constraint's parameter name.
func checkParam(s, param string) error {
	for i := 0; i < len(param); i++ {
		if !isParamChar(param[i]) {
			return newError(s, "parameter %q contains %q (allowed: letters, digits, '_', '-', '.', ':')", param, param[i])
		}
	}
	return nil
}

// checkValue validates a constraint's raw value.
func checkValue(s, param, value string) error {
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '%':
			if i+2 >= len(value) || !isHex(value[i+1]) || !isHex(value[i+2]) {
				return newError(s, "value of %q has a malformed percent-encoding at offset %d (want %%HH)", param, i)
			}
			i += 2
		case c == '=':
			return newError(s, "value of %q contains '=' (percent-encode it as %%3D)", param)
		case !isValueChar(c):
			return newError(s, "value of %q contains %q, which is not allowed unencoded in a URL query", param, c)
		}
	}
	return nil
}

// looksLikeResourceScope reports whether a context-less token has the shape
// Type.permissions (like "*.*" or "Observation.read"), which fails closed
// instead of being taken for an extension scope.
func looksLikeResourceScope(s string) bool {
	head, _, _ := strings.Cut(s, "?")
	typ, perm, ok := strings.Cut(head, ".")
	if !ok || (typ != "*" && !isTypeName(typ)) {
		return false
	}
	switch perm {
	case "read", "write", "*":
		return true
	case "":
		return false
	}
	return strings.Trim(perm, letters) == ""
}

// isScopeTokenChar reports whether c is allowed in an RFC 6749 scope-token:
// %x21 / %x23-5B / %x5D-7E.
func isScopeTokenChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

// isTypeName reports whether t looks like a FHIR resource type name: an ASCII
// letter followed by ASCII letters and digits.
func isTypeName(t string) bool {
	if t == "" || !isLetter(t[0]) {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !letterOrDigit[t[i]] {
			return false
		}
	}
	return true
}

// letterOrDigit marks the ASCII letters and digits: one lookup per byte
// of the type name in every Permits question.
var letterOrDigit = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isLetter(byte(c)) || isDigit(byte(c))
	}
	return t
}()

func isLetter(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// isParamChar reports whether c may appear in a constraint parameter name
// (search parameter names, modifiers and chains: "code:in", "_tag").
func isParamChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == ':'
}

// isValueChar reports whether c may appear unencoded in a constraint value:
// RFC 3986 query characters other than '&' and '=', plus '|' (FHIR token
// search "system|code"). '%' is handled by the caller.
func isValueChar(c byte) bool {
	if isLetter(c) || isDigit(c) {
		return true
	}
	return strings.IndexByte("-._~!$'()*+,;:@/?|", c) >= 0
}
