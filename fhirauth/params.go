package fhirauth

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// analyzeSearch validates the search parameters q of req and records every
// type they let the request read in req.Reaches (the target first).
//
// Parameters that widen what a search reaches:
//   - _include / _revinclude (with :iterate or STU3's :recurse): the
//     included target type, or the revincluded source type. An include
//     without a target type ("Observation:subject") or a wildcard ("*",
//     "Observation:*") reaches "*", any type; so does "patient" only when
//     untyped chains are involved (the "patient" parameter always targets
//     Patient, so "Observation:patient" reaches Patient).
//   - chained parameters (subject:Patient.name, patient.name): every hop's
//     type. A hop must name its type with a modifier unless the parameter
//     is "patient"; an untyped chain could reach any type the reference
//     allows, which needs the search parameter registry to resolve, so it
//     is refused (ErrUnsupported) rather than guessed.
//   - _has:Type:ref:param (nested too): Type.
//   - _type (system search): the listed types, else "*".
//   - _list: List.
//
// Control parameters are an allow-list; _filter, _query, _contained=true and
// unknown "_" parameters are refused as unsupported, because a server could
// interpret them to return resources the decision never saw.
func (p *Policy) analyzeSearch(req *Request, q url.Values) error {
	reaches, err := p.searchTargets(req)
	if err != nil {
		return err
	}
	sawType := false
	for key, vals := range q {
		switch {
		case strings.HasPrefix(key, "_"):
			if reaches, err = p.controlParam(req, q, key, vals, reaches); err != nil {
				return err
			}
			sawType = sawType || key == "_type" // with a modifier it is refused
		case strings.Contains(key, "."):
			if err := p.parseChain(req.ResourceType, key, &reaches); err != nil {
				return err
			}
		default:
			name, mod, hasMod := strings.Cut(key, ":")
			if name == "" || (hasMod && (mod == "" || strings.Contains(mod, ":"))) {
				return invalid("malformed parameter name %q", clip(key))
			}
		}
	}
	if req.Interaction == SearchSystem && !sawType {
		reaches = append(reaches, Reach{Type: "*", Kind: ReachType, Param: "_type"})
	}
	sortReaches(reaches)
	req.Reaches = reaches
	return nil
}

// searchTargets returns what a search reaches by its path: the searched
// type, every type of a compartment for [type]/[id]/*, nothing yet for a
// system search (its _type parameter says).
func (p *Policy) searchTargets(req *Request) ([]Reach, error) {
	switch {
	case req.Interaction == SearchSystem:
		return nil, nil
	case req.ResourceType == "*":
		var reaches []Reach
		for _, t := range p.compartmentTypesOf(req.CompartmentType) {
			reaches = append(reaches, Reach{Type: t, Kind: ReachCompartment, Param: "*"})
		}
		if len(reaches) == 0 {
			return nil, unsupported("%s/%s/* reaches types fhirauth cannot list; search one type at a time", req.CompartmentType, req.CompartmentID)
		}
		return reaches, nil
	}
	return []Reach{{Type: req.ResourceType, Kind: ReachTarget}}, nil
}

// sortReaches puts what the parameters added (after the target, which
// stays first) in one order: map iteration order is random, and the same
// request must always yield the same Reaches (and the same reason).
func sortReaches(reaches []Reach) {
	from := 0
	if len(reaches) > 0 && reaches[0].Kind == ReachTarget {
		from = 1
	}
	slices.SortFunc(reaches[from:], func(a, b Reach) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Param, b.Param); c != 0 {
			return c
		}
		return cmp.Compare(a.Type, b.Type)
	})
}

// controlParam checks one control parameter ("_" name) of a search and
// appends the resources it reaches: _include and _revinclude, _has,
// _type, _list. The others must have values fhirauth can vouch for
// (checkControlValues).
func (p *Policy) controlParam(req *Request, q url.Values, key string, vals []string, reaches []Reach) ([]Reach, error) {
	base, mod, hasMod := strings.Cut(key, ":")
	switch base {
	case "_include", "_revinclude":
		if hasMod && mod != "iterate" && mod != "recurse" {
			return nil, invalid("%s:%s is not a valid modifier", base, clip(mod))
		}
		for _, v := range vals {
			r, err := p.parseInclude(base == "_revinclude", key, v)
			if err != nil {
				return nil, err
			}
			reaches = append(reaches, r)
		}
		return reaches, nil
	case "_has":
		err := p.parseHas(key, &reaches)
		return reaches, err
	}
	if hasMod && !takesModifier(base) && !sortDirection(base, mod) {
		return nil, invalid("%q takes no modifier", clip(key))
	}
	switch base {
	case "_type":
		if req.Interaction != SearchSystem {
			return nil, invalid("_type applies to system-level searches only")
		}
		for _, v := range vals {
			for _, t := range splitList(v) {
				if err := p.checkType(t); err != nil {
					return nil, err
				}
				reaches = append(reaches, Reach{Type: t, Kind: ReachType, Param: "_type"})
			}
		}
		return reaches, nil
	case "_list":
		return append(reaches, Reach{Type: "List", Kind: ReachList, Param: key}), nil
	}
	return reaches, checkControlValues(base, q, vals)
}

// takesModifier reports whether a control parameter may carry a modifier
// (the search parameters common to all resources).
func takesModifier(base string) bool {
	switch base {
	case "_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content", "_list":
		return true
	}
	return false
}

// sortDirection reports whether base:mod is _sort:asc or _sort:desc, the
// DSTU2 spelling of _sort=x and _sort=-x that fhir.js writes and HAPI
// still reads. Its values are vetted as _sort's (checkControlValues).
func sortDirection(base, mod string) bool {
	return base == "_sort" && (mod == "asc" || mod == "desc")
}

// knownParams reports whether every parameter of the search q of type t
// ("*" or "" for a search of no one type) is, by its name before any
// modifier or chain ("code:text", "subject:Patient.name",
// "_has:Observation:patient:code"), a search parameter of t in the
// policy's release (fhirspec.IsSearchParam: t's own, or one for every
// type), a result parameter whose value analyzeSearch has vetted
// (isResultParam), _format or _pretty. Any other parameter still goes to the server (a
// custom SearchParameter is legitimate), but the search is checked in the
// response. It does not allocate.
func (p *Policy) knownParams(t string, q url.Values) bool {
	if t == "*" {
		t = ""
	}
	for key := range q {
		name := baseName(key)
		if !isResultParam(name) && name != "_format" && name != "_pretty" && !fhirspec.IsSearchParam(p.version, t, name) {
			return false
		}
	}
	return true
}

// baseName returns a parameter's name before any modifier or chain
// ("code" of "code:text", "subject" of "subject.name"). A byte loop:
// strings.IndexAny cost a cached search ~850 instructions, 7% of its
// whole request (BenchmarkMiddleware/cached-token, callgrind).
func baseName(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == ':' || key[i] == '.' {
			return key[:i]
		}
	}
	return key
}

// isResultParam reports whether name is a search result parameter that
// fhirauth reads and whose values it vets (controlParam,
// checkControlValues): _include and _revinclude, _sort, _count, _offset,
// _summary, _total, _elements, _contained, _containedType. _page is not
// one: FHIR does not define it and its value is passed unread, so a
// server may take it for a paging token.
func isResultParam(name string) bool {
	switch name {
	case "_include", "_revinclude", "_sort", "_count", "_offset", "_summary", "_total",
		"_elements", "_contained", "_containedType":
		return true
	}
	return false
}

// hasPageToken reports whether q has _page, which FHIR does not define:
// its value goes to the server unread, and a server may take it for an
// opaque paging token that replays another search (another type's,
// another patient's) whatever the rest of the request says. The answer
// to a request with one is checked entry by entry.
func hasPageToken(q url.Values) bool {
	_, ok := q["_page"]
	return ok
}

// checkControlValues checks the values of a control parameter that
// reaches no other resources: known ones must have values whose effect is
// known, _filter and _query (server-defined) and unknown ones are refused.
func checkControlValues(base string, q url.Values, vals []string) error {
	switch base {
	case "_summary":
		return checkSummary(q)
	case "_total":
		for _, v := range vals {
			if v != "none" && v != "estimate" && v != "accurate" {
				return invalid("_total=%q is not valid", clip(v))
			}
		}
	case "_count", "_offset":
		for _, v := range vals {
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				return invalid("%s=%q is not a non-negative integer", base, clip(v))
			}
		}
	case "_contained":
		for _, v := range vals {
			if v != "false" {
				return unsupported("_contained=%q could return contained resources of any container; not supported", clip(v))
			}
		}
	case "_containedType":
		for _, v := range vals {
			if v != "container" {
				return unsupported("_containedType=%q is not supported", clip(v))
			}
		}
	case "_filter", "_query":
		return unsupported("%s cannot be authorized: its meaning is server-defined", base)
	case "_sort":
		for _, v := range vals {
			if strings.Contains(v, ".") {
				return unsupported("_sort=%q sorts by a chained parameter, which orders results by other resources' content; not supported", clip(v))
			}
		}
	case "_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content",
		"_elements", "_format", "_pretty", "_page":
	default:
		return unsupported("unknown control parameter %q", clip(base))
	}
	return nil
}

// parseInclude parses one _include/_revinclude value.
func (p *Policy) parseInclude(rev bool, key, v string) (Reach, error) {
	kind := ReachInclude
	if rev {
		kind = ReachRevInclude
	}
	param := key + "=" + v
	if v == "*" {
		return Reach{Type: "*", Kind: kind, Param: param}, nil
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[1] == "" {
		return Reach{}, invalid("%s=%q must be Source:param[:Target]", key, clip(v))
	}
	if err := p.checkType(parts[0]); err != nil {
		return Reach{}, err
	}
	if rev {
		return Reach{Type: parts[0], Kind: kind, Param: param}, nil
	}
	if len(parts) == 3 {
		if err := p.checkType(parts[2]); err != nil {
			return Reach{}, err
		}
		return Reach{Type: parts[2], Kind: kind, Param: param}, nil
	}
	if parts[1] == "patient" {
		return Reach{Type: "Patient", Kind: kind, Param: param}, nil
	}
	return Reach{Type: "*", Kind: kind, Param: param}, nil
}

// parseHas parses a (possibly nested) _has:Type:ref:param key.
func (p *Policy) parseHas(key string, reaches *[]Reach) error {
	rest := key
	for depth := 0; ; depth++ {
		if depth > 4 {
			return unsupported("%q nests _has too deeply", clip(key))
		}
		parts := strings.SplitN(rest, ":", 4)
		if len(parts) != 4 || parts[0] != "_has" || parts[2] == "" || parts[3] == "" {
			return invalid("%q must be _has:Type:reference:parameter", clip(key))
		}
		if err := p.checkType(parts[1]); err != nil {
			return err
		}
		*reaches = append(*reaches, Reach{Type: parts[1], Kind: ReachHas, Param: key})
		if !strings.HasPrefix(parts[3], "_has:") {
			if strings.Contains(parts[3], ".") {
				return unsupported("chained parameter inside %q", clip(key))
			}
			return nil
		}
		rest = parts[3]
	}
}

// parseChain parses a chained parameter (hops separated by "."), adding
// each hop's type.
func (p *Policy) parseChain(from, key string, reaches *[]Reach) error {
	hops := strings.Split(key, ".")
	if len(hops) > 4 {
		return unsupported("chained parameter %q is too long", clip(key))
	}
	for i, hop := range hops {
		name, mod, hasMod := strings.Cut(hop, ":")
		if name == "" || (hasMod && mod == "") {
			return invalid("malformed chained parameter %q", clip(key))
		}
		if i > 0 && strings.HasPrefix(name, "_has") {
			return unsupported("reverse chain inside chained parameter %q", clip(key))
		}
		if i == len(hops)-1 {
			return nil
		}
		var t string
		switch {
		case hasMod:
			if err := p.checkType(mod); err != nil {
				return invalid("chained parameter %q: modifier %q is not a resource type", clip(key), clip(mod))
			}
			t = mod
		case name == "patient":
			t = "Patient"
		default:
			return unsupported("chained parameter %q must name the type it goes through (e.g. %s:Patient.%s)", clip(key), clip(name), clip(strings.Join(hops[i+1:], ".")))
		}
		*reaches = append(*reaches, Reach{Type: t, Kind: ReachChain, Param: key})
	}
	return nil
}

// splitList splits a FHIR comma-separated list, honouring "\," escapes.
func splitList(v string) []string {
	if !strings.Contains(v, ",") {
		return []string{v}
	}
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case ',':
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// compartmentTypesOf lists the types of a compartment for "*" searches; only
// the Patient compartment is known.
func (p *Policy) compartmentTypesOf(owner string) []string {
	if owner != "Patient" {
		return nil
	}
	out := make([]string, 0, len(p.compartment))
	for _, t := range p.allTypes {
		if p.compartment[t] != nil {
			out = append(out, t)
		}
	}
	return out
}
