package store

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Paging defaults for searches.
const (
	DefaultCount = 20
	MaxCount     = 100
)

// Query is a parsed FHIR search on one resource type. All criteria must
// match (AND); the values inside one criterion are alternatives (OR).
type Query struct {
	Type         string
	Criteria     []Criterion
	Count        int  // page size
	Offset       int  // index of the first match of the page
	SummaryCount bool // _summary=count: total only, no entries
	Includes     []Include
	RevIncludes  []Include
}

// Criterion is one search parameter with its OR-ed values.
type Criterion struct {
	Name     string
	Modifier string
	Values   []string
	def      paramDef
}

// Include is an _include or _revinclude directive: resources of SourceType
// whose Param references something (optionally only of TargetType).
type Include struct {
	SourceType string
	Param      string
	TargetType string
}

// String returns the directive as written in a URL ("Observation:subject:Patient").
func (i Include) String() string {
	s := i.SourceType + ":" + i.Param
	if i.TargetType != "" {
		s += ":" + i.TargetType
	}
	return s
}

// resultParams are parameters that shape the result rather than select.
var resultParams = map[string]bool{
	"_count": true, "_offset": true, "_summary": true, "_total": true,
	"_format": true, "_pretty": true, "_include": true, "_revinclude": true,
}

func badSearch(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSearch, fmt.Sprintf(format, a...))
}

// ParseQuery parses search parameters for resourceType. It fails closed:
// an unknown parameter, modifier or directive is an error (wrapping
// ErrBadSearch), never silently ignored, because an ignored parameter would
// return more than the caller asked for (or was allowed to see).
func ParseQuery(resourceType string, params url.Values) (Query, error) {
	q := Query{Type: resourceType, Count: DefaultCount}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic errors and criteria order
	for _, full := range names {
		values := params[full]
		name, modifier, _ := strings.Cut(full, ":")
		if resultParams[name] {
			if err := q.parseResultParam(name, modifier, values); err != nil {
				return Query{}, err
			}
			continue
		}
		def, ok := lookupParam(resourceType, name)
		if !ok {
			return Query{}, badSearch("search parameter %q is not supported for %s", full, resourceType)
		}
		if err := checkModifier(def, full, modifier); err != nil {
			return Query{}, err
		}
		for _, v := range values {
			alts := splitValues(v)
			for _, a := range alts {
				if a == "" {
					return Query{}, badSearch("empty value in %s=%q", full, v)
				}
			}
			q.Criteria = append(q.Criteria, Criterion{Name: name, Modifier: modifier, Values: alts, def: def})
		}
	}
	return q, nil
}

func (q *Query) parseResultParam(name, modifier string, values []string) error {
	if modifier != "" && name != "_include" && name != "_revinclude" {
		return badSearch("search parameter %s: the modifier :%s is not supported", name, modifier)
	}
	if modifier != "" {
		return badSearch("search parameter %s: the modifier :%s is not supported", name, modifier)
	}
	single := func() (string, error) {
		if len(values) != 1 {
			return "", badSearch("%s must be given once", name)
		}
		return values[0], nil
	}
	switch name {
	case "_count", "_offset":
		v, err := single()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			return badSearch("%s=%q is not a non-negative integer", name, v)
		}
		if name == "_count" {
			q.Count = min(n, MaxCount)
		} else {
			q.Offset = n
		}
	case "_summary":
		v, err := single()
		if err != nil {
			return err
		}
		switch v {
		case "count":
			q.SummaryCount = true
		case "false":
		default:
			return badSearch("_summary=%q is not supported (count, false)", v)
		}
	case "_total":
		v, err := single()
		if err != nil {
			return err
		}
		if v != "none" && v != "estimate" && v != "accurate" {
			return badSearch("_total=%q is not valid", v)
		}
	case "_format":
		v, err := single()
		if err != nil {
			return err
		}
		if !IsJSONFormat(v) {
			return badSearch("_format=%q is not supported: this server speaks FHIR JSON only", v)
		}
	case "_pretty":
	case "_include", "_revinclude":
		for _, v := range values {
			inc, err := parseInclude(q.Type, name, v)
			if err != nil {
				return err
			}
			if name == "_include" {
				q.Includes = append(q.Includes, inc)
			} else {
				q.RevIncludes = append(q.RevIncludes, inc)
			}
		}
	}
	return nil
}

// IsJSONFormat reports whether a _format value asks for FHIR JSON.
func IsJSONFormat(v string) bool {
	v, _, _ = strings.Cut(v, ";")
	switch strings.TrimSpace(v) {
	case "json", "application/json", "application/fhir+json", "application/json+fhir":
		return true
	}
	return false
}

func parseInclude(queryType, name, v string) (Include, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Include{}, badSearch("%s=%q: expected Type:param[:TargetType]", name, v)
	}
	inc := Include{SourceType: parts[0], Param: parts[1]}
	if len(parts) == 3 {
		if parts[2] == "" {
			return Include{}, badSearch("%s=%q: empty target type", name, v)
		}
		inc.TargetType = parts[2]
	}
	if inc.Param == "*" {
		return Include{}, badSearch("%s=%q: wildcard includes are not supported", name, v)
	}
	if name == "_include" && inc.SourceType != queryType {
		return Include{}, badSearch("_include=%q: source type must be %s", v, queryType)
	}
	def, ok := lookupParam(inc.SourceType, inc.Param)
	if !ok || def.kind != kindReference {
		return Include{}, badSearch("%s=%q: %s has no reference search parameter %q", name, v, inc.SourceType, inc.Param)
	}
	if inc.TargetType != "" && len(def.targets) > 0 && !contains(def.targets, inc.TargetType) {
		return Include{}, badSearch("%s=%q: %s.%s cannot refer to %s", name, v, inc.SourceType, inc.Param, inc.TargetType)
	}
	if name == "_revinclude" && inc.TargetType != "" && inc.TargetType != queryType {
		return Include{}, badSearch("_revinclude=%q: target type must be %s", v, queryType)
	}
	return inc, nil
}

func lookupParam(resourceType, name string) (paramDef, bool) {
	if name == "_id" {
		return paramDef{kind: kindToken, paths: []string{"id"}}, true
	}
	def, ok := searchParams[resourceType][name]
	return def, ok
}

func checkModifier(def paramDef, full, modifier string) error {
	if modifier == "" {
		return nil
	}
	switch def.kind {
	case kindString:
		if modifier == "exact" || modifier == "contains" {
			return nil
		}
	case kindReference:
		if isTypeName(modifier) && (len(def.targets) == 0 || contains(def.targets, modifier)) {
			return nil
		}
	}
	name, _, _ := strings.Cut(full, ":")
	return badSearch("search parameter %s: the modifier :%s is not supported", name, modifier)
}

func isTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// splitValues splits an OR-list on commas not escaped with a backslash.
func splitValues(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v) && (v[i+1] == ',' || v[i+1] == '\\' || v[i+1] == '|' || v[i+1] == '$'):
			if v[i+1] == ',' {
				cur.WriteByte(',')
			} else {
				cur.WriteByte('\\')
				cur.WriteByte(v[i+1])
			}
			i++
		case v[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(out, cur.String())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Encode returns the query as URL parameters, with the page starting at
// offset: the form used for paging links (self, next, previous).
func (q Query) Encode(offset int) url.Values {
	v := url.Values{}
	for _, c := range q.Criteria {
		name := c.Name
		if c.Modifier != "" {
			name += ":" + c.Modifier
		}
		esc := make([]string, len(c.Values))
		for i, x := range c.Values {
			esc[i] = strings.ReplaceAll(x, ",", `\,`)
		}
		v.Add(name, strings.Join(esc, ","))
	}
	for _, inc := range q.Includes {
		v.Add("_include", inc.String())
	}
	for _, inc := range q.RevIncludes {
		v.Add("_revinclude", inc.String())
	}
	v.Set("_count", strconv.Itoa(q.Count))
	if q.SummaryCount {
		v.Set("_summary", "count")
	}
	if offset > 0 {
		v.Set("_offset", strconv.Itoa(offset))
	}
	return v
}
