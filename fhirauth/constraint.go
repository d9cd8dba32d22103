package fhirauth

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/scope"
)

// constraintPaths maps the search parameters that SMART v2 scope
// constraints commonly use to the JSON element paths they search, the same
// on every resource type that has them. A constraint on a parameter outside
// this table can be enforced on searches (the server applies it) but not
// on a resource in hand (a read's response, a create's body), so such
// requests are denied.
var constraintPaths = map[string][]string{
	"_id":                 {"id"},
	"_tag":                {"meta.tag"},
	"_security":           {"meta.security"},
	"_profile":            {"meta.profile"},
	"category":            {"category"},
	"code":                {"code"},
	"status":              {"status"},
	"clinical-status":     {"clinicalStatus"},
	"verification-status": {"verificationStatus"},
	"type":                {"type"},
	"class":               {"class"},
	"intent":              {"intent"},
	"priority":            {"priority"},
	"criticality":         {"criticality"},
	"identifier":          {"identifier"},
	"vaccine-code":        {"vaccineCode"},
	"gender":              {"gender"},
	"active":              {"active"},
	"subject":             {"subject"},
	"patient":             {"patient", "subject"},
	"encounter":           {"encounter"},
}

func (e *evaluation) alternatives(t string, letters scope.Permission) [][]scope.Constraint {
	return e.set.AppendConstraints(nil, e.c, t, letters)
}

// constraintsCheckable reports whether at least one constraint alternative
// granting letters on t can be evaluated on a resource.
func (e *evaluation) constraintsCheckable(t string, letters scope.Permission) bool {
	for _, alt := range e.alternatives(t, letters) {
		if altCheckable(alt) {
			return true
		}
	}
	return false
}

func altCheckable(alt []scope.Constraint) bool {
	for _, c := range alt {
		if _, ok := constraintPaths[c.Param]; !ok {
			return false
		}
	}
	return true
}

func (e *evaluation) unenforceable(t string, letters scope.Permission, what string) denial {
	return denial{status: http.StatusForbidden, code: "forbidden",
		reason: "the token's " + e.c.String() + "/ scopes grant " + letters.String() + " on " + t + " only under constraints (" +
			formatAlternatives(e.alternatives(t, letters)) + ") that cannot be enforced for " + what}
}

func formatAlternatives(alts [][]scope.Constraint) string {
	var b strings.Builder
	for i, alt := range alts {
		if i > 0 {
			b.WriteString(" or ")
		}
		for j, c := range alt {
			if j > 0 {
				b.WriteByte('&')
			}
			b.WriteString(c.String())
		}
	}
	return b.String()
}

// constrainSearch enforces the v2 constraints of the target type on a
// search.
//
// How OR alternatives are enforced: each constrained scope is one
// alternative (its constraints ANDed); the caller may see the union. A
// single alternative is enforced by adding its parameters (AND with the
// query). Several alternatives cannot in general be expressed as one FHIR
// query, so:
//   - if the query already contains every constraint of one alternative
//     (same parameter, exactly the same value, no modifier), that
//     alternative is in force and nothing is added;
//   - if every alternative is a single constraint on the same parameter,
//     they are enforced together as one OR-list (category=a,b), FHIR's own
//     OR syntax;
//   - otherwise the search is denied, naming the alternatives, so the
//     caller can pick one and add it to the query.
func (e *evaluation) constrainSearch(d *Decision, t string, params url.Values, letters scope.Permission) denial {
	all := e.alternatives(t, letters)
	if len(all) == 0 {
		return e.missing(t, letters, "")
	}
	// An alternative with a parameter that shapes rather than filters the
	// result (a scope "?_revinclude=..." or "?_count=...") cannot be
	// enforced by adding it to the query: it would widen the search.
	var alts [][]scope.Constraint
	for _, alt := range all {
		if altFilters(alt) {
			alts = append(alts, alt)
		}
	}
	if len(alts) == 0 {
		return e.unenforceable(t, letters, "a search (its constraints are not search filters)")
	}
	for _, alt := range alts {
		if altSatisfied(params, alt) {
			return denial{}
		}
	}
	if d.Narrow == nil {
		d.Narrow = url.Values{}
	}
	if len(alts) == 1 {
		for _, c := range alts[0] {
			d.Narrow[c.Param] = append(d.Narrow[c.Param], c.DecodedValue())
		}
		return denial{}
	}
	param := ""
	values := make([]string, 0, len(alts))
	for _, alt := range alts {
		if len(alt) != 1 || (param != "" && alt[0].Param != param) || strings.Contains(alt[0].Param, ":") {
			return denial{status: http.StatusForbidden, code: "forbidden",
				reason: "the token's " + e.c.String() + "/ scopes grant " + letters.String() + " on " + t +
					" only under alternative constraints (" + formatAlternatives(alts) +
					") that one search cannot combine; add one alternative's parameters to the query"}
		}
		param = alt[0].Param
		values = append(values, alt[0].DecodedValue())
	}
	d.Narrow[param] = append(d.Narrow[param], strings.Join(values, ","))
	return denial{}
}

// altFilters reports whether every constraint of alt is a search filter.
func altFilters(alt []scope.Constraint) bool {
	for _, c := range alt {
		if !filterParam(c.Param) {
			return false
		}
	}
	return true
}

// filterParam reports whether a search parameter (with any modifier or
// chain) filters a search, so that adding it can only narrow the result.
// Control parameters that shape the result (_include, _revinclude, _count,
// _summary, _elements, _sort, _total, _contained, ...) do not.
func filterParam(param string) bool {
	base, _, _ := strings.Cut(param, ":")
	base, _, _ = strings.Cut(base, ".")
	if !strings.HasPrefix(base, "_") {
		return base != ""
	}
	switch base {
	case "_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content", "_list", "_has":
		return true
	}
	return false
}

func altSatisfied(params url.Values, alt []scope.Constraint) bool {
	for _, c := range alt {
		if !containsString(params[c.Param], c.DecodedValue()) {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bodySatisfies requires a request body to satisfy one alternative.
func (e *evaluation) bodySatisfies(t string, letters scope.Permission, body []byte) denial {
	alts := e.alternatives(t, letters)
	ok, err := constraintsHold(body, alts)
	if err != nil {
		return denial{status: http.StatusBadRequest, code: "invalid", reason: "cannot evaluate the scope constraints on the resource: " + err.Error()}
	}
	if !ok {
		return denial{status: http.StatusForbidden, code: "forbidden",
			reason: "the resource does not satisfy the constraints of the token's " + e.c.String() + "/ scopes on " + t + " (" + formatAlternatives(alts) + ")"}
	}
	return denial{}
}

// constraintElements lists the top-level elements the constraints on t
// read; a patch must not touch them.
func (e *evaluation) constraintElements(t string, letters scope.Permission) []string {
	var out []string
	for _, alt := range e.alternatives(t, letters) {
		for _, c := range alt {
			for _, p := range constraintPaths[c.Param] {
				seg, _, _ := strings.Cut(p, ".")
				if !contains(out, seg) {
					out = append(out, seg)
				}
			}
		}
	}
	return out
}

// constraintsHold reports whether the resource satisfies at least one
// alternative.
func constraintsHold(res []byte, alts [][]scope.Constraint) (bool, error) {
	for _, alt := range alts {
		ok := altCheckable(alt)
		for _, c := range alt {
			if !ok {
				break
			}
			held, err := constraintHolds(res, c)
			if err != nil {
				return false, err
			}
			ok = held
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// constraintHolds evaluates one constraint with token-search semantics
// ("code", "system|code", "|code", "system|"), reference semantics
// ("Type/id" or "id") for Reference values, and equality for primitives. A
// comma in the value is FHIR's OR.
func constraintHolds(res []byte, c scope.Constraint) (bool, error) {
	items := splitList(c.DecodedValue())
	found := false
	for _, path := range constraintPaths[c.Param] {
		err := walkPath(res, strings.Split(path, "."), func(val []byte) {
			for _, it := range items {
				if valueMatches(val, it) {
					found = true
				}
			}
		})
		if err != nil {
			return false, err
		}
	}
	return found, nil
}

// walkPath calls fn with every value at path (arrays traversed), rejecting
// duplicate or case-variant keys along it.
func walkPath(d []byte, path []string, fn func(val []byte)) error {
	d = bytes.TrimSpace(d)
	if len(d) == 0 {
		return nil
	}
	if d[0] == '[' {
		return eachElement(d, func(_ int, el []byte) error { return walkPath(el, path, fn) })
	}
	if len(path) == 0 {
		fn(d)
		return nil
	}
	if d[0] != '{' {
		return nil
	}
	ms := memberSet{names: path[:1]}
	return eachMember(d, func(key string, val []byte) error {
		i, err := ms.index(key)
		if err != nil || i < 0 {
			return err
		}
		return walkPath(val, path[1:], fn)
	})
}

// valueMatches matches one element value against one constraint item.
func valueMatches(val []byte, item string) bool {
	system, code, hasBar := strings.Cut(item, "|")
	switch {
	case len(val) == 0:
		return false
	case val[0] == '"':
		s, _ := jsonString(val)
		if hasBar {
			return system == "" && s == code
		}
		return s == item
	case val[0] == '{':
		var sys, cd, ref string
		var hasSys, hasRef, matched bool
		ms := memberSet{names: []string{"system", "code", "value", "reference", "coding"}}
		err := eachMember(val, func(key string, v []byte) error {
			i, err := ms.index(key)
			if err != nil {
				return err
			}
			switch i {
			case 0:
				sys, _ = jsonString(v)
				hasSys = true
			case 1, 2:
				cd, _ = jsonString(v)
			case 3:
				ref, _ = jsonString(v)
				hasRef = true
			case 4:
				return eachElement(v, func(_ int, el []byte) error {
					if valueMatches(el, item) {
						matched = true
					}
					return nil
				})
			}
			return nil
		})
		if err != nil {
			return false
		}
		if matched {
			return true
		}
		if hasRef {
			return !hasBar && (ref == item || strings.HasSuffix(ref, "/"+item))
		}
		if !hasBar {
			return cd != "" && cd == item
		}
		if system == "" {
			return !hasSys && cd == code
		}
		return sys == system && (code == "" || cd == code)
	default: // number, boolean
		return string(val) == item
	}
}
