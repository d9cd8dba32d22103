package fhirauth

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// classification is the comparable summary of a Request.
type classification struct {
	Interaction                  Interaction
	Type, ID, Version            string
	CompartmentType, Compartment string
	Operation                    string
	Level                        Level
	Params                       url.Values
	Reaches                      []Reach
}

func summarize(r *Request) classification {
	return classification{r.Interaction, r.ResourceType, r.ID, r.VersionID, r.CompartmentType, r.CompartmentID, r.Operation, r.Level, r.Params, r.Reaches}
}

func fuzzRequest(method, target string) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil
	}
	return &http.Request{Method: method, URL: u, Header: http.Header{}, RequestURI: target}
}

// canonical returns the request with its path decoded and cleaned (dot and
// empty segments resolved) and its query re-encoded.
func canonical(r *http.Request) *http.Request {
	u := *r.URL
	clean := path.Clean(u.Path)
	if clean == "." {
		clean = "/"
	}
	u.Path, u.RawPath = clean, ""
	if q, err := url.ParseQuery(u.RawQuery); err == nil {
		u.RawQuery = q.Encode()
	}
	c := *r
	c.URL = &u
	return &c
}

func FuzzClassify(f *testing.F) {
	for _, s := range [][2]string{
		{"GET", "/fhir/Observation?patient=123&_count=50"},
		{"GET", "/fhir/Patient/123/../456"},
		{"GET", "/fhir/Patient/123/%2e%2e/456"},
		{"GET", "/fhir/Patient%2F1"},
		{"GET", "/fhir//Patient/1"},
		{"GET", "/fhir/Patient/1;x=y"},
		{"GET", "/fhir/Observation?_include=Observation:subject:Patient&_revinclude=Provenance:target"},
		{"GET", "/fhir/Patient?_has:Observation:patient:code=1234"},
		{"GET", "/fhir/Observation?subject:Patient.name=x&patient=123,456"},
		{"GET", "/fhir/Patient/123/$everything?_type=Observation"},
		{"GET", "/fhir/$export?_type=Observation,Patient"},
		{"GET", "/fhir?_getpages=x&_getpagesoffset=10"},
		{"GET", "/fhir/Patient/123/Observation"},
		{"GET", "/fhir/Observation/1/_history/2"},
		{"DELETE", "/fhir/Observation?code=x"},
		{"GET", "/fhir/observation"},
		{"GET", "/fhir/metadata"},
		{"GET", "/fhir/.well-known/smart-configuration"},
		{"GET", "/fhir/Patient/123/*"},
	} {
		f.Add(s[0], s[1])
	}
	p := testPolicy(f)
	pr := principal(f, "patient/*.rs user/Patient.read system/Observation.rs", "123")
	f.Fuzz(func(t *testing.T, method, target string) {
		r := fuzzRequest(method, target)
		if r == nil {
			return
		}
		req, err := p.Classify(r)
		d := p.Decide(context.Background(), pr, req) // must not panic, even for nil
		if err != nil {
			if req != nil {
				t.Fatalf("error with a request: %v", err)
			}
			return
		}
		if d == nil {
			t.Fatal("nil decision")
		}
		if strings.Contains(r.URL.RawPath, "%") {
			t.Fatalf("percent-encoded path %q classified", r.URL.RawPath)
		}
		c := canonical(r)
		req2, err := p.Classify(c)
		if err != nil {
			t.Fatalf("%s %s classifies but its canonical form %s does not: %v", method, target, c.URL, err)
		}
		if a, b := summarize(req), summarize(req2); !reflect.DeepEqual(a, b) {
			t.Fatalf("%s %s classifies differently after canonicalisation:\n%+v\n%+v", method, target, a, b)
		}
		d2 := p.Decide(context.Background(), pr, req2)
		if d.Allowed != d2.Allowed || d.Status != d2.Status {
			t.Fatalf("decision differs after canonicalisation: %v/%d vs %v/%d", d.Allowed, d.Status, d2.Allowed, d2.Status)
		}
	})
}

func FuzzBundleEntries(f *testing.F) {
	f.Add([]byte(bundle("transaction", entry("POST", "Observation", obsOf123), entry("GET", "Patient/123", ""))))
	f.Add([]byte(bundle("batch", entry("GET", "Observation?patient=123,456", ""), entry("PUT", "Patient/456", patient456))))
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","TYPE":"transaction","entry":[]}`))
	f.Add([]byte(bundle("transaction", entry("GET", "http://evil/fhir/Patient/1", ""))))
	f.Add([]byte(bundle("transaction", entry("PATCH", "Observation/1", `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9zdWJqZWN0IiwidmFsdWUiOnt9fV0="}`))))
	p := testPolicy(f)
	pr := principal(f, "patient/*.cruds", "123")
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := p.parseBundleEntries(body)
		if err != nil {
			return
		}
		if !jsonsyntax.Valid(body) { // validated while it was read
			t.Fatalf("accepted a Bundle that is not valid JSON: %q", body)
		}
		d := p.Decide(context.Background(), pr, req)
		if d == nil || (req.Interaction == Transaction && d.Allowed && len(d.Entries) != len(req.Entries)) {
			t.Fatal("bad decision")
		}
		// Every entry must classify the same when sent as a top-level request.
		for i, e := range req.Entries {
			if e.Interaction == Batch || e.Interaction == Transaction {
				t.Fatalf("entry %d: nested Bundle accepted", i)
			}
			target := "/fhir"
			if e.Path != "" {
				target += "/" + e.Path
			}
			if len(e.Params) > 0 && e.Interaction != Create {
				target += "?" + e.Params.Encode()
			}
			if e.Method != http.MethodGet || e.Interaction == PageContinuation {
				continue // bodies differ in form; GETs are compared
			}
			r := fuzzRequest(e.Method, target)
			if r == nil {
				t.Fatalf("entry %d: %q does not parse as a URL", i, target)
			}
			top, err := p.Classify(r)
			if err != nil {
				t.Fatalf("entry %d (%s) classifies in a Bundle but not as %s: %v", i, e.Path, target, err)
			}
			if a, b := summarize(e), summarize(top); !reflect.DeepEqual(a, b) {
				t.Fatalf("entry %d classifies differently at top level:\n%+v\n%+v", i, a, b)
			}
		}
	})
}
