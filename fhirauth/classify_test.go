package fhirauth

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

func TestClassify(t *testing.T) {
	p := testPolicy(t)
	cases := []struct {
		method, url, body string
		headers           map[string]string
		want              Request
		reaches           []string
	}{
		{method: "GET", url: "/fhir/metadata", want: Request{Interaction: Capabilities}},
		{method: "GET", url: "/fhir/.well-known/smart-configuration", want: Request{Interaction: SMARTConfiguration}},
		{method: "GET", url: "/fhir/Patient/1", want: Request{Interaction: Read, ResourceType: "Patient", ID: "1"}, reaches: []string{"Patient"}},
		{method: "HEAD", url: "/fhir/Patient/1", want: Request{Interaction: Read, ResourceType: "Patient", ID: "1"}},
		{method: "GET", url: "/fhir/Patient/1/_history/3", want: Request{Interaction: VRead, ResourceType: "Patient", ID: "1", VersionID: "3"}},
		{method: "PUT", url: "/fhir/Patient/1", body: `{"resourceType":"Patient","id":"1"}`, want: Request{Interaction: Update, ResourceType: "Patient", ID: "1"}},
		{method: "PUT", url: "/fhir/Patient?identifier=x", body: `{"resourceType":"Patient"}`, want: Request{Interaction: Update, ResourceType: "Patient", Conditional: true}},
		{method: "PATCH", url: "/fhir/Patient/1", body: `[{"op":"remove","path":"/gender"}]`, want: Request{Interaction: Patch, ResourceType: "Patient", ID: "1", Patch: JSONPatch}},
		{method: "PATCH", url: "/fhir/Patient/1", body: `{"resourceType":"Parameters"}`, want: Request{Interaction: Patch, ResourceType: "Patient", ID: "1", Patch: FHIRPathPatch}},
		{method: "DELETE", url: "/fhir/Patient/1", want: Request{Interaction: Delete, ResourceType: "Patient", ID: "1"}},
		{method: "DELETE", url: "/fhir/Patient?identifier=x", want: Request{Interaction: Delete, ResourceType: "Patient", Conditional: true}},
		{method: "POST", url: "/fhir/Patient", body: `{"resourceType":"Patient"}`, want: Request{Interaction: Create, ResourceType: "Patient"}},
		{method: "POST", url: "/fhir/Patient", body: `{"resourceType":"Patient"}`, headers: map[string]string{"If-None-Exist": "identifier=x"}, want: Request{Interaction: Create, ResourceType: "Patient", Conditional: true}},
		{method: "GET", url: "/fhir/Patient?name=x", want: Request{Interaction: SearchType, ResourceType: "Patient"}},
		{method: "POST", url: "/fhir/Patient/_search", body: "name=x", want: Request{Interaction: SearchType, ResourceType: "Patient"}},
		{method: "GET", url: "/fhir?_type=Patient,Observation", want: Request{Interaction: SearchSystem}, reaches: []string{"Patient", "Observation"}},
		{method: "POST", url: "/fhir/_search", body: "_type=Patient", want: Request{Interaction: SearchSystem}, reaches: []string{"Patient"}},
		{method: "GET", url: "/fhir/Patient/1/Observation", want: Request{Interaction: SearchCompartment, ResourceType: "Observation", CompartmentType: "Patient", CompartmentID: "1"}},
		{method: "GET", url: "/fhir/Patient/1/_history", want: Request{Interaction: HistoryInstance, ResourceType: "Patient", ID: "1"}},
		{method: "GET", url: "/fhir/Patient/_history", want: Request{Interaction: HistoryType, ResourceType: "Patient"}},
		{method: "GET", url: "/fhir/_history", want: Request{Interaction: HistorySystem}},
		{method: "GET", url: "/fhir/$export", want: Request{Interaction: Operation, Operation: "export", Level: SystemLevel}, reaches: []string{"*"}},
		{method: "POST", url: "/fhir/Observation/$lastn", want: Request{Interaction: Operation, Operation: "lastn", Level: TypeLevel, ResourceType: "Observation"}},
		{method: "GET", url: "/fhir/Patient/1/$everything", want: Request{Interaction: Operation, Operation: "everything", Level: InstanceLevel, ResourceType: "Patient", ID: "1"}},
		{method: "POST", url: "/fhir", body: bundle("batch"), want: Request{Interaction: Batch}},
		{method: "POST", url: "/fhir", body: bundle("transaction"), want: Request{Interaction: Transaction}},
		{method: "GET", url: "/fhir?_getpages=abc", want: Request{Interaction: PageContinuation}},
		{method: "GET", url: "/fhir/Observation?_include=Observation:subject:Patient&_revinclude=Provenance:target&subject:Group.name=x&_has:Condition:subject:code=1",
			want: Request{Interaction: SearchType, ResourceType: "Observation"}, reaches: []string{"Observation", "Patient", "Provenance", "Group", "Condition"}},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.url, func(t *testing.T) {
			r := newRequest(tc.method, tc.url, tc.body, tc.headers)
			req, err := p.Classify(r)
			require.NoError(t, err)
			assert.Equal(t, tc.want.Interaction, req.Interaction)
			assert.Equal(t, tc.want.ResourceType, req.ResourceType)
			assert.Equal(t, tc.want.ID, req.ID)
			assert.Equal(t, tc.want.VersionID, req.VersionID)
			assert.Equal(t, tc.want.CompartmentType, req.CompartmentType)
			assert.Equal(t, tc.want.CompartmentID, req.CompartmentID)
			assert.Equal(t, tc.want.Operation, req.Operation)
			assert.Equal(t, tc.want.Level, req.Level)
			assert.Equal(t, tc.want.Conditional, req.Conditional)
			assert.Equal(t, tc.want.Patch, req.Patch)
			if tc.reaches != nil {
				var got []string
				for _, r := range req.Reaches {
					got = append(got, r.Type)
				}
				assert.ElementsMatch(t, tc.reaches, got)
			}
			if tc.body != "" && r.Body != nil {
				b, _ := io.ReadAll(r.Body)
				assert.Equal(t, tc.body, string(b), "the body is restored for the next handler")
			}
		})
	}
}

func TestClassifyMergesSearchForm(t *testing.T) {
	p := testPolicy(t)
	req, err := p.Classify(newRequest("POST", "/fhir/Observation/_search?code=a", "code=b&patient=123", nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, req.Params["code"])
	assert.Equal(t, []string{"123"}, req.Params["patient"])
	_, err = p.Classify(newRequest("POST", "/fhir/Observation/_search", `{"code":"x"}`, nil))
	assert.ErrorIs(t, err, ErrInvalidRequest, "a JSON body is not a search form")
}

// Request.Body of POST _search is the form as sent, and the request's body
// is still there, byte for byte, for the next handler.
func TestClassifySearchFormBody(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		name, url, form string
		params          url.Values
	}{
		{"type search", "/fhir/Observation/_search?code=a", "code=b&patient=123", url.Values{"code": {"a", "b"}, "patient": {"123"}}},
		{"system search", "/fhir/_search", "_type=Observation&code=x%20y", url.Values{"_type": {"Observation"}, "code": {"x y"}}},
		{"compartment search", "/fhir/Patient/123/Observation/_search", "code=c", url.Values{"code": {"c"}}},
		{"empty form", "/fhir/Observation/_search?code=a", "", url.Values{"code": {"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest("POST", tc.url, tc.form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			req, err := p.Classify(r)
			require.NoError(t, err)
			assert.Equal(t, tc.form, string(req.Body))
			assert.Equal(t, tc.params, req.Params)
			rest, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.form, string(rest), "the next handler reads the same form")
			if tc.form != "" {
				assert.Equal(t, int64(len(tc.form)), r.ContentLength)
				again, err := r.GetBody()
				require.NoError(t, err)
				b, _ := io.ReadAll(again)
				assert.Equal(t, tc.form, string(b))
			}
		})
	}
	req, err := p.Classify(newRequest("GET", "/fhir/Observation?code=a", "", nil))
	require.NoError(t, err)
	assert.Nil(t, req.Body, "a GET search has no body")
	// The same through Authorize, which the middleware calls.
	r := newRequest("POST", "/fhir/Observation/_search", "code=z", nil)
	req, d := p.Authorize(context.Background(), principal(t, "user/Observation.rs", ""), r)
	require.True(t, d.Allowed, d.Reason)
	assert.Equal(t, "code=z", string(req.Body))
	rest, _ := io.ReadAll(r.Body)
	assert.Equal(t, "code=z", string(rest))
}

func TestClassifyErrors(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		method, url, body string
		want              error
	}{
		{"GET", "/fhir/Patient/1/2/3/4/5", "", ErrInvalidRequest},
		{"POST", "/fhir/Patient/1", "{}", ErrInvalidRequest},
		{"PUT", "/fhir/Patient", `{"resourceType":"Patient"}`, ErrInvalidRequest},
		{"GET", "/fhir/Organization/1/Observation", "", ErrInvalidRequest},
		{"GET", "/fhir/Patient/a_b", "", ErrInvalidRequest},
		{"GET", "/fhir/Observation?_include=Observation", "", ErrInvalidRequest},
		{"GET", "/fhir/Observation?_count=-1", "", ErrInvalidRequest},
		{"GET", "/fhir/Observation?_type=Patient", "", ErrInvalidRequest},
		{"GET", "/fhir/Observation?bad%00name=1", "", ErrInvalidRequest},
		{"GET", "/fhir/Observation?x=%zz", "", ErrInvalidRequest},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"TRACE","url":"Patient/1"}}]}`, ErrInvalidRequest},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{}}]}`, ErrInvalidRequest},
		{"POST", "/fhir", `{not json`, ErrInvalidRequest},
		{"POST", "/fhir", `not json`, ErrUnsupported},
		{"POST", "/fhir", `{"resourceType":"Patient"}`, ErrInvalidRequest},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":""}}]}`, ErrInvalidRequest},
		{"POST", "/fhir/Observation", `{"resourceType":"Observation","id":"1","ID":"2"}`, ErrInvalidRequest},
		{"GET", "/fhir/Patient/1/$everything$x", "", ErrInvalidRequest},
		{"GET", "/fhir/Observation?_containedType=contained", "", ErrUnsupported},
		{"GET", "/fhir/Encounter/1/*", "", ErrUnsupported},
		{"PATCH", "/fhir/Patient/1", "", ErrInvalidRequest},
	} {
		t.Run(tc.method+" "+tc.url, func(t *testing.T) {
			_, err := p.Classify(newRequest(tc.method, tc.url, tc.body, nil))
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.want), "got %v", err)
		})
	}
}

func TestRootBasePath(t *testing.T) {
	p := testPolicy(t, WithBasePath("/"))
	req, err := p.Classify(newRequest("GET", "/Patient/1", "", nil))
	require.NoError(t, err)
	assert.Equal(t, Read, req.Interaction)
	req, err = p.Classify(newRequest("GET", "/metadata", "", nil))
	require.NoError(t, err)
	assert.Equal(t, Capabilities, req.Interaction)
}

func TestNewPolicyValidates(t *testing.T) {
	for name, opt := range map[string]Option{
		"version":             WithVersion(fhirspec.Version(9)),
		"base without slash":  WithBasePath("fhir"),
		"base trailing slash": WithBasePath("/fhir/"),
		"base dot segment":    WithBasePath("/a/../fhir"),
		"shared unknown":      WithSharedTypes("practitioner"),
		"shared compartment":  WithSharedTypes("Observation"),
		"op without levels":   WithOperation(OperationRule{Name: "x", Permission: 1}),
		"op without letters":  WithOperation(OperationRule{Name: "x", Levels: TypeLevel}),
		"op builtin":          WithOperation(OperationRule{Name: "$export", Levels: TypeLevel, Permission: 1}),
		"op unknown type":     WithOperation(OperationRule{Name: "x", Levels: TypeLevel, Permission: 1, Types: []string{"Nope"}}),
		"nil user rule":       WithUserRule(nil),
		"body size":           WithMaxBodySize(0),
		"nil option":          nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewPolicy(opt)
			assert.Error(t, err)
		})
	}
	// An operation registered twice: the second rule must not silently
	// replace the first.
	lastn := OperationRule{Name: "lastn", Levels: TypeLevel, Types: []string{"Observation"}, Permission: scope.Search, Search: true}
	wide := OperationRule{Name: "$lastn", Levels: SystemLevel | TypeLevel, Permission: scope.Read}
	_, err := NewPolicy(WithOperation(lastn), WithOperation(wide))
	assert.ErrorContains(t, err, "$lastn is registered twice")
}

// STU3's Observation has no "patient" compartment parameter: narrowing uses
// "subject".
func TestSTU3Narrowing(t *testing.T) {
	p := testPolicy(t, WithVersion(fhirspec.STU3))
	pr := principal(t, "patient/*.rs", "123")
	_, d := authorize(t, p, pr, "GET", "/fhir/Observation?code=x", "", nil)
	require.True(t, d.Allowed, d.Reason)
	assert.Equal(t, url.Values{"subject": {"Patient/123"}}, d.Narrow)
	_, d = authorize(t, p, pr, "GET", "/fhir/BodySite?x=1", "", nil) // STU3-only type
	assert.True(t, d.Allowed, d.Reason)
	_, d = authorize(t, testPolicy(t), pr, "GET", "/fhir/BodySite?x=1", "", nil) // not an R4 type
	assert.Equal(t, http.StatusBadRequest, d.Status)
}

func TestApplyToIsIdempotent(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, labOnly, "123")
	_, d := authorize(t, p, pr, "GET", "/fhir/Observation?patient=123&_elements=code", "", nil)
	require.True(t, d.Allowed, d.Reason)
	q := d.ApplyTo(url.Values{"patient": {"123"}})
	once := q.Encode()
	assert.Equal(t, once, d.ApplyTo(q).Encode())
	assert.Equal(t, []string{"123"}, q["patient"], "the bare own id already narrows patient")
	assert.Len(t, q["category"], 1)

	_, d = authorize(t, p, principal(t, "patient/*.rs", "123"), "GET", "/fhir/Observation/1?_elements=code&_format=xml", "", nil)
	q = d.ApplyTo(url.Values{"_elements": {"code"}, "_format": {"xml"}})
	assert.NotContains(t, q, "_elements", "a response check needs the whole resource")
	assert.Equal(t, []string{"json"}, q["_format"])

	// _summary=true leaves out an Observation's category, text its
	// subject: the check would hide the patient's own resource.
	for _, summary := range []string{"true", "text", "data", "false", "TRUE"} {
		q = d.ApplyTo(url.Values{"_summary": {summary}})
		assert.NotContains(t, q, "_summary", summary)
	}
	q = d.ApplyTo(url.Values{"_summary": {"count"}})
	assert.Equal(t, []string{"count"}, q["_summary"], "a count holds no resource to check")
	q = d.ApplyTo(url.Values{"_summary": {"count", "text"}})
	assert.NotContains(t, q, "_summary")
}

func TestDecideConcurrently(t *testing.T) {
	p := testPolicy(t)
	cases := decisionCases(t)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range cases {
				if tc.policy != nil || tc.noToken {
					continue
				}
				pr := principal(t, tc.scopes, tc.patient)
				_, d := p.Authorize(context.Background(), pr, newRequest(tc.method, tc.url, tc.body, tc.headers))
				if d.Allowed != tc.allow {
					t.Errorf("%s: allowed=%v", tc.name, d.Allowed)
				}
			}
		}()
	}
	wg.Wait()
}

func TestDecideNil(t *testing.T) {
	p := testPolicy(t)
	d := p.Decide(context.Background(), principal(t, "user/*.*", ""), nil)
	assert.False(t, d.Allowed)
	assert.Equal(t, 400, d.Status)
}

// TestChangesQueryAgreesWithApplyTo checks ChangesQuery against what
// ApplyTo does to a copy of the same query, for decisions that narrow by
// patient, subject, _id and category, that check responses (which remove
// _elements and _summary and force a JSON _format), and that do neither, over random
// queries built from the names and values those rules look at.
func TestChangesQueryAgreesWithApplyTo(t *testing.T) {
	p := testPolicy(t)
	patientAll := principal(t, "patient/*.rs", "123")
	var decisions []*Decision
	for _, c := range []struct {
		pr     *token.Principal
		target string
	}{
		{patientAll, "/fhir/Observation?code=1"},            // narrow patient=Patient/123
		{patientAll, "/fhir/Patient?name=x"},                // narrow _id=123
		{patientAll, "/fhir/Observation?_include=*"},        // narrow and check the response
		{patientAll, "/fhir/Observation/1"},                 // check the response only
		{principal(t, labOnly, "123"), "/fhir/Observation"}, // patient and category
		{principal(t, "user/*.rs", ""), "/fhir/Observation?code=1"},
	} {
		_, d := authorize(t, p, c.pr, "GET", c.target, "", nil)
		require.True(t, d.Allowed, "%s: %s", c.target, d.Reason)
		decisions = append(decisions, d)
	}
	require.True(t, decisions[2].NeedsResponseCheck() && decisions[3].NeedsResponseCheck())
	names := []string{"patient", "subject", "_id", "category", "_elements", "_format", "_summary", "code"}
	values := []string{"123", "Patient/123", "Patient/456", "456", "json", "xml", "application/fhir+json", "application/json", "count", "text",
		"http://terminology.hl7.org/CodeSystem/observation-category|laboratory", "laboratory", "", "id"}
	rng := rand.New(rand.NewPCG(8, 27))
	changed := map[bool]int{}
	for range 20000 {
		q := url.Values{}
		for range rng.IntN(5) {
			k := names[rng.IntN(len(names))]
			q[k] = append(q[k], values[rng.IntN(len(values))])
		}
		d := decisions[rng.IntN(len(decisions))]
		before := q.Encode()
		got := d.ChangesQuery(q)
		require.Equal(t, before, q.Encode(), "ChangesQuery modified the query")
		copied := url.Values{}
		for k, vs := range q {
			copied[k] = slices.Clone(vs)
		}
		want := d.ApplyTo(copied).Encode() != before
		require.Equal(t, want, got, "query %q, narrow %v, response check %v", before, d.Narrow, d.NeedsResponseCheck())
		changed[got]++
	}
	assert.Greater(t, changed[true], 1000, "the random queries exercise both answers")
	assert.Greater(t, changed[false], 1000, "the random queries exercise both answers")
}

// MethodOverride names the first of methodOverrideHeaders a request has,
// as a lookup of each in order would, in small maps (walked) and large
// ones (looked up).
func TestMethodOverride(t *testing.T) {
	names := append(methodOverrideHeaders[:], "X-Http", "X-Http-Method-Overrides", "X-Method", "Authorization", "Accept", "User-Agent", "X-A", "X-B", "Y-Http-Method")
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := map[bool]int{}
	for range 5000 {
		h := http.Header{}
		for range rng.IntN(12) {
			h[names[rng.IntN(len(names))]] = []string{"DELETE"}
		}
		want := ""
		for _, name := range methodOverrideHeaders {
			if _, ok := h[name]; ok {
				want = name
				break
			}
		}
		assert.Equal(t, want, MethodOverride(h), "%v", h)
		sizes[len(h) > 2*len(methodOverrideHeaders)]++
	}
	assert.Positive(t, sizes[true], "large maps")
	assert.Positive(t, sizes[false], "small maps")
}
