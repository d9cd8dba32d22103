package fhirauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
)

// Servers page with opaque tokens in parameters that look like any other
// (Azure's ct, Cerner's -pageContext, HealthLake's page), and a token may
// carry a whole earlier search, another patient's included, while the
// server ignores the rest of the query. A search with a parameter that is
// neither a search parameter of its type in the release nor a result
// parameter fhirauth reads is therefore checked entry by entry, as a
// _getpages page is, narrowed or not; the parameter still goes to the
// server. A search with known parameters only is not checked.
func TestSearchWithUnknownParameterIsChecked(t *testing.T) {
	r4, stu3 := testPolicy(t), testPolicy(t, WithVersion(fhirspec.STU3))
	const (
		pat  = "launch/patient patient/*.rs"
		user = "user/*.rs"
	)
	for _, tc := range []struct {
		p                   *Policy
		scopes, method, url string
		body                string
		check               bool
	}{
		// Paging tokens and other unknown names: checked.
		{r4, pat, "GET", "/fhir/Observation?code=x&ct=W3sidG9rZW4iOm51bGx9XQ", "", true},
		{r4, pat, "GET", "/fhir/Observation?-pageContext=abc&-pageDirection=NEXT", "", true},
		{r4, pat, "GET", "/fhir/Observation?page=abc", "", true},
		{r4, pat, "GET", "/fhir/Observation?ct:exact=abc", "", true},
		{r4, "user/Observation.rs user/Patient.rs", "GET", "/fhir/Observation?ct:Patient.name=abc", "", true},
		{r4, pat, "GET", "/fhir/Observation?CODE=x", "", true},              // names are case-sensitive
		{r4, pat, "GET", "/fhir/Observation?birthdate=2000", "", true},      // another type's parameter
		{r4, pat, "GET", "/fhir/Observation?context=Encounter/1", "", true}, // STU3's, not R4's
		{r4, pat, "GET", "/fhir/Observation?_page=2", "", true},             // not FHIR's; its value is not read
		{stu3, pat, "GET", "/fhir/Observation?_source=http://x", "", true},  // R4's, not STU3's
		{r4, pat, "GET", "/fhir/Patient/123/Observation?ct=abc", "", true},
		{r4, pat, "POST", "/fhir/Observation/_search", "code=x&ct=abc", true},
		{r4, pat, "POST", "/fhir/Observation/_search?ct=abc", "code=x", true},
		{r4, pat, "GET", "/fhir/Patient?ct=abc", "", true},
		{r4, "user/Observation.rs", "GET", "/fhir/Observation?ct=abc", "", true},
		{r4, "user/*.rs?category=laboratory", "GET", "/fhir/Observation?ct=abc", "", true},
		{r4, "user/Observation.rs user/Patient.rs", "GET", "/fhir?_type=Observation&ct=abc", "", true},
		{r4, "user/Observation.rs", "GET", "/fhir?_type=Observation&code=x", "", true}, // only the parameters for all types are known without a type
		// Known parameters, with modifiers and chains by their base name:
		// not checked.
		{r4, pat, "GET", "/fhir/Observation?code=8867-4&_count=50", "", false},
		{r4, pat, "GET", "/fhir/Observation?patient=123", "", false},
		{r4, pat, "GET", "/fhir/Observation?code:text=x&date=ge2020&value-quantity=5&combo-code-value-quantity=a$5&_sort=-date&_summary=false&_total=accurate&_format=json&_pretty=true&_offset=0", "", false},
		{r4, pat, "GET", "/fhir/Observation?code:missing=false&_id=1&_lastUpdated=gt2020&_tag=a|b&_profile=http://p&_security=s&_source=http://x&_text=t&_content=c", "", false},
		{r4, pat, "GET", "/fhir/Observation?_elements=code&_contained=false&_containedType=container", "", false},
		{stu3, pat, "GET", "/fhir/Observation?context=Encounter/1", "", false},
		{r4, pat, "POST", "/fhir/Observation/_search", "code=x&date=ge2020", false},
		{r4, pat, "GET", "/fhir/Encounter?status=finished&date=2000", "", false},
		{r4, "user/Observation.rs", "GET", "/fhir/Observation?code=x&subject=Patient/9", "", false},
		{r4, user, "GET", "/fhir/Observation?subject:Patient.name=x&patient.birthdate=2000", "", false},
		{r4, user, "GET", "/fhir/Patient?_has:Observation:patient:code=x", "", false},
		{r4, user, "GET", "/fhir?_type=Observation,Condition&_lastUpdated=gt2020", "", false},
		// A token that may search every type without constraint, outside
		// patient context: whatever a page token replays, nothing could be
		// withheld, so nothing is checked (and the page streams).
		{r4, user, "GET", "/fhir/Observation?ct:Patient.name=abc", "", false},
		{r4, user, "GET", "/fhir?_type=Observation&ct=abc", "", false},
		{r4, user, "GET", "/fhir/Observation?_page=2", "", false},
		{r4, "user/Observation.rs user/*.rs", "GET", "/fhir/Observation?ct=abc", "", false},
		{r4, "system/*.rs", "GET", "/fhir/Observation?ct=abc", "", false},
		{r4, "system/*.cruds", "GET", "/fhir/Observation?-pageContext=abc", "", false},
		{r4, "user/*.read", "GET", "/fhir/Observation?page=abc", "", false},
	} {
		pr := principal(t, tc.scopes, "123")
		if !strings.HasPrefix(tc.scopes, "launch/patient") {
			pr = principal(t, tc.scopes, "")
		}
		_, d := authorize(t, tc.p, pr, tc.method, tc.url, tc.body, nil)
		require.True(t, d.Allowed, "%s %s: %d %s", tc.method, tc.url, d.Status, d.Reason)
		assert.Equal(t, tc.check, d.NeedsResponseCheck(), "%v %s %s %s", tc.p.Version(), tc.method, tc.url, tc.body)
		assert.Equal(t, tc.check, d.NeedsResponseCheck() && d.ResponseIsBundle(), "%s %s: a Bundle check", tc.method, tc.url)
	}
}

// The page a token returns is held to the token's grant entry by entry,
// whatever search it replays: another patient's resources are removed,
// the narrowing is kept, and a HEAD, whose answer could not be checked,
// is refused. In a batch the entry is checked the same way.
func TestPagingTokenPageIsFiltered(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "launch/patient patient/*.rs", "123")
	_, d := authorize(t, p, pr, "GET", "/fhir/Observation?ct=abc", "", nil)
	require.True(t, d.Allowed, d.Reason)
	assert.Equal(t, []string{"Patient/123"}, d.Narrow["patient"])
	page := `{"resourceType":"Bundle","type":"searchset","total":2,"entry":[{"resource":` + obsOf456 + `},{"resource":` + obsOf123 + `},{"resource":` + patient456 + `}]}`
	out, removed, err := d.CheckResponse(http.StatusOK, []byte(page))
	require.NoError(t, err)
	assert.Equal(t, 2, removed)
	assert.NotContains(t, string(out), "456")
	assert.Contains(t, string(out), "Patient/123")
	assert.NotContains(t, string(out), "total")

	_, d = authorize(t, p, pr, "HEAD", "/fhir/Observation?-pageContext=abc", "", nil)
	assert.False(t, d.Allowed)
	assert.Equal(t, http.StatusBadRequest, d.Status, d.Reason)

	batch := `{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"request":{"method":"GET","url":"Observation?ct=abc"}},` +
		`{"request":{"method":"GET","url":"Observation?code=x"}}]}`
	_, d = authorize(t, p, pr, "POST", "/fhir", batch, nil)
	require.True(t, d.Allowed, d.Reason)
	require.Len(t, d.Entries, 2)
	assert.True(t, d.Entries[0].NeedsResponseCheck(), "entry with ct")
	assert.False(t, d.Entries[1].NeedsResponseCheck(), "entry with known parameters")
}

// The check for unknown parameters runs on every search: it must not
// allocate, whatever the names look like.
func TestKnownParamsDoesNotAllocate(t *testing.T) {
	p := testPolicy(t)
	known := url.Values{"code:text": {"x"}, "subject:Patient.name": {"x"}, "_count": {"50"}, "_has:Observation:patient:code": {"x"}, "date": {"ge2020"}}
	unknown := url.Values{"code": {"x"}, "-pageContext": {"abc"}}
	common := url.Values{"_id": {"1"}}
	allocs := testing.AllocsPerRun(100, func() {
		if !p.knownParams("Observation", known) || p.knownParams("Observation", unknown) || !p.knownParams("*", common) {
			t.Fatal("wrong answer")
		}
	})
	assert.Zero(t, allocs)
}

// A token that may search (or read) every type without constraint,
// outside patient context, gets no response check on any request that
// would otherwise be checked for paging or reach, because the check could
// withhold nothing: forced on, it keeps a Bundle holding a resource of
// every type of the release. The same Bundle under a token for fewer
// types loses entries, so the comparison can fail.
func TestEveryTypeTokenNeedsNoResponseCheck(t *testing.T) {
	p := testPolicy(t)
	var all strings.Builder
	all.WriteString(`{"resourceType":"Bundle","type":"searchset","entry":[`)
	for i, rt := range p.allTypes {
		if i > 0 {
			all.WriteByte(',')
		}
		fmt.Fprintf(&all, `{"resource":{"resourceType":%q,"id":"x%d"}}`, rt, i)
	}
	all.WriteString(`]}`)
	requests := []struct{ method, url string }{
		{"GET", "/fhir/Observation?ct=abc"},
		{"GET", "/fhir/Observation?_include=*"},
		{"GET", "/fhir?_getpages=abc&_getpagesoffset=10"},
		{"GET", "/fhir/Observation/_history?_page=2"},
		{"GET", "/fhir/_history?_page=2"},
		{"GET", "/fhir/Observation/1/_history?_page=2"},
		{"GET", "/fhir/Patient/1/$everything"},
	}
	for _, scopes := range []string{"user/*.rs", "system/*.rs", "system/*.cruds", "user/*.read", "user/*.rs user/Observation.rs?category=laboratory"} {
		for _, rq := range requests {
			_, d := authorize(t, p, principal(t, scopes, ""), rq.method, rq.url, "", nil)
			require.True(t, d.Allowed, "%s %s: %s", scopes, rq.url, d.Reason)
			assert.False(t, d.NeedsResponseCheck(), "%s %s", scopes, rq.url)
			forced := *d
			forced.response = responseCheck{on: true, bundle: true, letters: scope.Search | scope.Read}
			_, removed, err := forced.filterBundle([]byte(all.String()))
			require.NoError(t, err)
			assert.Zero(t, removed, "%s %s: a check would have withheld something", scopes, rq.url)
		}
	}
	for _, scopes := range []string{"user/Observation.rs user/Patient.rs", "user/*.rs?category=laboratory", "launch/patient patient/*.rs"} {
		pat := ""
		if strings.HasPrefix(scopes, "launch/patient") {
			pat = "1"
		}
		_, d := authorize(t, p, principal(t, scopes, pat), "GET", "/fhir?_getpages=abc", "", nil)
		require.True(t, d.Allowed, "%s: %s", scopes, d.Reason)
		require.True(t, d.NeedsResponseCheck(), scopes)
		_, removed, err := d.filterBundle([]byte(all.String()))
		require.NoError(t, err)
		assert.Positive(t, removed, scopes)
	}
}
