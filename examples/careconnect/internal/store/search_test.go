package store_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// searchFixture: two patients, their observations and conditions.
func searchFixture(t *testing.T) *store.Store {
	s := newStore(t)
	put(t, s, "Patient", `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"}],"name":[{"family":"Jones","given":["Amelia"]}],"gender":"female"}`)
	put(t, s, "Patient", `{"resourceType":"Patient","id":"p2","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000026"}],"name":[{"family":"Smith","given":["Oliver","Jones"]}],"gender":"male"}`)
	put(t, s, "Observation", observation("o1", "p1", "laboratory", "111"))
	put(t, s, "Observation", observation("o2", "p1", "vital-signs", "222"))
	put(t, s, "Observation", observation("o3", "p2", "laboratory", "111"))
	put(t, s, "Observation", observation("o4", "p2", "vital-signs", "333"))
	put(t, s, "Condition", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"text":"x"},"clinicalStatus":"active","verificationStatus":"confirmed"}`)
	put(t, s, "AllergyIntolerance", `{"resourceType":"AllergyIntolerance","id":"a2","patient":{"reference":"http://example.org/fhir/Patient/p2"},"verificationStatus":"confirmed","category":["medication"]}`)
	return s
}

func ids(rs []*store.Resource) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestSearchParameters(t *testing.T) {
	s := searchFixture(t)
	cases := []struct {
		typ, query string
		want       []string
	}{
		{"Patient", "", []string{"p1", "p2"}},
		{"Patient", "_id=p2", []string{"p2"}},
		{"Patient", "_id=p1,p2", []string{"p1", "p2"}},
		{"Patient", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018", []string{"p1"}},
		{"Patient", "identifier=9990000026", []string{"p2"}},
		{"Patient", "identifier=http://other|9990000026", []string{}},
		{"Patient", "identifier=https://fhir.nhs.uk/Id/nhs-number|", []string{"p1", "p2"}},
		{"Patient", "name=jon", []string{"p1", "p2"}}, // starts-with, case-insensitive, any part (p2 has given Jones)
		{"Patient", "name=ones", []string{}},
		{"Patient", "name:contains=ones", []string{"p1", "p2"}},
		{"Patient", "name:exact=jones", []string{}},
		{"Patient", "name:exact=Jones", []string{"p1", "p2"}},
		{"Patient", "family=Jones", []string{"p1"}},
		{"Patient", "gender=male", []string{"p2"}},
		{"Observation", "patient=p1", []string{"o1", "o2"}},
		{"Observation", "patient=Patient/p2", []string{"o3", "o4"}},
		{"Observation", "subject=Patient/p1", []string{"o1", "o2"}},
		{"Observation", "subject:Patient=p1", []string{"o1", "o2"}},
		{"Observation", "subject=p1", []string{"o1", "o2"}}, // a bare id on a multi-type reference matches any type with that id
		{"Observation", "patient=http://example.org/fhir/Patient/p1", []string{"o1", "o2"}},
		{"Observation", "patient=Group/p1", []string{}},
		{"Observation", "category=laboratory", []string{"o1", "o3"}},
		{"Observation", "category=http://hl7.org/fhir/observation-category|vital-signs", []string{"o2", "o4"}},
		{"Observation", "category=http://wrong|vital-signs", []string{}},
		{"Observation", "code=111", []string{"o1", "o3"}},
		{"Observation", "code=222,333", []string{"o2", "o4"}},
		{"Observation", "patient=p1&category=laboratory", []string{"o1"}},
		{"Observation", "category=laboratory&category=vital-signs", []string{}}, // AND of repeats
		{"Observation", "status=final", []string{"o1", "o2", "o3", "o4"}},
		{"Observation", "status=amended", []string{}},
		{"Condition", "clinical-status=active", []string{"c1"}},
		{"Condition", "patient=p1", []string{"c1"}},
		// a2's patient is an absolute reference: a resource of some server,
		// matched only by the same URL, never by a relative id.
		{"AllergyIntolerance", "patient=p2", []string{}},
		{"AllergyIntolerance", "patient=Patient/p2", []string{}},
		{"AllergyIntolerance", "patient=http://elsewhere.example/fhir/Patient/p2", []string{}},
		{"AllergyIntolerance", "patient=http://example.org/fhir/Patient/p2", []string{"a2"}},
		{"AllergyIntolerance", "category=medication", []string{"a2"}},
	}
	for _, tc := range cases {
		t.Run(tc.typ+"?"+tc.query, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			q, err := store.ParseQuery(tc.typ, v)
			require.NoError(t, err)
			page, err := s.Search(q, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(page.Matches))
			assert.Equal(t, len(tc.want), page.Total)
		})
	}
}

func TestSearchRejectsWhatItCannotHonour(t *testing.T) {
	cases := []struct{ typ, query string }{
		{"Patient", "colour=blue"},
		{"Observation", "subject:Patient.name=Jones"}, // chained
		{"Observation", "_has:Condition:patient:code=1"},
		{"Observation", "patient:Group=1"},
		{"Observation", "code:text=x"},
		{"Observation", "code="},
		{"Observation", "code=1,"},
		{"Observation", "_count=-1"},
		{"Observation", "_count=abc"},
		{"Observation", "_count=1&_count=2"},
		{"Observation", "_summary=true"},
		{"Observation", "_sort=date"},
		{"Observation", "_elements=id"},
		{"Observation", "_format=xml"},
		{"Observation", "_include=*"},
		{"Observation", "_include=Observation:*"},
		{"Observation", "_include=Observation:code"},
		{"Observation", "_include=Patient:link"},
		{"Observation", "_include:iterate=Observation:subject"},
		{"Observation", "_include=Observation:patient:Group"},
		{"Observation", "_include=Observation"},
		{"Patient", "_revinclude=Observation:patient:Group"},
		{"Patient", "_revinclude=Observation:status"},
		{"Patient", "_total=maybe"},
	}
	for _, tc := range cases {
		t.Run(tc.typ+"?"+tc.query, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			_, err = store.ParseQuery(tc.typ, v)
			assert.ErrorIs(t, err, store.ErrBadSearch)
		})
	}
}

func TestSearchPagingAndSummary(t *testing.T) {
	s := searchFixture(t)
	q, err := store.ParseQuery("Observation", url.Values{"_count": {"3"}})
	require.NoError(t, err)
	page, err := s.Search(q, nil)
	require.NoError(t, err)
	assert.Equal(t, 4, page.Total)
	assert.Equal(t, []string{"o1", "o2", "o3"}, ids(page.Matches))

	next := q.Encode(3)
	assert.Equal(t, "3", next.Get("_offset"))
	q2, err := store.ParseQuery("Observation", next)
	require.NoError(t, err)
	page, err = s.Search(q2, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"o4"}, ids(page.Matches))

	q3, err := store.ParseQuery("Observation", url.Values{"_offset": {"10"}})
	require.NoError(t, err)
	page, _ = s.Search(q3, nil)
	assert.Empty(t, page.Matches)
	assert.Equal(t, 4, page.Total)

	big, err := store.ParseQuery("Observation", url.Values{"_count": {"100000"}})
	require.NoError(t, err)
	assert.Equal(t, store.MaxCount, big.Count)

	cnt, err := store.ParseQuery("Observation", url.Values{"_summary": {"count"}, "category": {"laboratory"}})
	require.NoError(t, err)
	page, _ = s.Search(cnt, nil)
	assert.Equal(t, 2, page.Total)
	assert.Empty(t, page.Matches)
}

func TestEncodeRoundTrips(t *testing.T) {
	in := url.Values{"code": {`a\,b,c`}, "patient": {"p1"}, "_include": {"Observation:patient"}, "_count": {"5"}}
	q, err := store.ParseQuery("Observation", in)
	require.NoError(t, err)
	q2, err := store.ParseQuery("Observation", q.Encode(5))
	require.NoError(t, err)
	assert.Equal(t, q.Criteria, q2.Criteria)
	assert.Equal(t, q.Includes, q2.Includes)
	assert.Equal(t, 5, q2.Offset)
	assert.Equal(t, []string{"a,b", "c"}, q.Criteria[0].Values)
}

func TestVisibleFilterHidesFromTotalsAndIncludes(t *testing.T) {
	s := searchFixture(t)
	onlyP1 := func(r *store.Resource) bool {
		return (r.Type == "Patient" && r.ID == "p1") || r.Type != "Patient" && containsRef(r, "Patient/p1")
	}
	q, _ := store.ParseQuery("Observation", url.Values{"_include": {"Observation:patient"}})
	page, err := s.Search(q, onlyP1)
	require.NoError(t, err)
	assert.Equal(t, 2, page.Total, "hidden resources are not counted")
	assert.Equal(t, []string{"o1", "o2"}, ids(page.Matches))
	assert.Equal(t, []string{"p1"}, ids(page.Included))

	q, _ = store.ParseQuery("Patient", url.Values{"_revinclude": {"Observation:patient"}, "_id": {"p2"}})
	page, err = s.Search(q, onlyP1)
	require.NoError(t, err)
	assert.Zero(t, page.Total)
	assert.Empty(t, page.Included)
}

func containsRef(r *store.Resource, ref string) bool {
	return r.Doc() != nil && (contains(string(r.JSON), `"`+ref+`"`))
}

func contains(s, sub string) bool { return len(sub) <= len(s) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestIncludesAndRevIncludes(t *testing.T) {
	s := searchFixture(t)
	q, err := store.ParseQuery("Observation", url.Values{"category": {"laboratory"}, "_include": {"Observation:patient"}})
	require.NoError(t, err)
	page, err := s.Search(q, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"o1", "o3"}, ids(page.Matches))
	assert.Equal(t, []string{"p1", "p2"}, ids(page.Included))

	q, err = store.ParseQuery("Observation", url.Values{"_id": {"o1"}, "_include": {"Observation:subject:Group"}})
	require.NoError(t, err)
	page, _ = s.Search(q, nil)
	assert.Empty(t, page.Included, "target type filter")

	q, err = store.ParseQuery("Patient", url.Values{"_id": {"p2"}, "_revinclude": {"Observation:patient", "AllergyIntolerance:patient"}})
	require.NoError(t, err)
	page, _ = s.Search(q, nil)
	assert.Equal(t, []string{"p2"}, ids(page.Matches))
	assert.Equal(t, []string{"o3", "o4", "a2"}, ids(page.Included), "absolute references are resolved too")
}

func TestSplitReference(t *testing.T) {
	cases := []struct {
		in, typ, id string
		ok          bool
	}{
		{"Patient/1", "Patient", "1", true},
		{"Patient/1/_history/2", "Patient", "1", true},
		{"https://x.org/fhir/Patient/1", "Patient", "1", true},
		{"https://x.org/fhir/Patient/1/_history/3", "Patient", "1", true},
		{"#contained", "", "", false},
		{"urn:uuid:1234", "", "", false},
		{"1", "", "", false},
		{"patient/1", "", "", false},
		{"a/Patient/1", "", "", false},
		{"Patient/", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		typ, id, ok := store.SplitReference(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.Equal(t, tc.typ, typ, tc.in)
		assert.Equal(t, tc.id, id, tc.in)
	}
}
