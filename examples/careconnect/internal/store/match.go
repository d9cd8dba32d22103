package store

import (
	"strings"
)

// Matches reports whether a stored resource satisfies every criterion of q.
func (q Query) Matches(r *Resource) bool {
	if r.Deleted || r.Type != q.Type {
		return false
	}
	for _, c := range q.Criteria {
		if !c.matches(r) {
			return false
		}
	}
	return true
}

func (c Criterion) matches(r *Resource) bool {
	var nodes []any
	for _, p := range c.def.paths {
		nodes = collect(r.doc, strings.Split(p, "."), nodes)
	}
	for _, v := range c.Values {
		for _, n := range nodes {
			if c.matchValue(n, v) {
				return true
			}
		}
	}
	return false
}

// collect appends the values at path below node, flattening arrays.
func collect(node any, path []string, out []any) []any {
	switch n := node.(type) {
	case []any:
		for _, e := range n {
			out = collect(e, path, out)
		}
		return out
	case map[string]any:
		if len(path) == 0 {
			return append(out, n)
		}
		return collect(n[path[0]], path[1:], out)
	case nil:
		return out
	default:
		if len(path) == 0 {
			return append(out, n)
		}
		return out
	}
}

func (c Criterion) matchValue(node any, v string) bool {
	switch c.def.kind {
	case kindToken:
		return matchToken(node, v)
	case kindReference:
		return c.matchReference(node, v)
	default:
		return matchString(node, v, c.Modifier)
	}
}

// matchToken compares a token search value (code, system|code, |code,
// system|) with a code, Coding, CodeableConcept or Identifier.
func matchToken(node any, v string) bool {
	system, code, hasSystem := strings.Cut(v, "|")
	if !hasSystem {
		code, system = system, ""
	}
	check := func(sys, val any) bool {
		s, _ := sys.(string)
		c, _ := val.(string)
		if hasSystem && s != system {
			return false
		}
		return code == "" || c == code
	}
	switch n := node.(type) {
	case string:
		return !hasSystem && n == code || hasSystem && system == "" && n == code
	case bool:
		return !hasSystem && code == boolString(n)
	case map[string]any:
		if codings, ok := n["coding"].([]any); ok {
			for _, cd := range codings {
				if m, ok := cd.(map[string]any); ok && check(m["system"], m["code"]) {
					return true
				}
			}
			return false
		}
		if _, ok := n["code"]; ok {
			return check(n["system"], n["code"])
		}
		if _, ok := n["value"]; ok {
			return check(n["system"], n["value"])
		}
	}
	return false
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// matchReference compares a reference search value ("Type/id", a bare id,
// or an absolute URL ending in Type/id) with a Reference element.
//
// A stored absolute reference names a resource of some server, which this
// store cannot tell from another one's: it matches only the same absolute
// URL, never "Type/id" or a bare id. fhirauth does not count an absolute
// reference as compartment membership, and the store honours its
// patient narrowing natively (patient=Patient/1, without checking each
// result again), so matching "http://elsewhere/fhir/Patient/1" there would
// hand another server's patient's data to Patient/1's token.
func (c Criterion) matchReference(node any, v string) bool {
	m, ok := node.(map[string]any)
	if !ok {
		return false
	}
	refStr, _ := m["reference"].(string)
	if strings.Contains(refStr, "://") {
		return refStr == v && c.matchReferenceType(refStr)
	}
	rt, rid, ok := SplitReference(refStr)
	if !ok {
		return false
	}
	wantType, wantID, ok := SplitReference(v)
	if !ok {
		// A bare id: the type is the modifier or the parameter's only target.
		if strings.Contains(v, "/") {
			return false
		}
		wantID = v
		switch {
		case c.Modifier != "":
			wantType = c.Modifier
		case len(c.def.targets) == 1:
			wantType = c.def.targets[0]
		}
	}
	if c.Modifier != "" && wantType != c.Modifier {
		return false
	}
	if len(c.def.targets) > 0 && !contains(c.def.targets, rt) {
		return false
	}
	return rid == wantID && (wantType == "" || wantType == rt)
}

// matchReferenceType reports whether an absolute stored reference names a
// type the parameter (and its type modifier) allows.
func (c Criterion) matchReferenceType(ref string) bool {
	rt, _, ok := SplitReference(ref)
	return ok && (c.Modifier == "" || rt == c.Modifier) && (len(c.def.targets) == 0 || contains(c.def.targets, rt))
}

// SplitReference splits a literal reference ("Patient/1", "Patient/1/_history/2"
// or "http://host/fhir/Patient/1") into type and id. Contained ("#x") and
// urn: references are not split.
func SplitReference(ref string) (typ, id string, ok bool) {
	if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return "", "", false
	}
	parts := strings.Split(ref, "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 || !isTypeName(parts[n-2]) || parts[n-1] == "" {
		return "", "", false
	}
	if n > 2 && !strings.Contains(ref, "://") {
		return "", "", false
	}
	return parts[n-2], parts[n-1], true
}

// matchString is FHIR string search: by default case-insensitive
// starts-with, :exact exact, :contains substring; on a complex element
// (HumanName) any of its string parts may match.
func matchString(node any, v, modifier string) bool {
	var leaves []string
	stringLeaves(node, &leaves)
	lv := strings.ToLower(v)
	for _, s := range leaves {
		switch modifier {
		case "exact":
			if s == v {
				return true
			}
		case "contains":
			if strings.Contains(strings.ToLower(s), lv) {
				return true
			}
		default:
			if strings.HasPrefix(strings.ToLower(s), lv) {
				return true
			}
		}
	}
	return false
}

func stringLeaves(node any, out *[]string) {
	switch n := node.(type) {
	case string:
		*out = append(*out, n)
	case []any:
		for _, e := range n {
			stringLeaves(e, out)
		}
	case map[string]any:
		for k, e := range n {
			if k == "extension" || k == "period" || k == "use" || k == "id" {
				continue
			}
			stringLeaves(e, out)
		}
	}
}

// References returns the literal references ("Type/id") at the paths of a
// reference search parameter of r, for _include.
func references(r *Resource, def paramDef) []string {
	var nodes []any
	for _, p := range def.paths {
		nodes = collect(r.doc, strings.Split(p, "."), nodes)
	}
	var out []string
	for _, n := range nodes {
		m, ok := n.(map[string]any)
		if !ok {
			continue
		}
		s, _ := m["reference"].(string)
		if t, id, ok := SplitReference(s); ok {
			out = append(out, t+"/"+id)
		}
	}
	return out
}
