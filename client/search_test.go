package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagedServer serves pages of Observations for patient 123; next(n) gives
// the next link of page n ("" on the last page).
func pagedServer(t *testing.T, pages int, next func(base string, n int) string) *fakeFHIR {
	t.Helper()
	var f *fakeFHIR
	f = newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		n := 1
		if p := r.URL.Query().Get("page"); p != "" {
			_, _ = fmt.Sscan(p, &n)
		}
		b := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": pages * 2}
		entries := []map[string]any{}
		for i := range 2 {
			entries = append(entries, map[string]any{
				"fullUrl":  fmt.Sprintf("%s/fhir/Observation/o%d-%d", f.URL, n, i),
				"resource": map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("o%d-%d", n, i)},
				"search":   map[string]any{"mode": "match"},
			})
		}
		entries = append(entries, map[string]any{
			"resource": map[string]any{"resourceType": "Patient", "id": "123"},
			"search":   map[string]any{"mode": "include"},
		})
		b["entry"] = entries
		links := []map[string]string{{"relation": "self", "url": r.URL.String()}}
		if l := next(f.URL, n); l != "" {
			links = append(links, map[string]string{"relation": "next", "url": l})
		}
		b["link"] = links
		data, _ := json.Marshal(b)
		writeFHIR(w, 200, string(data))
	})
	return f
}

func TestSearchFollowsNextLinks(t *testing.T) {
	const pages = 4
	f := pagedServer(t, pages, func(base string, n int) string {
		if n >= pages {
			return ""
		}
		if n == 2 {
			return fmt.Sprintf("Observation?patient=123&page=%d", n+1) // relative link
		}
		return fmt.Sprintf("%s/fhir/Observation?patient=123&page=%d", base, n+1)
	})
	c, _, _ := newTestClient(t, f.URL+"/fhir", "abc")
	var ids []string
	var numbers []int
	for page, err := range c.Search(context.Background(), "Observation", url.Values{"patient": {"123"}, "_count": {"2"}}) {
		require.NoError(t, err)
		numbers = append(numbers, page.Number)
		require.NotNil(t, page.Total)
		assert.Equal(t, pages*2, *page.Total)
		assert.Len(t, page.Entries, 3)
		for _, r := range page.Matches() {
			var o struct{ ResourceType, ID string }
			require.NoError(t, json.Unmarshal(r, &o))
			assert.Equal(t, "Observation", o.ResourceType, "includes are not matches")
			ids = append(ids, o.ID)
		}
	}
	assert.Equal(t, []int{1, 2, 3, 4}, numbers)
	assert.Len(t, ids, 8)
	seen := f.Seen()
	require.Len(t, seen, 4)
	assert.Equal(t, "_count=2&patient=123", seen[0].RawQuery)
	for _, s := range seen {
		assert.Equal(t, "/fhir/Observation", s.Path)
		assert.Equal(t, "Bearer abc", s.Header.Get("Authorization"), "every page is authorized")
	}
}

func TestSearchRefusesForeignNextLinks(t *testing.T) {
	var evilHits atomic.Int64
	evil := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		evilHits.Add(1)
		writeFHIR(w, 200, `{"resourceType":"Bundle","type":"searchset"}`)
	})
	evilURL, _ := url.Parse(evil.URL)
	links := map[string]func(base string) string{
		"other host":      func(string) string { return evil.URL + "/fhir/Observation?page=2" },
		"other port":      func(base string) string { return "http://127.0.0.1:" + evilURL.Port() + "/fhir/Observation?page=2" },
		"scheme relative": func(string) string { return "//" + evilURL.Host + "/fhir/Observation?page=2" },
		"userinfo trick": func(base string) string {
			u, _ := url.Parse(base)
			return "http://" + u.Host + "@" + evilURL.Host + "/fhir/Observation"
		},
		"https downgrade/up": func(base string) string {
			u, _ := url.Parse(base)
			return "https://" + u.Host + "/fhir/Observation?page=2"
		},
		"outside base path":    func(base string) string { return base + "/admin/Observation?page=2" },
		"prefix not segment":   func(base string) string { return base + "/fhirx/Observation?page=2" },
		"dot segments":         func(base string) string { return base + "/fhir/../admin?page=2" },
		"encoded dot segments": func(base string) string { return base + "/fhir/%2e%2e/admin?page=2" },
		"relative escape":      func(string) string { return "../admin?page=2" },
		"javascript":           func(string) string { return "javascript:alert(1)" },
		"backslash":            func(string) string { return `\\` + evilURL.Host + `\fhir` },
	}
	for name, link := range links {
		t.Run(name, func(t *testing.T) {
			f := pagedServer(t, 3, func(base string, n int) string { return link(base) })
			c, _, _ := newTestClient(t, f.URL+"/fhir", "secret-token")
			var pages int
			var lastErr error
			for page, err := range c.Search(context.Background(), "Observation", nil) {
				if err != nil {
					lastErr = err
					continue
				}
				pages++
				assert.NotNil(t, page)
			}
			assert.Equal(t, 1, pages, "the first page is delivered")
			assert.ErrorIs(t, lastErr, ErrForeignLink)
			assert.Len(t, f.Seen(), 1, "the foreign link is not fetched")
		})
	}
	assert.Zero(t, evilHits.Load(), "no request, and no token, reached another host")
}

func TestSearchPageLimitAndLoops(t *testing.T) {
	endless := func(base string, n int) string { return fmt.Sprintf("%s/fhir/Observation?page=%d", base, n+1) }
	f := pagedServer(t, 0, endless)
	c, _, _ := newTestClient(t, f.URL+"/fhir", "abc", WithMaxPages(5))
	var pages int
	var lastErr error
	for _, err := range c.Search(context.Background(), "Observation", nil) {
		if err != nil {
			lastErr = err
			continue
		}
		pages++
	}
	assert.Equal(t, 5, pages)
	assert.ErrorIs(t, lastErr, ErrPageLimit)
	assert.Len(t, f.Seen(), 5)

	_, err := c.SearchAll(context.Background(), "Observation", nil, MaxPages(3))
	assert.ErrorIs(t, err, ErrPageLimit)

	loop := pagedServer(t, 0, func(base string, n int) string {
		return fmt.Sprintf("%s/fhir/Observation?page=%d", base, 1+n%2) // 1 -> 2 -> 1
	})
	c2, _, _ := newTestClient(t, loop.URL+"/fhir", "abc")
	_, err = c2.SearchAll(context.Background(), "Observation", url.Values{"page": {"1"}})
	assert.ErrorIs(t, err, ErrPagingLoop)
	assert.Len(t, loop.Seen(), 2)
}

func TestSearchStopsWhenCallerBreaks(t *testing.T) {
	f := pagedServer(t, 0, func(base string, n int) string { return fmt.Sprintf("%s/fhir/Observation?page=%d", base, n+1) })
	c, _, _ := newTestClient(t, f.URL+"/fhir", "abc")
	for page, err := range c.Search(context.Background(), "Observation", nil) {
		require.NoError(t, err)
		if page.Number == 2 {
			break
		}
	}
	assert.Len(t, f.Seen(), 2)
}

func TestSearchVariants(t *testing.T) {
	f := pagedServer(t, 1, func(string, int) string { return "" })
	c, _, _ := newTestClient(t, f.URL+"/fhir", "abc")
	ctx := context.Background()

	_, err := c.SearchAll(ctx, "Observation", url.Values{"code": {"8867-4"}}, InCompartment("Patient", "123"))
	require.NoError(t, err)
	_, err = c.SearchAll(ctx, "Observation", url.Values{"patient": {"123"}}, UsePost())
	require.NoError(t, err)
	_, err = c.SearchAll(ctx, "", url.Values{"_type": {"Observation"}})
	require.NoError(t, err)

	seen := f.Seen()
	require.Len(t, seen, 3)
	assert.Equal(t, "/fhir/Patient/123/Observation", seen[0].Path)
	assert.Equal(t, "code=8867-4", seen[0].RawQuery)
	assert.Equal(t, "POST", seen[1].Method)
	assert.Equal(t, "/fhir/Observation/_search", seen[1].Path)
	assert.Equal(t, "application/x-www-form-urlencoded", seen[1].Header.Get("Content-Type"))
	assert.Equal(t, "patient=123", seen[1].Body)
	assert.Equal(t, "/fhir", seen[2].Path)

	for _, o := range []SearchOption{MaxPages(0), InCompartment("Patient", "../x")} {
		_, err := c.SearchAll(ctx, "Observation", nil, o)
		assert.ErrorIs(t, err, ErrInvalidArgument)
	}
	_, err = c.SearchAll(ctx, "observation", nil)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Len(t, f.Seen(), 3)
}

func TestSearchNonBundleAndErrors(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Query().Get("bad") != "" {
			writeFHIR(w, 400, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"unknown parameter bad"}]}`)
			return
		}
		writeFHIR(w, 200, patient1)
	})
	c, _, _ := newTestClient(t, f.URL, "abc")
	_, err := c.SearchAll(context.Background(), "Patient", nil)
	assert.ErrorIs(t, err, ErrUnexpectedResponse)
	_, err = c.SearchAll(context.Background(), "Patient", url.Values{"bad": {"1"}})
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, []string{"unknown parameter bad"}, fe.Diagnostics())
}

func TestSearchRetriesPostSearch(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			writeFHIR(w, 429, "")
			return
		}
		writeFHIR(w, 200, `{"resourceType":"Bundle","type":"searchset"}`)
	})
	c, _, _ := newTestClient(t, f.URL, "abc")
	_, err := c.SearchAll(context.Background(), "Patient", nil, UsePost())
	require.NoError(t, err)
	assert.Len(t, f.Seen(), 2, "POST _search has no side effects: retried")
}

// A next link is followed only within the base URL's origin compared as
// net/http dials it: hosts that fold together only under Unicode case
// folding are other hosts.
func TestWithinComparesHostsAsDialled(t *testing.T) {
	c, err := New("https://fhirς.example/fhir", nil)
	require.NoError(t, err)
	for link, in := range map[string]bool{
		"https://fhirς.example/fhir/Observation?page=2":     true,
		"https://FHIRς.example:443/fhir/Observation?page=2": true,
		"https://fhirσ.example/fhir/Observation?page=2":     false,
		"https://fhirΣ.example/fhir/Observation?page=2":     false,
	} {
		u, err := url.Parse(link)
		require.NoError(t, err)
		assert.Equal(t, in, c.within(u), link)
	}
}
