package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRewriteBundle(t *testing.T) {
	l := &linkRewriter{upstreamBase: "http://up:8080/baseR4", gatewayBase: "/fhir"}
	fn := func(u string) string { return l.rewrite(u, "https://gw.example/fhir") }
	in := `{"resourceType":"Bundle","type":"batch-response","link":[{"relation":"self","url":"http://up:8080/baseR4/Observation?x=1"},{"relation":"next","url":"http://up:8080/baseR4?_getpages=a"}],
		"entry":[{"fullUrl":"http://up:8080/baseR4/Observation/1","resource":{"resourceType":"Bundle","link":[{"relation":"next","url":"http://up:8080/baseR4/Observation?_offset=1"}]},"response":{"status":"200 OK","location":"http://up:8080/baseR4/Observation/1/_history/1"}},
		{"fullUrl":"http://up:8080/baseR4x/Other/1","resource":{"resourceType":"Observation","id":"1","valueQuantity":{"value":5.40}}}]}`
	out, changed := rewriteBundle([]byte(in), fn)
	assert.True(t, changed)
	s := string(out)
	assert.True(t, strings.HasPrefix(s, `{"resourceType":"Bundle"`))
	for _, want := range []string{
		`"url":"https://gw.example/fhir/Observation?x=1"`,
		`"url":"https://gw.example/fhir?_getpages=a"`,
		`"fullUrl":"https://gw.example/fhir/Observation/1"`,
		`"url":"https://gw.example/fhir/Observation?_offset=1"`,
		`"location":"https://gw.example/fhir/Observation/1/_history/1"`,
		`"fullUrl":"http://up:8080/baseR4x/Other/1"`, // another base: not ours
		`"value":5.40`, // decimals keep their precision
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "http://up:8080/baseR4/")

	for _, body := range []string{`{"resourceType":"Patient","id":"1"}`, `not json`, `{"resourceType":"Bundle"}`} {
		out, changed := rewriteBundle([]byte(body), fn)
		assert.False(t, changed)
		assert.Equal(t, body, string(out))
	}
}

// FuzzRewriteBundle: link rewriting never panics and turns valid JSON into
// valid JSON.
func FuzzRewriteBundle(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","link":[{"url":"http://up/fhir/x"}],"entry":[{"fullUrl":"http://up/fhir/P/1","response":{"location":"http://up/fhir/P/1"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","link":{"url":1},"entry":[null,1,{"resource":{"resourceType":"Bundle","link":[null]}}]}`))
	l := &linkRewriter{upstreamBase: "http://up/fhir", gatewayBase: "/fhir"}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, changed := rewriteBundle(body, func(u string) string { return l.rewrite(u, "http://gw/fhir") })
		if !changed && string(out) != string(body) {
			t.Fatal("unchanged body altered")
		}
		if json.Valid(body) && !json.Valid(out) {
			t.Fatalf("valid %q became invalid %q", body, out)
		}
	})
}
