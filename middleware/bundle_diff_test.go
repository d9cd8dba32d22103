package middleware

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// The Bundle readers and writers of bundlejson.go are compared with the
// encoding/json code of bundle_reference_test.go: on every input the
// reference accepts and the readers do not refuse (jsonsyntax refuses
// duplicate and case-variant names, invalid UTF-8 in names and strings
// read, which encoding/json lets through), both write the same JSON
// value; the readers never accept what the reference refuses.

// decodeJSON decodes doc as encoding/json does, for comparing values.
func decodeJSON(t *testing.T, what string, doc []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: invalid JSON %q: %v", what, doc, err)
	}
	return v
}

// dropIfMatchVariants removes from an entry (decoded) the request
// members a parser could read as ifMatch other than ifMatch itself: the
// reference kept them beside the pinned ifMatch, rewriteEntry replaces
// them all with it.
func dropIfMatchVariants(v any) {
	e, _ := v.(map[string]any)
	rq, _ := e["request"].(map[string]any)
	for k := range rq {
		if k != "ifMatch" && jsonsyntax.FoldEqual(k, "ifMatch") {
			delete(rq, k)
		}
	}
}

// rewriteCase is one way of rewriting an entry, chosen by mode.
func rewriteCase(mode uint8) (*fhirauth.Request, *fhirauth.Decision, bool, string) {
	er := &fhirauth.Request{Interaction: fhirauth.SearchType}
	switch mode % 3 {
	case 1:
		er.Interaction, er.Conditional = fhirauth.Create, true
	case 2:
		er.Interaction = fhirauth.Update
	}
	ed := &fhirauth.Decision{Allowed: true}
	if mode&4 != 0 {
		ed.Narrow = url.Values{"patient": {"123"}}
	}
	pin := ""
	if mode&8 != 0 {
		pin = `W/"7"`
	}
	return er, ed, mode&16 != 0, pin
}

// checkRewriteAgainstReference compares rewriteEntry and entryIfMatch
// with the reference on one entry.
func checkRewriteAgainstReference(t *testing.T, entry []byte, mode uint8) {
	er, ed, narrow, pin := rewriteCase(mode)
	got, err := rewriteEntry([]byte("[x,"), entry, er, ed, narrow, pin)
	want, refErr := refRewriteEntry(entry, er, ed, narrow, pin)
	switch {
	case err == nil && refErr != nil:
		t.Fatalf("rewriteEntry accepts what the reference refuses (%v): %q", refErr, entry)
	case err != nil:
		return
	}
	if string(got[:3]) != "[x," {
		t.Fatalf("rewriteEntry changed what it appended to: %q", got)
	}
	g, w := decodeJSON(t, "rewriteEntry", got[3:]), decodeJSON(t, "reference", want)
	if pin != "" {
		dropIfMatchVariants(w)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("rewriteEntry(%q, mode %d)\n= %s\nreference %s", entry, mode, got[3:], want)
	}
	if im := entryIfMatch(entry); len(im) != 2 || im[0] != "" || im[1] != "" {
		ref := refEntryIfMatch(entry)
		slices.Sort(im)
		slices.Sort(ref)
		if !slices.Equal(im, ref) {
			t.Fatalf("entryIfMatch(%q) = %q, reference %q", entry, im, ref)
		}
	}
}

// checkSplitAgainstReference compares splitBundle (and the Bundle put
// back around its entry array) and splitResponseBundle with joinBundle
// with the reference on one document.
func checkSplitAgainstReference(t *testing.T, body []byte) {
	if b, err := splitBundle(body, 0); err == nil {
		top, entries, refErr := refSplitBundle(body)
		if refErr != nil {
			t.Fatalf("splitBundle accepts what the reference refuses (%v): %q", refErr, body)
		}
		if !slices.EqualFunc(b.entries, entries, func(a []byte, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Fatalf("splitBundle(%q) entries %q, reference %q", body, b.entries, entries)
		}
		put := string(body[:b.entryStart]) + string(appendArray(nil, b.entries)) + string(body[b.entryEnd:])
		// (The reference wrote no entry member for no entries; the
		// middleware forwards no Bundle without entries.)
		ref, err := refJoinBundle(top, entries)
		if err == nil && len(entries) > 0 && !reflect.DeepEqual(decodeJSON(t, "put back", []byte(put)), decodeJSON(t, "reference", ref)) {
			t.Fatalf("the Bundle put back %s, reference %s", put, ref)
		}
	}
	b, err := splitResponseBundle(body, 0)
	if err != nil {
		return
	}
	top, entries, refErr := refSplitResponseBundle(body)
	if refErr != nil {
		t.Fatalf("splitResponseBundle accepts what the reference refuses (%v): %q", refErr, body)
	}
	ref, err := refJoinBundle(top, entries)
	if err != nil {
		t.Fatalf("reference join: %v", err)
	}
	got := joinBundle(b.top, b.entries)
	if !reflect.DeepEqual(decodeJSON(t, "joinBundle", got), decodeJSON(t, "reference", ref)) {
		t.Fatalf("response Bundle %q\nput back %s\nreference %s", body, got, ref)
	}
}

// checkedReadDecision is an allowed read of Observation/o1 in Patient
// 123's context: its response is checked.
func checkedReadDecision(tb testing.TB) *fhirauth.Decision {
	tb.Helper()
	p, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	if err != nil {
		tb.Fatal(err)
	}
	set, err := scope.ParseSet("patient/*.rs")
	if err != nil {
		tb.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodGet, "http://fhir.example/fhir/Observation/o1", nil)
	_, d := p.Authorize(context.Background(), &token.Principal{Scopes: set, Patient: "123"}, r)
	if !d.Allowed || !d.NeedsResponseCheck() {
		tb.Fatalf("want an allowed, checked read: %+v", d)
	}
	return d
}

// checkEntryAgainstReference compares checkEntry with the reference on
// one response entry.
func checkEntryAgainstReference(t *testing.T, d *fhirauth.Decision, raw []byte) {
	got, removed, oc := checkEntry(raw, d)
	want, refRemoved, refOC := refCheckEntry(raw, d)
	switch {
	case oc == nil && refOC != nil:
		t.Fatalf("checkEntry passes what the reference withholds (%+v): %q", *refOC, raw)
	case oc != nil && refOC != nil:
		// encoding/json reads invalid UTF-8 as U+FFFD where the readers
		// refuse the string, so only then may the reasons differ (a
		// response status read as 0 rather than its digits).
		if oc.status != refOC.status || (utf8.Valid(raw) && oc.reason != refOC.reason) {
			t.Fatalf("checkEntry(%q) withholds with %+v, reference %+v", raw, *oc, *refOC)
		}
		return
	case oc != nil:
		return // the readers refuse more than encoding/json
	}
	if removed != refRemoved || !reflect.DeepEqual(decodeJSON(t, "checkEntry", got), decodeJSON(t, "reference", want)) {
		t.Fatalf("checkEntry(%q) = %s (%d removed), reference %s (%d)", raw, got, removed, want, refRemoved)
	}
	if st, ref := entryStatus(memberValue(raw, "response")), refEntryStatus(map[string]json.RawMessage{"response": memberValue(raw, "response")}); st != 0 && st != ref {
		t.Fatalf("entryStatus(%q) = %d, reference %d", raw, st, ref)
	}
}

var diffEntries = []string{
	`{"request":{"method":"GET","url":"Observation?code=hr"}}`,
	`{"request":{"method":"GET","url":"Observation?code=hr&patient=123&_elements=id"}}`,
	`{"request":{"method":"GET","url":"Observation"},"fullUrl":"urn:x","extra":[1,{"a":null}]}`,
	`{"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=a%26b"},"resource":{"resourceType":"Observation"}}`,
	`{"request":{"method":"PUT","url":"Observation/1","ifMatch":"W/\"7\""}}`,
	`{"request":{"method":"PUT","url":"Observation/1","IFMATCH":"W/\"7\""}}`,
	`{"request":{"method":"PUT","url":"Observation/1","ifMatch":"W/\"7\"","IfMatch":"W/\"8\""}}`,
	`{"request":{"method":"PUT","url":"Observation/1","ifMatch":1}}`,
	`{"request":{"url":"Observation/1","\u0069fMatch":"W/\"7\""}}`,
	`{"request":{"url":"a\u00e9\u2028<>&\"b?x=%zz"}}`,
	`{"request":{"url":"Observation?q=a;b"}}`,
	`{"request":{"url":"Observation","url":"Patient"}}`,
	`{"request":{"url":"Observation"},"reQuest":{"url":"Patient"}}`,
	`{"request":{"url":"Observation"},"ſ":1,"s":2}`,
	`{"request":{"url":"Observation"},"\u0072equest":{"url":"Patient"}}`,
	`{"request":{"url":"Observation","\u0075rl":"Patient"}}`,
	`{"request":[]}`, `{"request":null}`, `{}`, `[]`, `"x"`, `{"request":{"url":"x"}} x`,
	"{\"request\":{\"url\":\"Obs\xffervation\"}}",
	"{\"request\":{\"url\":\"Observation\"},\"x\xff\":1}",
}

var diffBundles = []string{
	`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"url":"a"}},{"request":{"url":"b"}}]}`,
	` {"type":"batch", "entry" : [ 1 , "x" , null , {} ] , "resourceType":"Bundle"} `,
	`{"resourceType":"Bundle","id":"r","meta":{"versionId":"1"},"type":"batch-response","timestamp":"2026","link":[],"total":3,"entry":[{"response":{"status":"200 OK"}}]}`,
	`{"resourceType":"Bundle","entry":null}`, `{"resourceType":"Bundle","entry":[]}`, `{"resourceType":"Bundle"}`,
	`{"resourceType":"Bundle","entry":{"a":1}}`, `{"resourceType":"Patient","entry":[]}`,
	`{"resourceType":"Bundle","entry":[],"entry":[{}]}`, `{"resourceType":"Bundle","entry":[],"Entry":[{}]}`,
	`{"resourceType":"Bundle","entry":[],"ENTRY":[{}]}`, `{"resourceType":"Bundle","\u0065ntry":[{}]}`,
	`{"resourceType":"Bundle","reſourceType":"Patient","entry":[]}`, `{"\u0072esourceType":"Bundle","entry":[]}`,
	`{"resourceType":"Bundle","entry":[]} {}`, `[]`, `null`, `{}`, `{"resourceType":"Bundle","entry":[`,
	"{\"resourceType\":\"Bundle\",\"\xff\":1,\"entry\":[]}",
}

var diffResponseEntries = []string{
	`{"resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"}},"response":{"status":"200 OK","location":"Patient/9","etag":"W/\"1\""},"search":{"mode":"match"},"request":{"url":"x"}}`,
	`{"resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/456"}},"response":{"status":"200 OK"}}`,
	`{"resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"}},"response":{"status":"404 Not Found"}}`,
	`{"resource":null,"response":{"status":"201"}}`, `{"response":{"status":"204 No Content","outcome":{"resourceType":"OperationOutcome"}}}`,
	`{"resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"}},"response":{"STATUS":"200 OK"}}`,
	`{"resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"}},"response":{"status":"200 OK"},"reSource":{}}`,
	`{"resource":{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"}},"\u0072esource":{}}`,
	`{"link":[{"relation":"x"}],"fullUrl":"Observation/o1","response":{"status":"200 OK","lastModified":"2026"}}`,
	`{"resource":[],"response":{"status":"200 OK"}}`, `1`, `[]`, `{"response":7}`,
	`{"response":{"status":"304 Not Modified","etag":"W/\"1\""}}`, `{"response":{"status":"200 OK"}}`, `{"response":{}}`,
	`{"response":{"outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]},"status":"404 Not Found"}}`,
	`{"response":{"status":"410 Gone"}}`, `{"response":{"status":"412 Precondition Failed"}}`,
}

func TestBundleRewriteMatchesReference(t *testing.T) {
	for _, e := range diffEntries {
		for mode := range uint8(32) {
			checkRewriteAgainstReference(t, []byte(e), mode)
		}
	}
	for _, b := range diffBundles {
		checkSplitAgainstReference(t, []byte(b))
	}
	d := checkedReadDecision(t)
	for _, e := range diffResponseEntries {
		checkEntryAgainstReference(t, d, []byte(e))
	}
}

// The hostile entries and Bundles keep the verdict the reference's
// strict readers gave them: refused.
func TestBundleRewriteRefusesHostileNames(t *testing.T) {
	er, ed, _, _ := rewriteCase(0)
	for _, e := range []string{
		`{"request":{"url":"Observation","url":"Patient"}}`,
		`{"request":{"url":"Observation"},"reQuest":{"url":"Patient"}}`,
		`{"request":{"url":"Observation"},"ſ":1,"s":2}`,
		`{"request":{"url":"Observation"},"\u0072equest":{"url":"Patient"}}`,
		`{"request":{"url":"Observation","\u0075rl":"Patient"}}`,
		`{"request":{"url":"Observation","ifMatch":"a","IFMATCH":"b"}}`,
		`{"request":{"url":"Observation"},"Kelvin\u212a":1,"kelvink":2}`,
		`[]`, `"entry"`, `1`, `null`,
	} {
		if out, err := rewriteEntry(nil, []byte(e), er, ed, true, `W/"1"`); err == nil {
			t.Errorf("rewriteEntry(%s) = %s, want a refusal", e, out)
		}
	}
	for _, b := range []string{
		`{"resourceType":"Bundle","entry":[],"Entry":[{}]}`,
		`{"resourceType":"Bundle","entry":[],"\u0065ntry":[{}]}`,
		`{"resourceType":"Bundle","reſourceType":"Patient","entry":[]}`,
		`{"resourceType":"Bundle","type":"batch-response","TYPE":"searchset","entry":[]}`,
	} {
		if _, err := splitResponseBundle([]byte(b), 0); err == nil {
			t.Errorf("splitResponseBundle(%s) accepted, want a refusal", b)
		}
		if _, err := splitBundle([]byte(b), 0); err == nil {
			t.Errorf("splitBundle(%s) accepted, want a refusal", b)
		}
	}
}

// FuzzBundleRewriteMatchesReference holds the Bundle readers and writers
// to the encoding/json reference on random entries and Bundles.
func FuzzBundleRewriteMatchesReference(f *testing.F) {
	for _, e := range diffEntries {
		f.Add([]byte(e), uint8(4+16))
	}
	for _, b := range diffBundles {
		f.Add([]byte(b), uint8(8))
	}
	for _, e := range diffResponseEntries {
		f.Add([]byte(e), uint8(32))
	}
	d := checkedReadDecision(f)
	f.Fuzz(func(t *testing.T, doc []byte, mode uint8) {
		checkRewriteAgainstReference(t, doc, mode)
		checkSplitAgainstReference(t, doc)
		if mode&32 != 0 {
			checkEntryAgainstReference(t, d, doc)
		}
	})
}

// An entry whose response is checked is forwarded without the members a
// lenient parser would read as ifNoneMatch or ifModifiedSince, and, but
// for a write, ifMatch, narrowed or not (one spelling of each per entry:
// the strict reader refuses two); a write keeps its ifMatch, or
// has the stored-version pin in its place.
func TestRewriteEntryDropsConditionals(t *testing.T) {
	d := checkedReadDecision(t)
	read := *d.Request()
	write := read
	write.Interaction, write.Method = fhirauth.Update, http.MethodPut
	entry := []byte(`{"fullUrl":"u","request":{"method":"GET","url":"Observation/o1","IfNoneMatch":"a","ifModifiedſince":"b",` +
		`"IFMATCH":"c","ifNoneExist":"g"}}`)
	for _, c := range []struct {
		name   string
		er     *fhirauth.Request
		narrow bool
		pin    string
		want   string
	}{
		{"read", &read, true, "", `{"method":"GET","url":"Observation/o1","ifNoneExist":"g"}`},
		{"read, narrowing off", &read, false, "", `{"method":"GET","url":"Observation/o1","ifNoneExist":"g"}`},
		{"write", &write, false, "", `{"method":"GET","url":"Observation/o1","IFMATCH":"c","ifNoneExist":"g"}`},
		{"write, pinned", &write, true, `W/"7"`, `{"method":"GET","url":"Observation/o1","ifNoneExist":"g","ifMatch":"W/\"7\""}`},
	} {
		out, err := rewriteEntry(nil, entry, c.er, d, c.narrow, c.pin)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if want := `{"fullUrl":"u","request":` + c.want + `}`; string(out) != want {
			t.Errorf("%s: rewriteEntry = %s, want %s", c.name, out, want)
		}
	}
}
