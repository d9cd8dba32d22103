package medplum

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// TestQueryReading compares, for a corpus of hostile FHIR URLs, the
// parameters fhirauth judges in a Bundle entry's request.url (which it
// also uses for a Subscription's criteria and, after "Type?", for
// If-None-Exist) with the ones medplum reads from the same text itself
// (queryparse.mjs): its batch router's query, and parseSearchRequest of
// the string. A URL fhirauth refuses is not compared (fail closed).
// Every other must yield the same (name, value) pairs, with no deviation
// tolerated (where they differed, a value that is not UTF-8 once
// unescaped or a space or control character in request.url, fhirauth
// refuses the URL), and medplum's filters must read them as fhirauth
// does (filterDeviation). The query the gateway writes from what fhirauth
// judged (url.Values.Encode: narrowed queries and If-None-Exist) must
// read back as those very pairs.
func TestQueryReading(t *testing.T) {
	requirePeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	policy, err := fhirauth.NewPolicy()
	require.NoError(t, err)

	var accepted []string
	var judged []url.Values
	all := queryCorpus()
	for _, u := range all {
		if q, err := entryParams(policy, u); err == nil {
			accepted, judged = append(accepted, u), append(judged, q)
		}
	}
	asks := slices.Clone(accepted)
	for i, u := range accepted {
		typ, _, _ := strings.Cut(u, "?")
		asks = append(asks, typ+"?"+judged[i].Encode())
	}
	reads := medplumReads(ctx, t, asks)
	require.Len(t, reads, len(asks))

	compared, tolerated := 0, map[string]int{}
	for i, u := range accepted {
		want := valuePairs(judged[i])
		for _, form := range []string{"router", "string"} {
			got := reads[i].form(form)
			if got.Error != "" {
				continue // medplum refuses it: nothing runs
			}
			compared++
			if !slices.Equal(want, sortedPairs(got.Pairs)) {
				t.Errorf("%s: fhirauth judges %q, medplum's %s reading is %q", u, want, form, sortedPairs(got.Pairs))
				continue
			}
			filtersAgree(t, u, form, judged[i], got.Filters, tolerated)
		}
		back := reads[len(accepted)+i]
		for _, form := range []string{"router", "string"} {
			if got := back.form(form); got.Error == "" && !slices.Equal(want, sortedPairs(got.Pairs)) {
				t.Errorf("%s: fhirauth judges %q, medplum's %s reading of its encoding %q is %q", u, want, form, asks[len(accepted)+i], sortedPairs(got.Pairs))
			}
		}
	}
	t.Logf("%d URLs, %d accepted by fhirauth, %d readings compared; tolerated: %v", len(all), len(accepted), compared, tolerated)
	require.Greater(t, compared, len(all)/2, "the corpus must mostly be compared, not refused")
}

// filtersAgree checks medplum's filters against every parameter fhirauth
// judged in u (filterDeviation), counting the tolerated deviations.
func filtersAgree(t *testing.T, u, form string, judged url.Values, filters []medplumFilter, tolerated map[string]int) {
	t.Helper()
	for key, vs := range judged {
		for _, v := range vs {
			why, err := filterDeviation(key, v, filters)
			if err != nil {
				t.Errorf("%s (%s): %v", u, form, err)
			}
			if why != "" {
				tolerated[why]++
			}
		}
	}
}

// entryParams returns the parameters fhirauth judges in u as the
// request.url of a GET entry of a batch.
func entryParams(p *fhirauth.Policy, u string) (url.Values, error) {
	entry, err := json.Marshal(map[string]any{"request": map[string]any{"method": "GET", "url": u}})
	if err != nil {
		return nil, err
	}
	body := `{"resourceType":"Bundle","type":"batch","entry":[` + string(entry) + `]}`
	r := httptest.NewRequest("POST", "http://fhir.test/fhir", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/fhir+json")
	req, err := p.Classify(r)
	if err != nil {
		return nil, err
	}
	if len(req.Entries) != 1 {
		return nil, fmt.Errorf("%d entries", len(req.Entries))
	}
	return req.Entries[0].Params, nil
}

// medplumRead is one of medplum's readings of a URL (queryparse.mjs).
type medplumRead struct {
	Error   string          `json:"error"`
	Pairs   [][2]string     `json:"pairs"`
	Filters []medplumFilter `json:"filters"`
}

// medplumFilter is one filter of medplum's SearchRequest.
type medplumFilter struct {
	Code     string `json:"code"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
}

// medplumReading is medplum's two readings of a URL.
type medplumReading struct {
	Router medplumRead `json:"router"`
	String medplumRead `json:"string"`
}

func (m medplumReading) form(f string) medplumRead {
	if f == "router" {
		return m.Router
	}
	return m.String
}

// medplumReads runs queryparse.mjs on urls.
func medplumReads(ctx context.Context, t *testing.T, urls []string) []medplumReading {
	t.Helper()
	in, err := json.Marshal(urls)
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, "node", "queryparse.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "queryparse.mjs: %s", stderr.String())
	var reads []medplumReading
	require.NoError(t, json.Unmarshal(out, &reads), "queryparse.mjs output: %s", out)
	return reads
}

// valuePairs returns q as sorted "name=value" strings.
func valuePairs(q url.Values) []string {
	var out []string
	for k, vs := range q {
		for _, v := range vs {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return out
}

// sortedPairs returns pairs as sorted "name=value" strings.
func sortedPairs(pairs [][2]string) []string {
	out := make([]string, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, p[0]+"="+p[1])
	}
	slices.Sort(out)
	return out
}

// medplumOperators are the modifiers medplum's parseSearchRequest keeps
// as a filter's operator; it reads any other as no modifier.
var medplumOperators = map[string]bool{"contains": true, "exact": true, "above": true, "below": true, "text": true,
	"not": true, "in": true, "not-in": true, "of-type": true, "missing": true, "present": true, "identifier": true}

// filterDeviation checks how medplum's filters read a search parameter
// fhirauth judged as key=v: a parameter without a modifier, as every
// narrowing and constraint fhirauth adds or accepts in a query
// (Decision.ChangesQuery compares names and values exactly), must be a
// filter of the same code and value, equality or a FHIR prefix split
// off. It returns the harmless deviation found, "" when there is none,
// or an error. Every filter is ANDed with the rest, narrowing included,
// so a filter medplum reads more loosely than written never widens what
// the narrowed search returns:
//   - modifier: medplum reads an unknown modifier (category:foo,
//     subject:Patient, the type of a reference) as none; a narrowing is
//     never a parameter with a modifier, and it is still there.
func filterDeviation(key, v string, filters []medplumFilter) (string, error) {
	name, mod, hasMod := strings.Cut(key, ":")
	if strings.HasPrefix(name, "_") && name != "_id" || strings.Contains(key, ".") {
		return "", nil // control, _has and chained parameters: not filters of one code
	}
	for _, f := range filters {
		if f.Code != name {
			continue
		}
		switch {
		case hasMod && f.Value == v && f.Operator == mod:
			return "", nil // a parameter medplum does not know keeps any modifier
		case hasMod && f.Value == v && f.Operator == "eq" && !medplumOperators[mod]:
			return "modifier", nil
		case f.Value == v && f.Operator == "eq", f.Operator+f.Value == v:
			return "", nil
		}
	}
	return "", fmt.Errorf("no filter of medplum's %v reads %s=%s", filters, key, v)
}

// queryCorpus returns the URLs compared: hand-written hostile shapes and
// a seeded random mix of their pieces.
func queryCorpus() []string {
	var out []string
	for _, q := range handQueries {
		out = append(out, "Observation?"+q)
	}
	for _, q := range []string{"_id=p1", "_id=p1,p2", "_id=p1\\,p2", "_ID=p2", "_id:not=p1", "_id=P1", "identifier=a%7Cb", "_has:Observation:patient:code=x"} {
		out = append(out, "Patient?"+q)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 300 {
		var items []string
		for range 1 + r.IntN(4) {
			items = append(items, pieces[r.IntN(len(pieces))]+"="+values[r.IntN(len(values))])
		}
		out = append(out, "Observation?"+strings.Join(items, seps[r.IntN(len(seps))]))
	}
	for range 300 {
		var b strings.Builder
		for i := range 1 + r.IntN(3) {
			if i > 0 {
				b.WriteString("&")
			}
			b.WriteString(pieces[r.IntN(len(pieces))] + "=")
			for range 1 + r.IntN(5) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
		}
		out = append(out, "Observation?"+b.String())
	}
	return out
}

// alphabet makes values of random text: delimiters, escapes (of them
// too) and the bytes parsers drop or decode their own way.
var alphabet = []string{"patient", "code", "_id", "a", "1", "=", "=", "&", "&", "%", "2", "6", "%26", "%3D", "%3F", "%23", "%2C", "%7C",
	"%24", "%3A", "%2B", "%20", "%25", "+", ";", "#", "?", ",", "\\", "\\,", ":", ".", "_", "\t", " ", "\n", "é", "%FF", "%C3", "%A9",
	"%00", "%09", "|", "$", "/", "'", "\"", "<", "%E2%80%AE", "\u00a0", "\x7f"}

// handQueries are queries of an Observation search, conditional write or
// criteria, each a shape some parser reads its own way.
var handQueries = []string{
	"patient=Patient/p1&category=laboratory",
	"patient=Patient%2Fp1", "patient%3DPatient/p2", "patient=Patient/p1%26patient%3DPatient/p2",
	"patient=Patient/p1%3Fpatient=Patient/p2", "patient=Patient/p1%23x", "patient=Patient/p1%2CPatient/p2",
	"patient=Patient/p1%7CPatient/p2", "patient=Patient/p1%24", "patient=Patient%3Ap1", "patient=Patient/p1%2B", "patient=Patient/p1%20",
	"patient=Patient/p1+", "patient+=Patient/p2", "pati+ent=Patient/p2", "%70atient=Patient/p2", "patient=Patient/%2570%31",
	"patient=%2525", "patient=Patient/p1;patient=Patient/p2", "patient=Patient/p1#&patient=Patient/p2",
	"patient=Patient/p1&&category=laboratory", "&patient=Patient/p1&", "=x", "patient", "patient=", "patient==Patient/p1",
	"patient=Patient/p1=x", "patient=Patient/p1&patient=Patient/p2", "Patient=Patient/p2", "PATIENT=Patient/p2", "Category=social-history",
	"category=labor%C3%A9", "category=laboratory%FF", "category=%C3%28", "category=%ED%A0%80", "category=%00", "category=\u00e9",
	"code:missing=true", "category:not=laboratory", "code:exact=x", "code:contains=x", "code:text=x", "code:above=x", "code:below=x",
	"code:in=ValueSet/x", "subject:identifier=a|b", "subject:Patient=p2", "patient:Patient=p1", "category:foo=laboratory", "category:present=false",
	"date=eq2020", "date=ne2020", "date=gt2020", "date=lt2020", "date=ge2020", "date=le2020", "date=sa2020", "date=eb2020", "date=ap2020",
	"value-quantity=ap5.4|http://unitsofmeasure.org|mg", "subject:Patient.name=x", "patient.name=x", "subject.name=x", "subject:Patient.organization.name=x",
	"_has:Observation:patient:code=x", "_include=Observation:patient", "_revinclude=Provenance:target", "_include:iterate=Observation:subject:Patient",
	"_filter=patient eq p2", "category=laboratory,social-history", "category=laboratory\\,social-history", "_id=a,b", "_id=a%2Cb",
	"_sort=-date", "_count=10", "_count=10abc", "_count=-1", "_offset=5", "_total=accurate", "_summary=count", "_elements=id",
	"_=x", "_cursor=abc", "_type=Patient", "_format=json", "_pretty=true", "_lastUpdated=gt2020", "_tag=a|b", "_security=x", "_profile=x",
	"category=labor\tatory", "category=laboratory\n", "category=laboratory ", "category=\rlaboratory", "category=lab\x00", "category=a\\b",
	"patient=Patient/p1%ZZ", "patient=%", "patient=%2", "category=laboratory%", "code=%E2%80%AE", "code=%EF%BC%85",
}

// pieces and values make the random queries; seps joins their items.
var (
	pieces = []string{"patient", "subject", "category", "_id", "code", "code:not", "category:missing", "patient:Patient", "PATIENT",
		"pat%69ent", "patient%3A", "_has:Observation:patient:code", "date", "subject.name", "_sort", "_count", "patient+", "", "_",
		"patient%00", "cat%25egory", "category:text"}
	values = []string{"Patient/p1", "Patient/p2", "laboratory", "a,b", "a\\,b", "a%2Cb", "%26patient%3DPatient/p2", "x%3Fy", "x%23y",
		"ge2020", "ne1", "a+b", "a%2Bb", "%2541", "%FF", "%C3%A9", "", "=", "a=b", "a|b", "%7C", "%24x", "x%3Ay", "x%20y", "%E2%80%8B"}
	seps = []string{"&", "&&", "&", "&"}
)
