package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec/internal/cardinality"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// searchParameter is the part of a FHIR SearchParameter the table needs.
type searchParameter struct {
	ID         string   `json:"id"`
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
	Target     []string `json:"target"`
}

// searchPath is one element of a generated table entry.
type searchPath struct {
	path, element, dataType, target, choice string
	lists                                   uint8
}

// The FHIRPath forms a table entry is read from; any other form (a
// where() on a value, an extension(), an index) leaves the parameter out
// of the table, so that fhirauth fails closed on it.
var (
	plainPath   = regexp.MustCompile(`^([A-Za-z]+)((?:\.[a-z][A-Za-z]*)+)$`)
	castPath    = regexp.MustCompile(`^\(([A-Za-z]+(?:\.[a-z][A-Za-z]*)+) as ([A-Za-z]+)\)$`)
	castCall    = regexp.MustCompile(`^([A-Za-z]+(?:\.[a-z][A-Za-z]*)+)\.as\(([A-Za-z]+)\)$`)
	resolveCall = regexp.MustCompile(`^([A-Za-z]+(?:\.[a-z][A-Za-z]*)+)\.where\(resolve\(\) is ([A-Z][A-Za-z]*)\)$`)
)

// searchDataTypes are the element types each kind of search parameter is
// matched on: a token on a code, Coding, CodeableConcept, Identifier or
// boolean; a reference on a Reference; a uri on a uri or canonical.
var searchDataTypes = map[string]map[string]bool{
	"token": {"CodeableConcept": true, "Coding": true, "Identifier": true, "code": true,
		"string": true, "id": true, "uri": true, "boolean": true},
	"reference": {"Reference": true},
	"uri":       {"uri": true, "canonical": true},
}

// readSearchParameters reads every SearchParameter-*.json of a FHIR core
// package directory, leaving out the spec's examples.
func readSearchParameters(dir string) []searchParameter {
	files, err := filepath.Glob(filepath.Join(dir, "SearchParameter-*.json"))
	if err != nil || len(files) == 0 {
		log.Fatalf("gen: no SearchParameter-*.json in %s", dir)
	}
	var out []searchParameter
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			log.Fatalf("gen: %v", err)
		}
		var sp searchParameter
		if err := json.Unmarshal(raw, &sp); err != nil {
			log.Fatalf("gen: %s: %v", f, err)
		}
		if !strings.HasPrefix(sp.ID, "example") {
			out = append(out, sp)
		}
	}
	return out
}

// searchEntries returns the table entries ("Type.param" to its elements)
// of the token, reference and uri parameters whose every element on the
// type can be read.
func searchEntries(params []searchParameter, res map[string]protoreflect.MessageDescriptor, release string) map[string][]searchPath {
	out := map[string][]searchPath{}
	for _, sp := range params {
		kinds, ok := searchDataTypes[sp.Type]
		if !ok {
			continue
		}
		for _, base := range sp.Base {
			key := base + "." + sp.Code
			if _, dup := out[key]; dup {
				log.Fatalf("gen: %s: two SearchParameters define %s", release, key)
			}
			if paths, ok := baseSearchPaths(sp, base, kinds, res); ok {
				out[key] = paths
			}
		}
	}
	return out
}

// baseSearchPaths reads the parts of sp's expression that start at base.
// It reports false when a part is of a form the table does not read, of a
// data type the parameter's kind does not match, or when no part is.
func baseSearchPaths(sp searchParameter, base string, kinds map[string]bool, res map[string]protoreflect.MessageDescriptor) ([]searchPath, bool) {
	var out []searchPath
	for _, part := range strings.Split(sp.Expression, "|") {
		part = strings.TrimSpace(part)
		path, target, ok := parseSearchPart(part)
		if !ok {
			return nil, false
		}
		start, rest, _ := strings.Cut(path, ".")
		if start != base && start != "("+base {
			if isResourceName(start, res) {
				continue // another base type's part of a shared parameter
			}
			return nil, false
		}
		switch {
		case target != "":
		case len(sp.Target) == 1:
			target = sp.Target[0]
		case sp.Code == "patient":
			// STU3's clinical "patient" lists Group as a target too; R4
			// narrowed it to where(resolve() is Patient). Matching only
			// Patient references is the narrower reading.
			target = "Patient"
		}
		p, ok := resolveSearchPath(base, rest, target, kinds, res)
		if !ok {
			return nil, false
		}
		out = append(out, p)
	}
	return out, len(out) > 0
}

// parseSearchPart turns one FHIRPath part into a dotted JSON path from
// its type ("Observation.subject", a cast "(X.medication as
// CodeableConcept)" becomes "X.medicationCodeableConcept") and the
// resource type a where(resolve() is T) limits a reference to.
func parseSearchPart(part string) (path, target string, ok bool) {
	if m := resolveCall.FindStringSubmatch(part); m != nil {
		return m[1], m[2], true
	}
	for _, re := range []*regexp.Regexp{castPath, castCall} {
		if m := re.FindStringSubmatch(part); m != nil {
			return m[1] + strings.ToUpper(m[2][:1]) + m[2][1:], "", true
		}
	}
	if plainPath.MatchString(part) {
		return part, "", true
	}
	return "", "", false
}

// resolveSearchPath reads the data type of path on base from the protos.
// Base "Resource" or "DomainResource" stands for every resource type,
// which must then all agree.
func resolveSearchPath(base, path, target string, kinds map[string]bool, res map[string]protoreflect.MessageDescriptor) (searchPath, bool) {
	types := []string{base}
	if base == "Resource" || base == "DomainResource" {
		types = types[:0]
		for t := range res {
			types = append(types, t)
		}
	}
	var got searchPath
	for i, t := range types {
		md, ok := res[t]
		if !ok {
			return searchPath{}, false
		}
		typ, lists, err := cardinality.Element(md, path)
		if err != nil || !kinds[typ] {
			return searchPath{}, false
		}
		choice, ok := choiceBase(md, path)
		if !ok {
			return searchPath{}, false
		}
		p := searchPath{path: path, element: topElement(md, path), dataType: dataTypes[typ], lists: lists, choice: choice}
		if typ == "Reference" {
			p.target = target
		}
		if i > 0 && p != got {
			return searchPath{}, false
		}
		got = p
	}
	return got, true
}

// topElement is the FHIR name of the first element of path: its JSON
// name, or "name[x]" for a choice element ("medicationCodeableConcept" is
// in "medication[x]").
func topElement(md protoreflect.MessageDescriptor, path string) string {
	first, _, _ := strings.Cut(path, ".")
	if md.Fields().ByJSONName(first) != nil {
		return first
	}
	fields := md.Fields()
	for i := range fields.Len() {
		name := fields.Get(i).JSONName()
		if rest, ok := strings.CutPrefix(first, name); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
			return name + "[x]"
		}
	}
	log.Fatalf("gen: no element %q", first)
	return ""
}

// choiceBase is the name of the choice element whose type the last
// segment of path is ("value" for "component.valueCodeableConcept"), ""
// when it is a plain element. ok is false when a segment before the last
// is a choice: the table then leaves the parameter out.
func choiceBase(md protoreflect.MessageDescriptor, path string) (base string, ok bool) {
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		f := md.Fields().ByJSONName(s)
		if f == nil || f.Message() == nil {
			return "", false
		}
		md = f.Message()
	}
	last := segs[len(segs)-1]
	if md.Fields().ByJSONName(last) != nil {
		return "", true
	}
	base, _ = strings.CutSuffix(topElement(md, last), "[x]")
	return base, true
}

func isResourceName(s string, res map[string]protoreflect.MessageDescriptor) bool {
	s = strings.TrimPrefix(s, "(")
	_, ok := res[s]
	return ok || s == "Resource" || s == "DomainResource"
}

// writeSearch writes the map name of "Type.param" to the elements the
// parameter searches, from the SearchParameters params of the release.
func writeSearch(buf *bytes.Buffer, name, release, protoRelease string, params []searchParameter) {
	res, err := cardinality.Resources(protoRelease)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	entries := searchEntries(params, res, release)
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(buf, "// %s maps the %d token, reference and uri search parameters of\n", name, len(keys))
	fmt.Fprintf(buf, "// FHIR %s whose elements fhirspec reads (\"Type.param\"; \"Resource.param\"\n", release)
	buf.WriteString("// for every type) to those elements.\n")
	fmt.Fprintf(buf, "var %s = map[string][]SearchPath{\n", name)
	for _, k := range keys {
		fmt.Fprintf(buf, "\t%q: {", k)
		for i, p := range entries[k] {
			if i > 0 {
				buf.WriteString(", ")
			}
			fmt.Fprintf(buf, "{%q, %q, %s, %#b, %q, %q}", p.path, p.element, p.dataType, p.lists, p.target, p.choice)
		}
		buf.WriteString("},\n")
	}
	buf.WriteString("}\n\n")
}

// searchPageParams are the parameters for all resources that the search
// page (search.html) of both releases defines without a SearchParameter
// resource in the package: _list, _has and _type in its summary table of
// the parameters for all resources, and _filter, "a special search
// parameter" (search_filter.html).
var searchPageParams = []string{"_filter", "_has", "_list", "_type"}

// searchCode is the form of a search parameter code the name tables
// hold: nothing a query parameter's name could not be, no ":" or "."
// (which start a modifier or a chain) and no space (which separates the
// names).
var searchCode = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// writeSearchNames writes the search parameter names of a release: the
// map <prefix>SearchNames of every resource type to the codes of the
// SearchParameters based on it, of any parameter type, and the constant
// <prefix>CommonSearchNames of those for every resource type (based on
// Resource or DomainResource, and searchPageParams), each sorted and
// separated by single spaces.
func writeSearchNames(buf *bytes.Buffer, prefix, release, protoRelease string, params []searchParameter) {
	res, err := cardinality.Resources(protoRelease)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	common := map[string]bool{}
	for _, n := range searchPageParams {
		common[n] = true
	}
	own := map[string]map[string]bool{}
	for t := range res {
		own[t] = map[string]bool{}
	}
	total := 0
	for _, sp := range params {
		if !searchCode.MatchString(sp.Code) {
			log.Fatalf("gen: %s: SearchParameter %s has code %q", release, sp.ID, sp.Code)
		}
		for _, base := range sp.Base {
			switch {
			case base == "Resource" || base == "DomainResource":
				common[sp.Code] = true
			case own[base] != nil:
				if !own[base][sp.Code] {
					total++
				}
				own[base][sp.Code] = true
			default:
				log.Fatalf("gen: %s: SearchParameter %s is based on %q, not a resource type", release, sp.ID, base)
			}
		}
	}
	types := slices.Sorted(maps.Keys(own))
	fmt.Fprintf(buf, "// %sSearchNames maps each of the %d resource types of FHIR %s to the\n", prefix, len(types), release)
	fmt.Fprintf(buf, "// codes of the %d search parameters of any type (string, date, token,\n", total)
	buf.WriteString("// reference, quantity, number, uri, composite, special) based on it, sorted\n")
	buf.WriteString("// and separated by single spaces.\n")
	fmt.Fprintf(buf, "var %sSearchNames = map[string]string{\n", prefix)
	for _, t := range types {
		fmt.Fprintf(buf, "\t%q: %q,\n", t, strings.Join(slices.Sorted(maps.Keys(own[t])), " "))
	}
	buf.WriteString("}\n\n")
	fmt.Fprintf(buf, "// %sCommonSearchNames are the codes of the search parameters of every\n", prefix)
	fmt.Fprintf(buf, "// resource type of FHIR %s (based on Resource or DomainResource, or\n", release)
	buf.WriteString("// defined by the search page), sorted and separated by single spaces.\n")
	fmt.Fprintf(buf, "const %sCommonSearchNames = %q\n\n", prefix, strings.Join(slices.Sorted(maps.Keys(common)), " "))
}
