package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
)

// Page is one page of search results: a searchset Bundle.
type Page struct {
	// Number is the 1-based page number.
	Number int
	// URL is where the page was fetched.
	URL string
	// Bundle is the raw Bundle.
	Bundle json.RawMessage
	// Total is Bundle.total, nil when the server did not send it.
	Total *int
	// Entries are the Bundle's entries.
	Entries []Entry
	// Next is the next link, "" on the last page.
	Next string
}

// Entry is one Bundle entry.
type Entry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *struct {
		// Mode is "match", "include" or "outcome".
		Mode string `json:"mode,omitempty"`
	} `json:"search,omitempty"`
}

// Matches returns the resources of the entries that matched the search
// (search.mode "match" or unspecified), leaving out _include'd resources
// and outcomes.
func (p *Page) Matches() []json.RawMessage {
	out := make([]json.RawMessage, 0, len(p.Entries))
	for _, e := range p.Entries {
		if e.Resource == nil || e.Search != nil && e.Search.Mode != "" && e.Search.Mode != "match" {
			continue
		}
		out = append(out, e.Resource)
	}
	return out
}

// SearchOption adjusts a search.
type SearchOption func(*searchConfig) error

type searchConfig struct {
	maxPages    int
	compartment []string // {Type, id}
	post        bool
}

// MaxPages limits how many pages a search fetches (default: the client's,
// see WithMaxPages). When the limit is reached and the server offers more,
// the iterator yields an error wrapping ErrPageLimit.
func MaxPages(n int) SearchOption {
	return func(s *searchConfig) error {
		if n <= 0 {
			return fmt.Errorf("%w: page limit must be positive", ErrInvalidArgument)
		}
		s.maxPages = n
		return nil
	}
}

// InCompartment searches within a compartment, e.g.
// InCompartment("Patient", "123") for GET Patient/123/Observation.
func InCompartment(typ, id string) SearchOption {
	return func(s *searchConfig) error {
		if err := checkTypeID(typ, id); err != nil {
			return err
		}
		s.compartment = []string{typ, id}
		return nil
	}
}

// UsePost sends the first request as POST Type/_search with the
// parameters in a form body (keeps them out of URLs and logs).
func UsePost() SearchOption {
	return func(s *searchConfig) error {
		s.post = true
		return nil
	}
}

// Search runs a FHIR search on resource type typ ("" for a system-wide
// search) and returns an iterator over its pages. It follows the Bundle's
// next links, which must stay under the base URL (else the iterator yields
// an error wrapping ErrForeignLink and sends nothing there), up to the
// page limit (ErrPageLimit). After an error the iteration ends.
//
//	for page, err := range c.Search(ctx, "Observation", url.Values{"patient": {"123"}}) {
//		if err != nil { return err }
//		for _, r := range page.Matches() { ... }
//	}
func (c *Client) Search(ctx context.Context, typ string, params url.Values, opts ...SearchOption) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		first, maxPages, err := c.firstSearchRequest(typ, params, opts)
		if err != nil {
			yield(nil, err)
			return
		}
		seen := map[string]bool{}
		r := first
		for n := 1; ; n++ {
			seen[r.url.String()] = true
			page, err := c.fetchPage(ctx, r, n)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) || page.Next == "" {
				return
			}
			next, err := c.nextRequest(r.url, page.Next)
			if err != nil {
				yield(nil, err)
				return
			}
			if seen[next.url.String()] {
				yield(nil, fmt.Errorf("%w: page %d links back to %s", ErrPagingLoop, n, redactURL(next.url)))
				return
			}
			if n >= maxPages {
				yield(nil, fmt.Errorf("%w: stopped after %d pages; the server has more", ErrPageLimit, n))
				return
			}
			r = next
		}
	}
}

// SearchAll collects the matching resources of every page of a search.
func (c *Client) SearchAll(ctx context.Context, typ string, params url.Values, opts ...SearchOption) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for page, err := range c.Search(ctx, typ, params, opts...) {
		if err != nil {
			return out, err
		}
		out = append(out, page.Matches()...)
	}
	return out, nil
}

// firstSearchRequest validates the search and builds its first request.
func (c *Client) firstSearchRequest(typ string, params url.Values, opts []SearchOption) (*request, int, error) {
	cfg := searchConfig{maxPages: c.maxPages}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, 0, err
		}
	}
	var segs []string
	segs = append(segs, cfg.compartment...)
	if typ != "" {
		if err := checkType(typ); err != nil {
			return nil, 0, err
		}
		segs = append(segs, typ)
	} else if cfg.compartment != nil {
		segs = append(segs, "*")
	}
	for k := range params {
		if k == "" || strings.ContainsAny(k, "\r\n\x00") {
			return nil, 0, fmt.Errorf("%w: search parameter name %q", ErrInvalidArgument, k)
		}
	}
	if !cfg.post {
		return &request{method: http.MethodGet, url: c.url(params, segs...), header: http.Header{}}, cfg.maxPages, nil
	}
	segs = append(segs, "_search")
	body := []byte(params.Encode())
	r := &request{method: http.MethodPost, url: c.url(nil, segs...), body: body,
		contentType: "application/x-www-form-urlencoded", header: http.Header{}}
	return r, cfg.maxPages, nil
}

// fetchPage performs a search request and decodes the Bundle.
func (c *Client) fetchPage(ctx context.Context, r *request, n int) (*Page, error) {
	res, err := c.doSearch(ctx, r)
	if err != nil {
		return nil, err
	}
	var b struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Total        *int    `json:"total"`
		Link         []link  `json:"link"`
		Entry        []Entry `json:"entry"`
	}
	if err := json.Unmarshal(res.Body, &b); err != nil {
		return nil, fmt.Errorf("client: %s %s: %w: %w", r.method, redactURL(r.url), ErrUnexpectedResponse, err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("client: %s %s: %w: got a %q, want a Bundle", r.method, redactURL(r.url), ErrUnexpectedResponse, b.ResourceType)
	}
	p := &Page{Number: n, URL: r.url.String(), Bundle: res.Body, Total: b.Total, Entries: b.Entry}
	for _, l := range b.Link {
		if l.Relation == "next" {
			p.Next = l.URL
			break
		}
	}
	return p, nil
}

// doSearch sends a search request; a POST _search is safe to retry.
func (c *Client) doSearch(ctx context.Context, r *request) (*Result, error) {
	r.safe = true // a search has no side effects, even as POST _search
	return c.do(ctx, r)
}

type link struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// nextRequest resolves a next link against the current page URL and
// refuses it unless it stays under the base URL.
func (c *Client) nextRequest(current *url.URL, next string) (*request, error) {
	if strings.ContainsAny(next, "\r\n\x00\\") {
		return nil, fmt.Errorf("%w: malformed next link", ErrForeignLink)
	}
	ref, err := url.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed next link: %w", ErrForeignLink, err)
	}
	u := current.ResolveReference(ref)
	u.Fragment = ""
	u.RawFragment = ""
	if !c.within(u) {
		return nil, fmt.Errorf("%w: next link %s is outside %s", ErrForeignLink, redactURL(u), c.base)
	}
	return &request{method: http.MethodGet, url: u, header: http.Header{}}, nil
}
