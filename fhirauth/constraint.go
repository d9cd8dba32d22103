package fhirauth

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
)

func (e *evaluation) alternatives(t string, letters scope.Permission) [][]scope.Constraint {
	return e.set.AppendConstraints(nil, e.c, t, letters)
}

// constraintsCheckable reports whether at least one constraint alternative
// granting letters on t can be evaluated on a resource.
func (e *evaluation) constraintsCheckable(t string, letters scope.Permission) bool {
	return anyCheckable(e.p.version, t, e.alternatives(t, letters))
}

// altCheckable reports whether every constraint of alt can be evaluated on
// a resource of type t: the release defines its parameter on t with
// elements of data types the matcher reads (fhirspec.SearchPaths).
func altCheckable(v fhirspec.Version, t string, alt []scope.Constraint) bool {
	for _, c := range alt {
		if _, ok := fhirspec.SearchPaths(v, t, c.Param); !ok {
			return false
		}
	}
	return true
}

// uncheckableParams names the parameters of alts that cannot be evaluated
// on a resource of type t, for denials.
func uncheckableParams(v fhirspec.Version, t string, alts [][]scope.Constraint) string {
	var names []string
	for _, alt := range alts {
		for _, c := range alt {
			if _, ok := fhirspec.SearchPaths(v, t, c.Param); !ok && !contains(names, c.Param) {
				names = append(names, c.Param)
			}
		}
	}
	return strings.Join(names, ", ")
}

func (e *evaluation) unenforceable(t string, letters scope.Permission, what string) denial {
	alts := e.alternatives(t, letters)
	reason := "the token's " + e.c.String() + "/ scopes grant " + letters.String() + " on " + t + " only under constraints (" +
		formatAlternatives(alts) + ") that cannot be enforced for " + what
	if names := uncheckableParams(e.p.version, t, alts); names != "" {
		reason += " (fhirauth does not know which " + t + " elements of a known data type " + names + " searches)"
	}
	return denial{status: http.StatusForbidden, code: "forbidden", reason: reason}
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
	// enforced by adding it to the query: it would widen the search. Nor
	// can one whose parameter t does not have (category on Patient, a
	// misspelt name): a server ignores a parameter it does not know and
	// would search unfiltered. The rule is the one reads and writes follow.
	var alts [][]scope.Constraint
	for _, alt := range all {
		if altFilters(alt) && altCheckable(e.p.version, t, alt) {
			alts = append(alts, alt)
		}
	}
	if len(alts) == 0 {
		return e.unenforceable(t, letters, "a search")
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

// bodySatisfies requires a request body to satisfy one alternative. When
// no alternative can be evaluated on t the write is denied as
// unenforceable, naming the parameters.
func (e *evaluation) bodySatisfies(t string, letters scope.Permission, body []byte) denial {
	alts := e.alternatives(t, letters)
	if e.req.Interaction == Create {
		alts = withoutID(alts)
	}
	if !anyCheckable(e.p.version, t, alts) {
		return e.unenforceable(t, letters, e.req.Interaction.String())
	}
	ok, why, err := constraintsHold(e.p.version, t, body, alts, e.replacedLink())
	if err != nil {
		return denial{status: http.StatusBadRequest, code: "invalid", reason: "cannot evaluate the scope constraints on the resource: " + err.Error()}
	}
	if !ok {
		return denial{status: http.StatusForbidden, code: "forbidden",
			reason: "the resource does not satisfy the constraints of the token's " + e.c.String() + "/ scopes on " + t + " (" + formatAlternatives(alts) + ")" + whyNot(why)}
	}
	return denial{}
}

// anyCheckable reports whether at least one of alts can be evaluated on
// a resource of type t.
func anyCheckable(v fhirspec.Version, t string, alts [][]scope.Constraint) bool {
	for _, alt := range alts {
		if altCheckable(v, t, alt) {
			return true
		}
	}
	return false
}

// withoutID drops the alternatives that constrain _id, for a body the
// server may store under an id of its choosing: FHIR has a server ignore
// the id of a created resource (and a conditional update that finds
// nothing creates), so the body's id says nothing about the id the
// resource gets, and the resource created would be one the constraint
// does not name.
func withoutID(alts [][]scope.Constraint) [][]scope.Constraint {
	out := alts[:0:0]
	for _, alt := range alts {
		if !slices.ContainsFunc(alt, func(c scope.Constraint) bool { return c.Param == "_id" }) {
			out = append(out, alt)
		}
	}
	return out
}

// whyNot words the reason constraintsHold gives for a constraint that
// failed other than by a value not matching, "" when there is none.
func whyNot(why string) string {
	if why == "" {
		return ""
	}
	return ": " + why
}

// constraintElements lists the top-level elements the constraints on t
// read ("medication[x]" for a choice); a patch must not touch them.
func (e *evaluation) constraintElements(t string, letters scope.Permission) []string {
	var out []string
	for _, alt := range e.alternatives(t, letters) {
		for _, c := range alt {
			paths, _ := fhirspec.SearchPaths(e.p.version, t, c.Param)
			for _, p := range paths {
				if !contains(out, p.Element) {
					out = append(out, p.Element)
				}
			}
		}
	}
	return out
}

// constraintsHold reports whether resource res of type t satisfies at
// least one alternative. When none does, why says what made a constraint
// fail other than a value that does not match (an element whose JSON
// shape its data type does not allow, a parameter whose elements are
// unknown on t), for the caller's message; err is a resource the strict
// reader refuses (duplicate or case-variant keys). replaced, when not
// nil, reports the links (references, uris) the server replaces before
// it stores res, an entry of a Bundle (replacedLinks): they satisfy
// nothing.
func constraintsHold(v fhirspec.Version, t string, res []byte, alts [][]scope.Constraint, replaced func(string) bool) (ok bool, why string, err error) {
	for _, alt := range alts {
		ok = true
		for _, c := range alt {
			held, w, err := constraintHolds(v, t, res, c, replaced)
			if err != nil {
				return false, "", err
			}
			if why == "" {
				why = w
			}
			if !held {
				ok = false
				break
			}
		}
		if ok {
			return true, "", nil
		}
	}
	return false, why, nil
}

// constraintHolds evaluates one constraint on the elements its parameter
// searches, each read by its FHIR data type (elementMatches). A comma in
// the value is FHIR's OR. A parameter without a known element on t does
// not hold; nor does one with an element of a shape its type does not
// allow, even if another element matches: a server could read that
// element in a way the check did not.
func constraintHolds(v fhirspec.Version, t string, res []byte, c scope.Constraint, replaced func(string) bool) (held bool, why string, err error) {
	paths, ok := fhirspec.SearchPaths(v, t, c.Param)
	if !ok {
		return false, "fhirauth does not know which " + t + " elements the parameter " + c.Param + " searches", nil
	}
	items := splitList(c.DecodedValue())
	for _, sp := range paths {
		err := typedWalk(res, strings.Split(sp.Path, "."), sp.Lists, sp.Choice, func(val []byte) error {
			m, err := elementMatches(v, sp, c.Param, val, items, replaced)
			held = held || m
			return err
		})
		var se *shapeError
		if errors.As(err, &se) {
			return false, se.Error(), nil
		}
		if err != nil {
			return false, "", err
		}
	}
	return held, "", nil
}

// shapeError is an element whose JSON its FHIR data type does not allow
// (a string where a CodeableConcept list belongs).
type shapeError struct{ path, want string }

func (e *shapeError) Error() string {
	return "element " + e.path + " is not " + e.want
}

// typedWalk calls fn with every value at the element path segs (lists:
// which segments repeat) of resource d, requiring an array exactly where
// a segment repeats and an object inside the path, and rejecting
// duplicate or case-variant keys along it. A missing element has no
// values. When the last segment is one type of choice element choice
// (fhirspec.SearchPath.Choice), an object that also has another type of
// it is a shapeError: a server may keep either.
func typedWalk(d []byte, segs []string, lists uint8, choice string, fn func(val []byte) error) error {
	return walkSegment(d, segs, 0, lists, choice, fn)
}

// otherChoiceType reports whether key is a type of choice element choice
// ("valueString" of "value") other than the one named name, letter case
// aside.
func otherChoiceType(key, name, choice string) bool {
	return key != name && len(key) > len(choice) && hasFoldPrefix(key, choice) &&
		key[len(choice)] >= 'A' && key[len(choice)] <= 'Z'
}

func walkSegment(d []byte, segs []string, i int, lists uint8, choice string, fn func(val []byte) error) error {
	d = bytes.TrimSpace(d)
	path := strings.Join(segs[:i+1], ".")
	if len(d) == 0 || d[0] != '{' {
		if i == 0 {
			return &shapeError{path: "the resource", want: "an object"}
		}
		return &shapeError{path: strings.Join(segs[:i], "."), want: "an object"}
	}
	ms := memberSet{names: segs[i : i+1]}
	last := i+1 == len(segs)
	return eachMember(d, func(key string, val []byte) error {
		if last && choice != "" && otherChoiceType(key, segs[i], choice) {
			return &shapeError{path: path, want: "the only type of " + choice + "[x] (there is also " + clip(key) + ")"}
		}
		if j, err := ms.index(key); err != nil || j < 0 {
			return err
		}
		val = bytes.TrimSpace(val)
		one := func(el []byte) error {
			el = bytes.TrimSpace(el)
			if i+1 == len(segs) {
				return fn(el)
			}
			return walkSegment(el, segs, i+1, lists, choice, fn)
		}
		if lists&(1<<i) == 0 {
			if len(val) > 0 && val[0] == '[' {
				return &shapeError{path: path, want: "a single value (it does not repeat)"}
			}
			return one(val)
		}
		if len(val) == 0 || val[0] != '[' {
			return &shapeError{path: path, want: "an array (it repeats)"}
		}
		return eachElement(val, func(_ int, el []byte) error { return one(el) })
	})
}

// elementMatches reports whether one element value at sp matches one of
// the constraint's items (search param, named in shape errors),
// reading only the members the type defines: coding[].system and .code
// of a CodeableConcept, system and code of a Coding, system and value of
// an Identifier, the value of a code or string, reference of a Reference
// (exactly "Type/id", fhirspec.RelativeReference). Other members (a
// "value" on a Coding, a "code" on a CodeableConcept) never match, and a
// value of the wrong JSON shape is a shapeError. A link for which
// replaced (nil: none) reports true matches nothing: a reference, a uri
// value, a system that an item names.
func elementMatches(v fhirspec.Version, sp fhirspec.SearchPath, param string, val []byte, items []string, replaced func(string) bool) (bool, error) {
	switch sp.Type {
	case fhirspec.TypeString:
		s, ok := jsonStringValue(val)
		if !ok {
			return false, &shapeError{path: param, want: "a string"}
		}
		if replaced != nil && replaced(s) {
			return false, nil
		}
		return anyItem(items, func(it string) bool { return primitiveMatches(s, it) }), nil
	case fhirspec.TypeBoolean:
		if b := string(val); b == "true" || b == "false" {
			return anyItem(items, func(it string) bool { return it == b }), nil
		}
		return false, &shapeError{path: param, want: "a boolean"}
	case fhirspec.TypeCoding:
		return tokenMatches(val, "code", param, items, replaced)
	case fhirspec.TypeIdentifier:
		return tokenMatches(val, "value", param, items, replaced)
	case fhirspec.TypeCodeableConcept:
		return conceptMatches(val, param, items, replaced)
	case fhirspec.TypeReference:
		return referenceMatches(v, val, param, sp.Target, items, replaced)
	}
	return false, &shapeError{path: param, want: "of a data type fhirauth reads"}
}

func anyItem(items []string, match func(string) bool) bool {
	for _, it := range items {
		if match(it) {
			return true
		}
	}
	return false
}

// jsonStringValue is the value of a JSON string, false for anything else.
func jsonStringValue(val []byte) (string, bool) {
	if len(val) == 0 || val[0] != '"' {
		return "", false
	}
	return jsonString(val)
}

// primitiveMatches matches a code, string or uri: only an item "code"
// without a "|". A code's system is implicit and servers read it
// differently (HAPI indexes a bound code with its value set's system, so
// its status=|final returns nothing, another server every final one),
// and a uri has no system ("|" is part of the uri searched for), so
// "|code" and "system|code" match nothing. An empty item matches nothing,
// not even an empty string.
func primitiveMatches(s, item string) bool {
	_, code, hasBar, ok := cutToken(item)
	return ok && !hasBar && code != "" && s == code
}

// cutToken splits a token item at its first "|" that FHIR's search
// escaping (\, \| \$ \\) leaves unescaped, and removes the escapes from
// both sides (code is the whole item when there is no "|"). ok is false
// for a backslash before any other character or at the end: servers read
// those differently, so such an item matches nothing.
func cutToken(item string) (system, code string, hasBar, ok bool) {
	if !strings.Contains(item, `\`) {
		system, code, hasBar = strings.Cut(item, "|")
		if !hasBar {
			return "", item, false, true
		}
		return system, code, true, true
	}
	var b strings.Builder
	for i := 0; i < len(item); i++ {
		switch c := item[i]; {
		case c == '\\':
			if i+1 == len(item) || strings.IndexByte(`,|$\`, item[i+1]) < 0 {
				return "", "", false, false
			}
			i++
			b.WriteByte(item[i])
		case c == '|' && !hasBar:
			system, hasBar = b.String(), true
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return system, b.String(), hasBar, true
}

// tokenMatches matches a Coding (codeMember "code") or an Identifier
// ("value") with token semantics: "code", "system|code", "|code" (no
// system), "system|" (any code of the system). "|" names no code and
// matches nothing, not even a Coding without system and code. A system
// (a uri) for which replaced reports true matches no item that names a
// system: the server replaces it.
func tokenMatches(val []byte, codeMember, param string, items []string, replaced func(string) bool) (bool, error) {
	if len(val) == 0 || val[0] != '{' {
		return false, &shapeError{path: param, want: "an object"}
	}
	var sys, code string
	var hasSys bool
	ms := memberSet{names: []string{"system", codeMember}}
	err := eachMember(val, func(key string, v []byte) error {
		i, err := ms.index(key)
		if err != nil || i < 0 {
			return err
		}
		s, ok := jsonStringValue(v)
		if !ok {
			return &shapeError{path: param + "." + key, want: "a string"}
		}
		if i == 0 {
			sys, hasSys = s, true
		} else {
			code = s
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	sysReplaced := hasSys && replaced != nil && replaced(sys)
	return anyItem(items, func(it string) bool {
		system, want, hasBar, ok := cutToken(it)
		switch {
		case !ok:
			return false
		case !hasBar:
			return code != "" && code == want
		case system == "":
			return !hasSys && want != "" && code == want
		}
		return !sysReplaced && sys == system && (want == "" || code == want)
	}), nil
}

// conceptMatches matches a CodeableConcept by its codings; its text and
// any member the type does not define are not read.
func conceptMatches(val []byte, param string, items []string, replaced func(string) bool) (bool, error) {
	if len(val) == 0 || val[0] != '{' {
		return false, &shapeError{path: param, want: "a CodeableConcept object"}
	}
	matched := false
	ms := memberSet{names: []string{"coding"}}
	err := eachMember(val, func(key string, v []byte) error {
		if i, err := ms.index(key); err != nil || i < 0 {
			return err
		}
		if len(v) == 0 || v[0] != '[' {
			return &shapeError{path: param + ".coding", want: "an array of Coding"}
		}
		return eachElement(v, func(_ int, el []byte) error {
			m, err := tokenMatches(el, "code", param+".coding", items, replaced)
			matched = matched || m
			return err
		})
	})
	return matched, err
}

// referenceMatches matches a Reference whose reference is exactly
// "Type/id" (or a version of it) against items "Type/id" or a bare "id"
// (any type, but only target when the parameter names one). Absolute,
// conditional, contained and logical references match nothing: a server
// may resolve them to another resource than their text suggests; nor
// does one for which replaced reports true (the server replaces it).
func referenceMatches(v fhirspec.Version, val []byte, param, target string, items []string, replaced func(string) bool) (bool, error) {
	if len(val) == 0 || val[0] != '{' {
		return false, &shapeError{path: param, want: "a Reference object"}
	}
	var ref string
	ms := memberSet{names: []string{"reference"}}
	err := eachMember(val, func(key string, v []byte) error {
		if i, err := ms.index(key); err != nil || i < 0 {
			return err
		}
		s, ok := jsonStringValue(v)
		if !ok {
			return &shapeError{path: param + ".reference", want: "a string"}
		}
		ref = s
		return nil
	})
	if err != nil {
		return false, err
	}
	typ, id, ok := fhirspec.RelativeReference(v, ref)
	if !ok || (target != "" && typ != target) || (replaced != nil && replaced(ref)) {
		return false, nil
	}
	return anyItem(items, func(it string) bool {
		_, it, hasBar, ok := cutToken(it)
		if !ok || hasBar {
			return false // a reference has no system
		}
		if !strings.Contains(it, "/") {
			return it == id
		}
		return it == typ+"/"+id
	}), nil
}
