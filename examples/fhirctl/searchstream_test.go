package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testPage is one searchset page a pagedServer answers: total is the
// JSON of Bundle.total ("" for none), entries the JSON of its entries
// (nil for no entry member).
type testPage struct {
	total   string
	entries []string
}

// pagedServer answers GET /fhir/Patient?page=N with pages[N], linking
// each page but the last to the next. fail, when set, may answer a
// request instead (and returns true when it did).
type pagedServer struct {
	pages []testPage
	fail  func(w http.ResponseWriter, page int) bool
}

func (s *pagedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if s.fail != nil && s.fail(w, n) {
		return
	}
	p := s.pages[n]
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"searchset"`)
	if p.total != "" {
		b.WriteString(`,"total":` + p.total)
	}
	if n+1 < len(s.pages) {
		fmt.Fprintf(&b, `,"link":[{"relation":"next","url":"http://%s/fhir/Patient?page=%d"}]`, r.Host, n+1)
	}
	if p.entries != nil {
		b.WriteString(`,"entry":[` + strings.Join(p.entries, ",") + `]`)
	}
	b.WriteString("}")
	w.Header().Set("Content-Type", "application/fhir+json")
	_, _ = w.Write([]byte(b.String()))
}

// bufferedOutput is how fhirctl printed a search before it wrote the
// pages as they came, kept as the reference the streamed output must
// match byte for byte: every page read with the client, the entries
// collected, the last total seen kept, then all printed at once.
func bufferedOutput(t *testing.T, base, format string) string {
	t.Helper()
	c, err := client.New(base, client.StaticToken("at"), client.WithMaxPages(100))
	require.NoError(t, err)
	var total *int
	entries := []client.Entry{}
	for page, err := range c.Search(context.Background(), "Patient", url.Values{}) {
		require.NoError(t, err)
		if page.Total != nil {
			total = page.Total
		}
		entries = append(entries, page.Entries...)
	}
	var out bytes.Buffer
	if format == "table" {
		tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tID\tVERSION\tLAST UPDATED")
		for _, e := range entries {
			var r struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
				Meta         struct {
					VersionID   string `json:"versionId"`
					LastUpdated string `json:"lastUpdated"`
				} `json:"meta"`
			}
			require.NoError(t, json.Unmarshal(e.Resource, &r))
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", serverLine(r.ResourceType), serverLine(r.ID), serverLine(r.Meta.VersionID), serverLine(r.Meta.LastUpdated))
		}
		require.NoError(t, tw.Flush())
		return out.String()
	}
	if format == "ndjson" {
		for _, e := range entries {
			var buf bytes.Buffer
			require.NoError(t, json.Compact(&buf, e.Resource))
			buf.WriteByte('\n')
			out.Write(escapeControls(buf.Bytes()))
		}
		return out.String()
	}
	data, err := json.Marshal(struct {
		ResourceType string         `json:"resourceType"`
		Type         string         `json:"type"`
		Total        *int           `json:"total,omitempty"`
		Entry        []client.Entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "searchset", Total: total, Entry: entries})
	require.NoError(t, err)
	require.NoError(t, json.Indent(&out, bytes.TrimSpace(data), "", "  "))
	out.WriteByte('\n')
	return string(escapeControls(out.Bytes()))
}

// hostileEntries carry what fhirctl must print as \u escapes or keep as
// the server wrote it: C1 controls, separators and bidi overrides as
// they are and as JSON escapes, ESC and BEL escaped, a byte that is not
// UTF-8, characters encoding/json escapes for HTML, empty objects and
// arrays, number spellings, and an _include'd entry.
var hostileEntries = []string{
	`{"fullUrl":"http://x/Patient/1\u001b[2J","resource":{"resourceType":"Patient","id":"1","name":[{"family":"` + hostileName + `"}]}}`,
	`{"resource":{"resourceType":"Patient","id":"2","text":{"div":"<div>a & b \u0007\u001b]0;t\u0007</div>"},"x":1.50e+3,"y":[],"z":{}}}`,
	"{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"3\",\"note\":\"bad \xff byte, \u2029 and \u200f\"}}",
	`{"fullUrl":"http://x/Organization/o","resource":{"resourceType":"Organization","id":"o","name":"日本 é"},"search":{"mode":"include"}}`,
	`{"resource":{"resourceType":"Patient","id":"5","extension":[{"url":"u","valueString":"\\u202e\\u009b"}]}}`,
}

// TestSearchStreamSameBytes: the pages written as they come are the
// bytes fhirctl printed when it collected them all first, for -o json
// and -o ndjson, and the table of rows kept is the table of resources
// kept, across pages with and without totals or entries.
func TestSearchStreamSameBytes(t *testing.T) {
	h := hostileEntries
	cases := map[string][]testPage{
		"three pages":              {{"5", h[:2]}, {"5", h[2:4]}, {"5", h[4:]}},
		"no totals, an empty page": {{"", h[:1]}, {"", []string{}}, {"", nil}, {"", h[1:]}},
		"one page, no entries":     {{"0", nil}},
		"no entries on any page":   {{"", []string{}}, {"", nil}},
		"entries on the last page": {{"2", nil}, {"2", h[3:]}},
		"one entry a page":         {{"3", h[:1]}, {"3", h[1:2]}, {"3", h[2:3]}},
	}
	for name, pages := range cases {
		srv := httptest.NewServer(&pagedServer{pages: pages})
		env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
		for _, format := range []string{"json", "ndjson", "table"} {
			r := fhirctl(t, env, "", "-o", format, "search", "Patient")
			require.Equal(t, exitOK, r.code, "%s -o %s: %s", name, format, r.stderr)
			assert.Equal(t, bufferedOutput(t, env["FHIR_BASE"], format), r.stdout, "%s -o %s", name, format)
			assertNoTerminalControls(t, r.stdout)
		}
		srv.Close()
	}
}

// TestSearchStreamEntryWithoutResource: an entry without a resource is
// printed as it is in a Bundle, and has no line in -o ndjson: there
// fhirctl fails, as it did.
func TestSearchStreamEntryWithoutResource(t *testing.T) {
	pages := []testPage{{"2", hostileEntries[:1]}, {"2", []string{`{"fullUrl":"http://x/Patient/gone"}`}}}
	srv := httptest.NewServer(&pagedServer{pages: pages})
	defer srv.Close()
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	r := fhirctl(t, env, "", "search", "Patient")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, bufferedOutput(t, env["FHIR_BASE"], "json"), r.stdout)

	r = fhirctl(t, env, "", "-o", "ndjson", "search", "Patient")
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "not JSON")
	assert.Equal(t, 1, strings.Count(r.stdout, "\n"), "page 1 only: %s", r.stdout)
	assert.Contains(t, r.stderr, "incomplete output: the search failed after page 1 (1 entries written)")
}

// TestSearchFailsOnPage3: pages 1 and 2 are written when page 3 fails;
// the exit status is the failure's, stderr says the output is
// incomplete, and the output is a strict beginning of the whole result:
// a -o json Bundle without its closing brackets, which no JSON reader
// takes for a complete one.
func TestSearchFailsOnPage3(t *testing.T) {
	pages := []testPage{{"6", hostileEntries[:2]}, {"6", hostileEntries[2:4]}, {"6", hostileEntries[4:]}, {"6", hostileEntries[:1]}}
	failures := map[string]struct {
		code int
		fail func(w http.ResponseWriter)
		says string
	}{
		"401": {exitAuth, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/fhir+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","diagnostics":"token expired"}]}`))
		}, "HTTP 401"},
		"malformed page": {exitFailure, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/fhir+json")
			_, _ = w.Write([]byte(`{"resourceType":"Bundle","entry":[{"resource":`))
		}, "unexpected"},
		"not a Bundle": {exitFailure, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/fhir+json")
			_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"1"}`))
		}, "want a Bundle"},
		"connection dropped": {exitNetwork, func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}, "no answer"},
	}
	for name, f := range failures {
		srv := httptest.NewServer(&pagedServer{pages: pages, fail: func(w http.ResponseWriter, n int) bool {
			if n == 2 {
				f.fail(w)
				return true
			}
			return false
		}})
		env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
		for _, format := range []string{"json", "ndjson"} {
			r := fhirctl(t, env, "", "-o", format, "search", "Patient")
			what := name + " -o " + format
			assert.Equal(t, f.code, r.code, "%s: %s", what, r.stderr)
			assert.Contains(t, r.stderr, f.says, what)
			assert.Contains(t, r.stderr, "incomplete output: the search failed after page 2 (4 entries written)", what)
			whole := completeOutput(t, pages, format)
			assert.True(t, strings.HasPrefix(whole, r.stdout) && len(r.stdout) < len(whole), "%s: a beginning of %q: %q", what, whole, r.stdout)
			assert.Equal(t, 4, entriesIn(r.stdout, format), "%s: pages 1 and 2: %s", what, r.stdout)
			if format == "json" {
				assert.False(t, json.Valid([]byte(r.stdout)), "%s: %s", what, r.stdout)
				assert.Contains(t, r.stderr, "the Bundle is left unclosed", what)
			}
		}
		srv.Close()
	}
}

// entriesIn counts the entries in fhirctl's output.
func entriesIn(out, format string) int {
	if format == "ndjson" {
		return strings.Count(out, "\n")
	}
	return strings.Count(out, `"resource": {`)
}

// completeOutput is what fhirctl prints when every page is answered.
func completeOutput(t *testing.T, pages []testPage, format string) string {
	t.Helper()
	srv := httptest.NewServer(&pagedServer{pages: pages})
	defer srv.Close()
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	r := fhirctl(t, env, "", "-o", format, "search", "Patient")
	require.Equal(t, exitOK, r.code, r.stderr)
	return r.stdout
}

// TestSearchPageLimitClosesTheOutput: stopping at -max-pages is not a
// failure of what was read: the Bundle is closed, as it always was, and
// exit status 7 with its message says the server has more.
func TestSearchPageLimitClosesTheOutput(t *testing.T) {
	pages := []testPage{{"6", hostileEntries[:2]}, {"6", hostileEntries[2:4]}, {"6", hostileEntries[4:]}}
	srv := httptest.NewServer(&pagedServer{pages: pages})
	defer srv.Close()
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	r := fhirctl(t, env, "", "-max-pages", "2", "search", "Patient")
	require.Equal(t, exitIncomplete, r.code, r.stderr)
	assert.Contains(t, r.stderr, "stopped at -max-pages 2 with 4 entries")
	assert.NotContains(t, r.stderr, "incomplete output")
	var b struct{ Entry []json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &b), r.stdout)
	assert.Len(t, b.Entry, 4)
}

// TestSearchBundleTotalFromFirstPage: the Bundle's total is written
// before its entries, so it is the first page's, whatever later pages
// say; FHIR gives every page of a search the same total.
func TestSearchBundleTotalFromFirstPage(t *testing.T) {
	for _, c := range []struct {
		first, second string
		want          any
	}{{"5", "7", 5.0}, {"", "7", nil}, {"3", "", 3.0}} {
		srv := httptest.NewServer(&pagedServer{pages: []testPage{{c.first, hostileEntries[:1]}, {c.second, hostileEntries[1:2]}}})
		env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
		r := fhirctl(t, env, "", "search", "Patient")
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, c.want, decode(t, r.stdout)["total"], "totals %q then %q", c.first, c.second)
		srv.Close()
	}
}
