package medplum

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// This file names the ways medplum's search departs from FHIR R4 that the
// constraint differential (constraint_test.go) tolerates, each with a
// check that the departure accounts for the disagreement:
//
// Where medplum returns a resource fhirauth says does not satisfy the
// constraint (a false denial, fail-closed), the disagreement must vanish
// when fhirauth is asked again with medplum's reading applied to the pair:
//
//   - case: medplum compares token codes, systems and values ignoring
//     case; FHIR token search is case-sensitive unless the code system
//     says otherwise, and fhirauth does not know which do.
//   - text: medplum indexes CodeableConcept.text, Coding.display and
//     Identifier.type.text as tokens without a system; FHIR searches
//     them only with the :text modifier, which a scope never has.
//   - bar: medplum removes the \ escapes of an item before it splits it at
//     every | (and drops what follows a second one), so x\|y is system x
//     and code y instead of the code "x|y".
//   - boolean: medplum reads |true as true; fhirauth reads a boolean only
//     as the items true and false.
//   - literal-reference: medplum compares reference values with the
//     reference string literally, so it matches absolute, contained and
//     versioned (Type/id/_history/v) values and references of a type the
//     parameter does not target; fhirauth refuses all of these (fail
//     closed; only Type/id or a bare id names a resource it can check).
//
// Where fhirauth says a resource satisfies the constraint and medplum does
// not return it (a potential leak), the disagreement must vanish when
// medplum is asked an equivalent search that avoids its departure:
//
//   - bare-id: medplum matches a reference value only as a literal
//     Type/id; FHIR lets [parameter]=[id] name a resource of any type the
//     parameter targets. Asked again with the id written as Type/id for
//     every type a reference of the corpus names (referenceTypes).
//   - versioned-reference: medplum does not match a versioned reference
//     Patient/123/_history/2 by Patient/123, the resource it names.
//     Asked again with every Type/id also written with the corpus'
//     version.
//   - bar: medplum cannot search a code containing |. Asked again on a
//     twin of the resource, stored beside it, whose | are ! (and whose
//     texts medplum would index are gone), with \| in the value as !.

// refVersion is the version of every versioned reference in the corpus.
const refVersion = "2"

// barTwinPrefix starts the ids of the renamed twins of the resources
// with a | (the bar deviation).
const barTwinPrefix = "bar-"

// rewrite returns the alternatives node (decoded JSON) becomes when fn
// replaces each value at the element path segs: values fn returns for an
// element of a list are spliced into it (matching any of them is matching
// the list), for a single element they make alternative resources.
func rewrite(node any, segs []string, fn func(any) []any) []any {
	if len(segs) == 0 {
		return fn(node)
	}
	m, ok := node.(map[string]any)
	if !ok {
		return []any{node}
	}
	v, ok := m[segs[0]]
	if !ok {
		return []any{node}
	}
	with := func(val any) map[string]any {
		c := maps.Clone(m)
		c[segs[0]] = val
		return c
	}
	if list, ok := v.([]any); ok {
		var out []any
		for _, el := range list {
			out = append(out, rewrite(el, segs[1:], fn)...)
		}
		return []any{with(out)}
	}
	var out []any
	for _, alt := range rewrite(v, segs[1:], fn) {
		out = append(out, with(alt))
	}
	return out
}

// lowerMembers returns a copy of the object v with the string members
// names lowercased.
func lowerMembers(v any, names ...string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	c := maps.Clone(m)
	for _, n := range names {
		if s, ok := c[n].(string); ok {
			c[n] = strings.ToLower(s)
		}
	}
	return c
}

// foldCase is medplum's case-blind reading of an element of type dt.
func foldCase(dt fhirspec.DataType) func(any) []any {
	return func(v any) []any {
		switch dt {
		case fhirspec.TypeString:
			if s, ok := v.(string); ok {
				return []any{strings.ToLower(s)}
			}
		case fhirspec.TypeCoding:
			return []any{lowerMembers(v, "system", "code")}
		case fhirspec.TypeIdentifier:
			return []any{lowerMembers(v, "system", "value")}
		case fhirspec.TypeCodeableConcept:
			m, ok := v.(map[string]any)
			codings, _ := m["coding"].([]any)
			if !ok || codings == nil {
				return []any{v}
			}
			c := maps.Clone(m)
			var folded []any
			for _, cd := range codings {
				folded = append(folded, lowerMembers(cd, "system", "code"))
			}
			c["coding"] = folded
			return []any{c}
		}
		return []any{v}
	}
}

// textTokens is medplum's reading of an element of type dt that indexes
// its texts as codes without a system.
func textTokens(dt fhirspec.DataType) func(any) []any {
	return func(v any) []any {
		m, ok := v.(map[string]any)
		if !ok {
			return []any{v}
		}
		switch dt {
		case fhirspec.TypeCoding:
			if d, ok := m["display"].(string); ok {
				return []any{v, map[string]any{"code": d}}
			}
		case fhirspec.TypeIdentifier:
			if typ, ok := m["type"].(map[string]any); ok && typ["text"] != nil {
				return []any{v, map[string]any{"value": typ["text"]}}
			}
		case fhirspec.TypeCodeableConcept:
			codings, _ := m["coding"].([]any)
			codings = slices.Clone(codings)
			for _, cd := range codings {
				if d, ok := cd.(map[string]any)["display"].(string); ok {
					codings = append(codings, map[string]any{"code": d})
				}
			}
			if text, ok := m["text"].(string); ok {
				codings = append(codings, map[string]any{"code": text})
			}
			c := maps.Clone(m)
			c["coding"] = codings
			return []any{c}
		}
		return []any{v}
	}
}

// withoutTexts drops what textTokens reads, for the bar twins.
func withoutTexts(v any) []any {
	m, ok := v.(map[string]any)
	if !ok {
		return []any{v}
	}
	c := maps.Clone(m)
	delete(c, "text")
	delete(c, "display")
	delete(c, "type")
	if codings, ok := c["coding"].([]any); ok {
		var out []any
		for _, cd := range codings {
			out = append(out, withoutTexts(cd)...)
		}
		c["coding"] = out
	}
	return []any{c}
}

// splitMedplum splits a search value at its unescaped commas and removes
// every escape, as medplum does.
func splitMedplum(v string) []string {
	var out []string
	var cur strings.Builder
	escaped := false
	for _, c := range v {
		switch {
		case escaped:
			cur.WriteRune(c)
			escaped = false
		case c == '\\':
			escaped = true
		case c == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(c)
		}
	}
	return append(out, cur.String())
}

// splitItems splits a search value at its unescaped commas, keeping the
// escapes.
func splitItems(v string) []string {
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

// matchesNothing is a value no element of the corpus has.
const matchesNothing = "medplum-matches-nothing"

// medplumTokenValue rewrites a token value into the value fhirauth reads
// as medplum reads the original (the bar deviation; the boolean one too
// for a boolean element).
func medplumTokenValue(v string, dt fhirspec.DataType) string {
	var items []string
	for _, it := range splitMedplum(v) {
		if !strings.Contains(it, "|") {
			items = append(items, escapeToken(it))
			continue
		}
		parts := strings.Split(it, "|")
		switch {
		case parts[0] == "" && parts[1] == "":
		case dt == fhirspec.TypeBoolean && parts[0] == "":
			items = append(items, escapeToken(parts[1]))
		default:
			items = append(items, escapeToken(parts[0])+"|"+escapeToken(parts[1]))
		}
	}
	if len(items) == 0 {
		return matchesNothing
	}
	return strings.Join(items, ",")
}

// denialReading is one way medplum reads a pair that fhirauth is asked
// again with, for false denials: it rewrites the resource's elements of
// a parameter of type dt, and the value.
type denialReading struct {
	name     string
	resource func(dt fhirspec.DataType) func(any) []any
	value    func(v string, dt fhirspec.DataType) string
}

var denialReadings = []denialReading{
	{name: "text", resource: textTokens},
	{name: "case", resource: foldCase, value: func(v string, _ fhirspec.DataType) string { return strings.ToLower(v) }},
	{name: "bar", value: func(v string, dt fhirspec.DataType) string {
		if dt == fhirspec.TypeBoolean || !strings.Contains(v, `\|`) {
			return v
		}
		return medplumTokenValue(v, dt)
	}},
	{name: "boolean", value: func(v string, dt fhirspec.DataType) string {
		if dt != fhirspec.TypeBoolean {
			return v
		}
		return medplumTokenValue(v, dt)
	}},
	// medplum indexes a code without a system, so "|final" finds it;
	// fhirauth matches no "|" item on a code (HAPI indexes a bound code
	// with its value set's system and finds nothing).
	{name: "code-bar", value: func(v string, dt fhirspec.DataType) string {
		if dt != fhirspec.TypeString {
			return v
		}
		items := splitItems(v)
		for i, it := range items {
			items[i] = strings.TrimPrefix(it, "|")
		}
		return strings.Join(items, ",")
	}},
}

// explainDenial names the smallest set of denialReadings under which
// fhirauth allows the pair (in the order of the list), or a
// literal-reference match; "" when none does.
func (d *differential) explainDenial(t *testing.T, c constraintCase, r map[string]any) string {
	t.Helper()
	paths, ok := fhirspec.SearchPaths(fhirspec.R4, c.typ, c.param)
	require.True(t, ok, "%s", c)
	if paths[0].Type == fhirspec.TypeReference {
		return literalReference(c, r, paths)
	}
	n := len(denialReadings)
	for size := 1; size <= n; size++ {
		for set := 1; set < 1<<n; set++ {
			if bitCount(set) != size {
				continue
			}
			if d.allowedUnder(t, c, r, paths, set) {
				var names []string
				for i, rd := range denialReadings {
					if set&(1<<i) != 0 {
						names = append(names, rd.name)
					}
				}
				return strings.Join(names, "+")
			}
		}
	}
	return ""
}

func bitCount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// allowedUnder reports whether fhirauth allows a variant of the pair
// rewritten by the readings of set.
func (d *differential) allowedUnder(t *testing.T, c constraintCase, r map[string]any, paths []fhirspec.SearchPath, set int) bool {
	t.Helper()
	variants := []any{r}
	value := c.value
	for i, rd := range denialReadings {
		if set&(1<<i) == 0 {
			continue
		}
		if rd.value != nil {
			value = rd.value(value, paths[0].Type)
		}
		if rd.resource == nil {
			continue
		}
		for _, sp := range paths {
			var next []any
			for _, v := range variants {
				next = append(next, rewrite(v, strings.Split(sp.Path, "."), rd.resource(sp.Type))...)
			}
			variants = next
		}
	}
	for _, v := range variants {
		body, err := json.Marshal(v)
		require.NoError(t, err)
		if d.satisfiesBody(t, constraintCase{c.typ, c.param, value}, body) {
			return true
		}
	}
	return false
}

// literalReference is "literal-reference" when an item of the value, read
// as medplum reads it, is literally one of the references at paths.
func literalReference(c constraintCase, r map[string]any, paths []fhirspec.SearchPath) string {
	items := splitMedplum(c.value)
	for _, sp := range paths {
		for _, v := range valuesAt(r, sp.Path) {
			m, _ := v.(map[string]any)
			if s, ok := m["reference"].(string); ok && slices.Contains(items, s) {
				return "literal-reference"
			}
		}
	}
	return ""
}

// valuesAt returns the values at the dotted element path of r.
func valuesAt(r any, path string) []any {
	var out []any
	rewrite(r, strings.Split(path, "."), func(v any) []any {
		out = append(out, v)
		return []any{v}
	})
	return out
}

// explainLeak names the departures of medplum that a spec-equivalent
// search, asked of medplum again, shows to account for medplum not
// returning a resource fhirauth says satisfies the constraint; "" when
// that search does not return it either.
func (d *differential) explainLeak(t *testing.T, c constraintCase, r map[string]any) string {
	t.Helper()
	paths, _ := fhirspec.SearchPaths(fhirspec.R4, c.typ, c.param)
	id := r["id"].(string)
	if paths[0].Type != fhirspec.TypeReference {
		if !strings.Contains(c.value, `\|`) || !d.barTwins[id] {
			return ""
		}
		twin := constraintCase{c.typ, c.param, strings.ReplaceAll(c.value, `\|`, "!")}
		if d.medplumSearch(t, twin, "")[barTwinPrefix+id] {
			return "bar"
		}
		return ""
	}
	var names []string
	var items []string
	for _, it := range splitItems(c.value) {
		if it != "" && !strings.Contains(it, "/") {
			names = appendOnce(names, "bare-id")
			for _, typ := range d.refTypes {
				items = append(items, typ+"/"+it)
			}
			continue
		}
		items = append(items, it)
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "/_history/"+refVersion+`"`) {
		names = append(names, "versioned-reference")
		for _, it := range slices.Clone(items) {
			if strings.Count(it, "/") == 1 && !strings.Contains(it, ":") {
				items = append(items, it+"/_history/"+refVersion)
			}
		}
	}
	if names == nil {
		return ""
	}
	again := constraintCase{c.typ, c.param, strings.Join(items, ",")}
	if d.medplumSearch(t, again, "")[id] {
		return strings.Join(names, "+")
	}
	return ""
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// barTwins returns the renamed twins of the resources that have a |: every
// | is !, and the texts medplum reads as tokens are gone.
func barTwins(resources []map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range resources {
		b, err := json.Marshal(r)
		if err != nil || !strings.Contains(string(b), "|") {
			continue
		}
		var twin any
		if json.Unmarshal([]byte(strings.ReplaceAll(string(b), "|", "!")), &twin) != nil {
			continue
		}
		for _, path := range []string{"category", "code", "identifier", "meta.tag", "class", "medicationCodeableConcept"} {
			twin = rewrite(twin, strings.Split(path, "."), withoutTexts)[0]
		}
		m := twin.(map[string]any)
		m["id"] = barTwinPrefix + r["id"].(string)
		out = append(out, m)
	}
	return out
}

// searchTarget is the query of a search for constraint c.
func searchTarget(c constraintCase) string {
	return c.typ + "?" + url.QueryEscape(c.param) + "=" + url.QueryEscape(c.value)
}

// referenceTypes returns the resource types the relative references of
// the resources name, sorted.
func referenceTypes(resources []map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["reference"].(string); ok {
				if typ, _, ok := fhirspec.RelativeReference(fhirspec.R4, s); ok {
					out = appendOnce(out, typ)
				}
			}
			for _, m := range v {
				walk(m)
			}
		case []any:
			for _, el := range v {
				walk(el)
			}
		}
	}
	for _, r := range resources {
		walk(r)
	}
	slices.Sort(out)
	return out
}
