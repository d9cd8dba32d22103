package fhirspec

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsSearchParam(t *testing.T) {
	for _, tc := range []struct {
		v         Version
		typ, name string
		want      bool
	}{
		// Every parameter type, not only those SearchPaths reads.
		{R4, "Observation", "code", true},                // token
		{R4, "Observation", "date", true},                // date
		{R4, "Observation", "value-quantity", true},      // quantity
		{R4, "Observation", "code-value-quantity", true}, // composite
		{R4, "Observation", "subject", true},             // reference
		{R4, "Patient", "name", true},                    // string
		{R4, "RiskAssessment", "probability", true},      // number
		{R4, "ValueSet", "url", true},                    // uri
		{R4, "Location", "near", true},                   // special
		{STU3, "Observation", "code", true},
		{STU3, "Observation", "context", true}, // STU3 only
		{R4, "Observation", "context", false},
		{R4, "Observation", "focus", true}, // R4 only
		{STU3, "Observation", "focus", false},
		// For every type, from SearchParameters and from the search page.
		{R4, "Observation", "_id", true},
		{R4, "Observation", "_lastUpdated", true},
		{R4, "Observation", "_tag", true},
		{R4, "Observation", "_profile", true},
		{R4, "Observation", "_security", true},
		{R4, "Observation", "_text", true},
		{R4, "Observation", "_content", true},
		{R4, "Observation", "_list", true},
		{R4, "Observation", "_has", true},
		{R4, "Observation", "_type", true},
		{R4, "Observation", "_query", true},
		{R4, "Observation", "_filter", true},
		{R4, "Observation", "_source", true},
		{STU3, "Observation", "_source", false}, // R4 added it
		{STU3, "Observation", "_has", true},
		{R4, "", "_id", true},
		{R4, "", "code", false},
		{R4, "Bundle", "_id", true},
		// Result parameters are not search parameters.
		{R4, "Observation", "_count", false},
		{R4, "Observation", "_include", false},
		{R4, "Observation", "_sort", false},
		{R4, "Observation", "_page", false},
		// Paging tokens of servers, and hostile spellings.
		{R4, "Observation", "ct", false},
		{R4, "Observation", "-pageContext", false},
		{R4, "Observation", "page", false},
		{R4, "Observation", "_getpages", false},
		{R4, "Observation", "Code", false},
		{R4, "Observation", "cod", false},
		{R4, "Observation", "ode", false},
		{R4, "Observation", "value", false},    // inside code-value-quantity
		{R4, "Observation", "quantity", false}, // the end of value-quantity
		{R4, "Observation", "code value-quantity", false},
		{R4, "Observation", "code ", false},
		{R4, "Observation", " code", false},
		{R4, "Observation", "code:text", false},
		{R4, "Observation", "subject:Patient.name", false},
		{R4, "Observation", "", false},
		{R4, "Observation", " ", false},
		{R4, "Patient", "code", false}, // another type's parameter
		{R4, "NoSuchType", "_id", false},
		{R4, "Resource", "_id", false},
		{R4, "observation", "code", false},
		{Version(0), "Observation", "code", false},
		{Version(9), "Observation", "_id", false},
	} {
		assert.Equal(t, tc.want, IsSearchParam(tc.v, tc.typ, tc.name), "%v %s %q", tc.v, tc.typ, tc.name)
	}
}

// TestSearchNamesMatchTables guards the name tables of
// searchparams_gen.go: one entry per resource type of the release, names
// sorted, distinct and of the form a query parameter name can take, and
// every parameter that SearchPaths or the patient compartment knows is
// among them (a narrowing parameter that is not would make every
// narrowed search look unusual).
func TestSearchNamesMatchTables(t *testing.T) {
	code := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	sorted := func(list string) {
		names := strings.Split(list, " ")
		assert.True(t, slices.IsSorted(names), "%q", list)
		assert.Len(t, slices.Compact(slices.Clone(names)), len(names), "%q", list)
		for _, n := range names {
			assert.Regexp(t, code, n, "%q", list)
		}
	}
	for _, v := range []Version{STU3, R4} {
		tables := generatedNames[v]
		assert.Equal(t, ResourceTypes(v), slices.Sorted(maps.Keys(tables.own)), "%v", v)
		sorted(tables.common)
		for typ, list := range tables.own {
			if list == "" {
				continue
			}
			sorted(list)
			for n := range strings.SplitSeq(list, " ") {
				assert.NotContains(t, strings.Split(tables.common, " "), n, "%v %s.%s is also for every type", v, typ, n)
			}
		}
		for key := range searchTables[v] {
			typ, name, _ := strings.Cut(key, ".")
			if typ == "Resource" {
				typ = ""
			}
			assert.True(t, IsSearchParam(v, typ, name), "%v %s", v, key)
		}
		for _, typ := range PatientCompartmentTypes(v) {
			params, _ := PatientCompartment(v, typ)
			for _, p := range params {
				name, _, _ := strings.Cut(p.Name, ".")
				assert.True(t, IsSearchParam(v, typ, name), "%v %s.%s", v, typ, p.Name)
			}
		}
		assert.True(t, IsSearchParam(v, "Patient", "link"), "%v", v)
	}
}

func TestIsSearchParamDoesNotAllocate(t *testing.T) {
	typ, name := string([]byte("Observation")), string([]byte("value-quantity")) // not constants
	allocs := testing.AllocsPerRun(100, func() {
		if !IsSearchParam(R4, typ, name) || IsSearchParam(R4, typ, "ct") || !IsSearchParam(STU3, typ, "_id") {
			t.Fatal("wrong answer")
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkIsSearchParam(b *testing.B) {
	for b.Loop() {
		if !IsSearchParam(R4, "Observation", "value-quantity") || IsSearchParam(R4, "Observation", "ct") {
			b.Fatal("wrong answer")
		}
	}
}

// generatedNames are the generated lists, as searchNameTables splits
// them.
var generatedNames = [...]struct {
	own    map[string]string
	common string
}{
	STU3: {stu3SearchNames, stu3CommonSearchNames},
	R4:   {r4SearchNames, r4CommonSearchNames},
}

// FuzzIsSearchParam holds IsSearchParam to a plain model of the tables:
// the name is one of the words of the type's list or of the list for
// every type, whatever bytes the type and name hold.
func FuzzIsSearchParam(f *testing.F) {
	for _, s := range [][2]string{{"Observation", "code"}, {"Observation", "value"}, {"Observation", "ct"}, {"", "_id"},
		{"Patient", "name given"}, {"Observation", ""}, {"Observation", "-pageContext"}, {"NoSuchType", "_id"}} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, typ, name string, r4 bool) {
		v := STU3
		if r4 {
			v = R4
		}
		tables := generatedNames[v]
		own, known := tables.own[typ]
		want := slices.Contains(strings.Split(tables.common, " "), name) && (typ == "" || known) ||
			known && slices.Contains(strings.Split(own, " "), name)
		if name == "" || strings.Contains(name, " ") {
			want = false
		}
		if got := IsSearchParam(v, typ, name); got != want {
			t.Fatalf("IsSearchParam(%v, %q, %q) = %v, want %v", v, typ, name, got, want)
		}
	})
}
