package fhirauth

// Attacks on filterBundle by a naive or hostile server that hides B's
// (Patient/456's) data outside entry[].resource, where the check does not
// look: Bundle-level members, entry members other than resource,
// OperationOutcomes carrying resources, fullUrls and links naming B. The
// filtered Bundle must hold nothing but its allow-list (filteredShape).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	// leakB is B's data as a hostile server would smuggle it.
	leakB   = `{"resourceType":"Patient","id":"456","name":[{"family":"LEAKED"}]}`
	ooB     = `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}],"contained":[` + leakB + `]}`
	plainOO = `{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational","diagnostics":"fine"}]}`
)

// filteredShape returns an error when out (a filterBundle result) holds
// anything outside filterBundle's allow-list, or a resource the decision
// refuses. It reads out with its own strictness: any two keys of an
// object that are equal under case folding are an error.
func filteredShape(d *Decision, out []byte, history bool) error {
	top, err := shapeMembers(out, "resourceType", "id", "meta", "type", "link", "entry")
	if err != nil {
		return fmt.Errorf("Bundle: %w", err)
	}
	if string(top["resourceType"]) != `"Bundle"` {
		return errors.New("resourceType is not Bundle")
	}
	for _, k := range []string{"id", "type"} {
		if v, ok := top[k]; ok && v[0] != '"' {
			return fmt.Errorf("%s is not a string", k)
		}
	}
	if meta, ok := top["meta"]; ok {
		m, err := shapeMembers(meta, "versionId", "lastUpdated")
		if err != nil || len(m) == 0 {
			return fmt.Errorf("meta: %v (%d members)", err, len(m))
		}
	}
	if links, ok := top["link"]; ok {
		var ls []json.RawMessage
		if err := json.Unmarshal(links, &ls); err != nil || len(ls) == 0 {
			return fmt.Errorf("link: %v", err)
		}
		for _, l := range ls {
			m, err := shapeMembers(l, "relation", "url")
			if err != nil || len(m) != 2 {
				return fmt.Errorf("link: %v: %s", err, l)
			}
		}
	}
	entries, ok := top["entry"]
	if !ok {
		return nil
	}
	var es []json.RawMessage
	if err := json.Unmarshal(entries, &es); err != nil || len(es) == 0 {
		return fmt.Errorf("entry: %v (%d)", err, len(es))
	}
	entryNames := []string{"fullUrl", "resource", "search"}
	if history {
		entryNames = append(entryNames, "request", "response")
	}
	for i, e := range es {
		m, err := shapeMembers(e, entryNames...)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		res, ok := m["resource"]
		if !ok {
			return fmt.Errorf("entry %d has no resource", i)
		}
		for k, names := range map[string][]string{"search": {"mode", "score"}, "request": {"method", "url"}, "response": {"status", "etag", "lastModified"}} {
			if v, ok := m[k]; ok {
				if sub, err := shapeMembers(v, names...); err != nil || len(sub) == 0 {
					return fmt.Errorf("entry %d %s: %v", i, k, err)
				}
			}
		}
		rt, id, err := resourceHeader(res)
		if err != nil {
			return fmt.Errorf("entry %d resource: %w", i, err)
		}
		if rt == "OperationOutcome" {
			if _, err := shapeMembers(res, operationOutcomeElements...); err != nil {
				return fmt.Errorf("entry %d OperationOutcome: %w", i, err)
			}
		} else if err := d.allowResource(rt, res, d.response.letters); err != nil {
			return fmt.Errorf("entry %d: kept a resource the check refuses: %w", i, err)
		}
		if u, ok := m["fullUrl"]; ok {
			var s string
			_ = json.Unmarshal(u, &s)
			// The base may not name B as a patient, in any letter case
			// and percent-encoded or not (".../Patient/456/" names B);
			// "456" as a host or a bare path segment names a server.
			named, err := url.QueryUnescape(s)
			if err != nil {
				return fmt.Errorf("entry %d: kept a fullUrl that does not decode: %s", i, u)
			}
			if !strings.HasSuffix("/"+s, "/"+rt+"/"+id) || strings.Contains(strings.ToLower(named), "patient/456") {
				return fmt.Errorf("entry %d: fullUrl %s does not name %s/%s", i, u, rt, id)
			}
		}
	}
	return nil
}

// shapeMembers decodes the members of one JSON object, refusing keys
// outside names and keys equal under case folding.
func shapeMembers(raw []byte, names ...string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %s", raw)
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k := tok.(string)
		for have := range m {
			if strings.EqualFold(have, k) {
				return nil, fmt.Errorf("keys %q and %q", have, k)
			}
		}
		if !containsString(names, k) {
			return nil, fmt.Errorf("member %q is not allowed", k)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

func TestAttackFilterBundleLeaks(t *testing.T) {
	everything := decisionFor(t, "/fhir/Patient/123/$everything", patientAll)
	history := decisionFor(t, "/fhir/Observation/1/_history", patientAll)
	a := `{"resource":` + obsOf123 + `}`
	bundle := func(members string, entries ...string) string {
		if members != "" {
			members += ","
		}
		return `{"resourceType":"Bundle",` + members + `"type":"searchset","entry":[` + strings.Join(entries, ",") + `]}`
	}
	cases := []struct {
		name    string
		d       *Decision
		body    string
		removed int
		kept    []string // must survive
	}{
		// Bundle-level members.
		{"Bundle.issues holding B", everything, bundle(`"issues":`+ooB, a), 0, []string{`"Patient/123"`}},
		{"Bundle.issues as a plain Patient", everything, bundle(`"issues":`+leakB, a), 0, nil},
		{"Bundle.signature", everything, bundle(`"signature":{"type":[],"data":"NDU2IExFQUtFRA==","who":{"reference":"Patient/456"}}`, a), 0, nil},
		{"unknown Bundle member", everything, bundle(`"x-leak":`+leakB, a), 0, nil},
		{"Bundle.total counts B", everything, bundle(`"total":456`, a), 0, nil},
		{"Bundle.timestamp, identifier, language", everything, bundle(`"timestamp":"456","identifier":{"value":"456"},"language":"456","implicitRules":"http://x/Patient/456"`, a), 0, nil},
		{"Bundle.meta extension", everything, bundle(`"meta":{"lastUpdated":"2024-01-01T00:00:00Z","extension":[{"url":"x","valueReference":{"reference":"Patient/456"}}],"tag":[{"display":"456"}],"source":"456"}`, a), 0, []string{`"meta":{"lastUpdated":"2024-01-01T00:00:00Z"}`}},
		{"Bundle.meta with a case-variant key", everything, bundle(`"meta":{"lastUpdated":"x","LastUpdated":"456"}`, a), 0, nil},
		{"Bundle.id that is an object", everything, bundle(`"id":`+leakB, a), 0, nil},
		// Links.
		{"link naming B", everything, bundle(`"link":[{"relation":"self","url":"http://x/fhir/Observation?patient=Patient/123"},{"relation":"next","url":"http://x/fhir/Observation?patient=Patient/456"}]`, a), 0, []string{`"url":"http://x/fhir/Observation?patient=Patient/123"`}},
		{"link naming B, percent-encoded", everything, bundle(`"link":[{"relation":"next","url":"http://x/fhir/Observation?patient=Patient%2F456"}]`, a), 0, nil},
		{"link with a bad escape", everything, bundle(`"link":[{"relation":"next","url":"http://x/fhir/Observation?patient=%zz"}]`, a), 0, nil},
		{"link carrying extra members", everything, bundle(`"link":[{"relation":"next","url":"http://x/fhir?_getpages=abc","extension":[{"valueReference":{"reference":"Patient/456"}}],"x":`+leakB+`}]`, a), 0, []string{`"link":[{"relation":"next","url":"http://x/fhir?_getpages=abc"}]`}},
		{"link with duplicate url keys", everything, bundle(`"link":[{"relation":"next","url":"http://x/fhir?_getpages=abc","url":"http://x/fhir/Patient/456"}]`, a), 0, nil},
		{"link that is not an array", everything, bundle(`"link":{"relation":"next","url":"Patient/456"}`, a), 0, nil},
		// Entry members other than resource.
		{"response.outcome holding B", everything, bundle("", `{"resource":`+obsOf123+`,"response":{"status":"200","outcome":`+leakB+`}}`), 0, []string{`"Patient/123"`}},
		{"response.location naming B", everything, bundle("", `{"resource":`+obsOf123+`,"response":{"status":"200","location":"Patient/456"}}`), 0, nil},
		{"request naming B in a searchset", everything, bundle("", `{"resource":`+obsOf123+`,"request":{"method":"GET","url":"Patient/456"}}`), 0, nil},
		{"search carrying B", everything, bundle("", `{"resource":`+obsOf123+`,"search":{"mode":"match","score":0.5,"extension":[{"valueString":"456"}],"x":`+leakB+`}}`), 0, []string{`"search":{"mode":"match","score":0.5}`}},
		{"search.mode that is an object", everything, bundle("", `{"resource":`+obsOf123+`,"search":{"mode":`+leakB+`}}`), 0, nil},
		{"search with duplicate mode keys", everything, bundle("", a, `{"resource":`+obsOf123+`,"search":{"mode":"match","mode":"456"}}`), 1, nil},
		{"search that is not an object", everything, bundle("", a, `{"resource":`+obsOf123+`,"search":"456"}`), 1, nil},
		{"unknown entry member", everything, bundle("", `{"resource":`+obsOf123+`,"x-leak":`+leakB+`}`), 0, nil},
		{"entry.link naming B", everything, bundle("", `{"link":[{"relation":"alternate","url":"http://x/fhir/Patient/456"}],"resource":`+obsOf123+`}`), 0, nil},
		{"case-variant entry member", everything, bundle("", a, `{"resource":`+obsOf123+`,"Search":{"mode":"456"}}`), 1, nil},
		// fullUrl.
		{"fullUrl naming B", everything, bundle("", `{"fullUrl":"http://x/fhir/Patient/456","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with B in the base", everything, bundle("", `{"fullUrl":"http://x/fhir/Patient/456/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with B in the base, upper case", everything, bundle("", `{"fullUrl":"http://x/fhir/PATIENT/456/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with B in the base, mixed case", everything, bundle("", `{"fullUrl":"http://x/fhir/pAtIeNt/456/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with B percent-encoded in the base", everything, bundle("", `{"fullUrl":"http://x/fhir/Patient%2F456/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with B in a query", everything, bundle("", `{"fullUrl":"http://x/fhir/Observation/1?p=456","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl as a urn", everything, bundle("", `{"fullUrl":"urn:uuid:00000000-0000-0000-0000-000000000456","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl that is an object", everything, bundle("", `{"fullUrl":`+leakB+`,"resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl of another resource of A", everything, bundle("", `{"fullUrl":"http://x/fhir/Observation/2","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl without a scheme", everything, bundle("", `{"fullUrl":"://456/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl without a host", everything, bundle("", `{"fullUrl":"http:///Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with user info", everything, bundle("", `{"fullUrl":"http://456@x/fhir/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl of another scheme", everything, bundle("", `{"fullUrl":"ftp://x/fhir/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with a space in the host", everything, bundle("", `{"fullUrl":"http://x y/fhir/Observation/1","resource":`+obsOf123+`}`), 0, nil},
		{"fullUrl with a port is kept", everything, bundle("", `{"fullUrl":"https://x:8443/fhir/Observation/1","resource":`+obsOf123+`}`), 0, []string{`"fullUrl":"https://x:8443/fhir/Observation/1"`}},
		{"fullUrl naming the resource is kept", everything, bundle("", `{"fullUrl":"http://x/fhir/Observation/1","resource":`+obsOf123+`}`), 0, []string{`"fullUrl":"http://x/fhir/Observation/1"`}},
		{"relative fullUrl naming the resource is kept", everything, bundle("", `{"fullUrl":"Patient/123","resource":`+patient123+`}`), 0, []string{`"fullUrl":"Patient/123"`}},
		// OperationOutcome entries.
		{"OperationOutcome containing B", everything, bundle("", a, `{"resource":`+ooB+`,"search":{"mode":"outcome"}}`), 1, nil},
		{"OperationOutcome with a case-variant contained", everything, bundle("", a, `{"resource":{"resourceType":"OperationOutcome","issue":[],"Contained":[`+leakB+`]}}`), 1, nil},
		{"OperationOutcome with an unknown member", everything, bundle("", a, `{"resource":{"resourceType":"OperationOutcome","issue":[],"patient":`+leakB+`}}`), 1, nil},
		{"OperationOutcome with duplicate issues", everything, bundle("", a, `{"resource":{"resourceType":"OperationOutcome","issue":[],"issue":[{"diagnostics":"456"}]}}`), 1, nil},
		{"plain OperationOutcome is kept", everything, bundle("", `{"resource":`+plainOO+`,"search":{"mode":"outcome"}}`), 0, []string{`"diagnostics":"fine"`, `"mode":"outcome"`}},
		// Resources read ambiguously by clients.
		{"A's Observation with duplicate notes", everything, bundle("", `{"resource":{"resourceType":"Observation","id":"1","subject":{"reference":"Patient/123"},"note":[{"text":"ok"}],"note":[{"text":"456"}]}}`), 1, nil},
		{"A's Observation with a Unicode case-variant key", everything, bundle("", `{"resource":{"resourceType":"Observation","id":"1","subject":{"reference":"Patient/123"},"status":"final","ſtatus":"456"}}`), 1, nil},
		{"A's Patient with a Kelvin-sign link", everything, bundle("", `{"resource":{"resourceType":"Patient","id":"123","link":[],"lin`+"\u212a"+`":[{"other":{"reference":"Patient/456"}}]}}`), 1, nil},
		// History Bundles keep request and response, without what leaks.
		{"history: request and response", history, `{"resourceType":"Bundle","type":"history","entry":[{"resource":` + obsOf123 + `,"request":{"method":"PUT","url":"Observation/1","ifMatch":"456"},"response":{"status":"200 OK","etag":"W/\"2\"","location":"Patient/456","outcome":` + leakB + `}}]}`, 0, []string{`"request":{"method":"PUT","url":"Observation/1"}`, `"response":{"status":"200 OK","etag":"W/\"2\""}`}},
		{"history: request naming B", history, `{"resourceType":"Bundle","type":"history","entry":[{"resource":` + obsOf123 + `,"request":{"method":"PUT","url":"Patient/456"}}]}`, 0, nil},
		{"history: request with a query", history, `{"resourceType":"Bundle","type":"history","entry":[{"resource":` + obsOf123 + `,"request":{"method":"PUT","url":"Observation?patient=456"}}]}`, 0, nil},
		{"history: ambiguous request", history, `{"resourceType":"Bundle","type":"history","entry":[` + a + `,{"resource":` + obsOf123 + `,"request":{"method":"PUT","url":"Observation/1","URL":"Patient/456"}}]}`, 1, nil},
		{"history: response that is not an object", history, `{"resourceType":"Bundle","type":"history","entry":[` + a + `,{"resource":` + obsOf123 + `,"response":"456"}]}`, 1, nil},
		{"searchset: request and response dropped", everything, bundle("", `{"resource":`+obsOf123+`,"request":{"method":"PUT","url":"Observation/1"},"response":{"status":"200 OK"}}`), 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tc.body)), "test input is JSON: %s", tc.body)
			for seed := range int64(8) {
				agree(t, tc.d, []byte(tc.body), seed) // checked as it streams, the same
			}
			out, removed, err := tc.d.filterBundle([]byte(tc.body))
			require.NoError(t, err)
			assert.Equal(t, tc.removed, removed)
			assert.NoError(t, filteredShape(tc.d, out, strings.Contains(tc.body, `"type":"history"`)), "%s", out)
			assert.NotContains(t, string(out), "456", "nothing of B survives: %s", out)
			assert.NotContains(t, string(out), "LEAKED")
			for _, k := range tc.kept {
				assert.Contains(t, string(out), k)
			}
			if !strings.Contains(tc.name, "is kept") && tc.removed == 0 && len(tc.kept) == 0 {
				assert.Contains(t, string(out), `"entry":[{"resource":`+obsOf123, "A's entry stays, stripped")
			}
		})
	}
}

// A base whose path merely holds another patient's id as a segment
// ("http://0/456/") names a server, not that patient: the fullUrl stays.
// FuzzResponseCheck holds its oracle to the same rule (seed
// 47758cbf49c81f70).
func TestFilterBundleKeepsFullURLUnderNumericBase(t *testing.T) {
	p := testPolicy(t)
	everything := p.Decide(context.Background(), principal(t, patientAll, "123"), mustClassify(t, p, "/fhir/Patient/123/$everything"))
	for _, base := range []string{"http://0/456/", "https://456:8443/fhir/", "http://x/Patient/123/"} {
		full := base + "Observation/1"
		body := `{"resourceType":"Bundle","entry":[{"fullUrl":"` + full + `","resource":` + obsOf123 + `}]}`
		out, removed, err := everything.filterBundle([]byte(body))
		require.NoError(t, err)
		assert.Zero(t, removed)
		assert.Contains(t, string(out), `"fullUrl":"`+full+`"`)
		require.NoError(t, filteredShape(everything, out, false))
	}
}

// indexFold finds "patient/" where a search of the lower-cased string
// would, on fixed and random strings of its letters in both cases, '/'
// and bytes that fold into them under a careless |0x20 (0x0f into '/').
func TestIndexFold(t *testing.T) {
	check := func(s string) {
		t.Helper()
		assert.Equal(t, strings.Index(strings.ToLower(s), "patient/"), indexFold(s, "patient/"), "%q", s)
	}
	for _, s := range []string{"", "/", "patient/", "Patient/", "PATIENT/1", "xpAtIeNt/", "atient/", "patient", "a/b/patient/x", "patien/patient/", "patient\x0f", "\x0fpatient/", "pa/tient/patient//", "PATIENT\x0fpatient/"} {
		check(s)
	}
	const alphabet = "pPaAtTiIeEnN/x\x0f0"
	rng := rand.New(rand.NewPCG(3, 4))
	found := 0
	for range 20000 {
		var b []byte
		for range rng.IntN(20) {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		if rng.IntN(2) == 0 {
			// plant a case variant of the word
			at := rng.IntN(len(b) + 1)
			w := []byte("patient/")
			for i := range w {
				if rng.IntN(2) == 0 && w[i] != '/' {
					w[i] -= 'a' - 'A'
				}
			}
			b = append(b[:at], append(w, b[at:]...)...)
		}
		if indexFold(string(b), "patient/") >= 0 {
			found++
		}
		check(string(b))
	}
	assert.Greater(t, found, 5000, "the random strings hold the word often")
}

// Ambiguous Bundle-level members make the whole Bundle an error: a client
// could read the other spelling.
func TestAttackFilterBundleAmbiguousBundle(t *testing.T) {
	d := decisionFor(t, "/fhir/Patient/123/$everything", patientAll)
	for name, body := range map[string]string{
		"case-variant total":  `{"resourceType":"Bundle","total":1,"Total":456,"entry":[]}`,
		"case-variant link":   `{"resourceType":"Bundle","link":[],"LINK":[{"relation":"next","url":"Patient/456"}]}`,
		"duplicate type":      `{"resourceType":"Bundle","type":"searchset","type":"456"}`,
		"case-variant meta":   `{"resourceType":"Bundle","meta":{},"Meta":{"source":"456"}}`,
		"escaped unknown key": `{"resourceType":"Bundle","x\u0041":1,"entry":[]}`,
		"entry is null":       `{"resourceType":"Bundle","entry":null}`,
		"resourceType number": `{"resourceType":1,"entry":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := d.filterBundle([]byte(body))
			assert.ErrorIs(t, err, ErrNotJSON)
			assert.Nil(t, out)
			agree(t, d, []byte(body), 1) // refused as it streams too
		})
	}
}

// CheckEntry applies the OperationOutcome and ambiguous-key rules too, so
// servers filtering natively agree with filterBundle.
func TestCheckEntryOperationOutcomeAndKeys(t *testing.T) {
	d := decisionFor(t, "/fhir/Patient/123/$everything", patientAll)
	assert.NoError(t, d.checkEntry([]byte(plainOO)))
	assert.ErrorIs(t, d.checkEntry([]byte(ooB)), ErrConstraint)
	assert.ErrorIs(t, d.checkEntry([]byte(`{"resourceType":"OperationOutcome","issue":[],"x":1}`)), ErrConstraint)
	assert.ErrorIs(t, d.checkEntry([]byte(`{"resourceType":"Observation","id":"1","subject":{"reference":"Patient/123"},"code":{},"Code":{}}`)), ErrNotJSON)
	assert.NoError(t, d.checkEntry([]byte(obsOf123)))
}

// Many top-level keys outgrow the name set's array; duplicates are still
// found.
func TestFoldedKeysBeyondTheArray(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Observation","id":"1","subject":{"reference":"Patient/123"}`)
	for i := range 60 {
		fmt.Fprintf(&b, `,"x%d":%d`, i, i)
	}
	wide := b.String()
	d := decisionFor(t, "/fhir/Patient/123/$everything", patientAll)
	assert.NoError(t, d.checkEntry([]byte(wide+`}`)))
	assert.ErrorIs(t, d.checkEntry([]byte(wide+`,"X59":0}`)), ErrNotJSON)
	assert.ErrorIs(t, d.checkEntry([]byte(wide+`,"x1":0}`)), ErrNotJSON)
	assert.Error(t, d.checkEntry([]byte(wide+`,"SUBJECT":0}`)))
	assert.ErrorIs(t, d.checkEntry([]byte(wide+`,"x5\u0039":0}`)), ErrNotJSON)
	assert.ErrorIs(t, d.checkEntry([]byte(wide+`,"ſubject":0}`)), ErrNotJSON)
}
