package fhirapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// bundle is the JSON shape of the Bundles this handler produces.
type bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []bundleLink  `json:"link,omitempty"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
	Request  *entryRequest   `json:"request,omitempty"`
	Response *entryResponse  `json:"response,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

type entryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type entryResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fhirapi: marshal: %v", err)) // only fixed shapes are marshalled
	}
	return b
}

func fullURL(req request, r *store.Resource) string {
	return req.base + "/" + r.Type + "/" + r.ID
}

// searchBundle renders a page of results as a searchset Bundle, with self
// and next/previous links. Paging links are plain search URLs (with
// _offset), so every page is a new request that is authorized again.
func searchBundle(req request, path string, q store.Query, page store.Page) []byte {
	total := page.Total
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: &total}
	link := func(rel string, offset int) {
		v := q.Encode(offset)
		b.Link = append(b.Link, bundleLink{Relation: rel, URL: req.base + "/" + path + "?" + v.Encode()})
	}
	link("self", q.Offset)
	if !q.SummaryCount {
		if next := q.Offset + q.Count; q.Count > 0 && next < page.Total {
			link("next", next)
		}
		if q.Offset > 0 {
			link("previous", max(0, q.Offset-max(q.Count, 1)))
		}
	}
	for _, r := range page.Matches {
		b.Entry = append(b.Entry, bundleEntry{FullURL: fullURL(req, r), Resource: r.JSON, Search: &entrySearch{Mode: "match"}})
	}
	for _, r := range page.Included {
		b.Entry = append(b.Entry, bundleEntry{FullURL: fullURL(req, r), Resource: r.JSON, Search: &entrySearch{Mode: "include"}})
	}
	return mustJSON(b)
}

func historyBundle(req request, versions []*store.Resource) []byte {
	total := len(versions)
	b := bundle{ResourceType: "Bundle", Type: "history", Total: &total}
	for _, r := range versions {
		e := bundleEntry{FullURL: fullURL(req, r)}
		if r.Deleted {
			e.Request = &entryRequest{Method: http.MethodDelete, URL: r.Type + "/" + r.ID}
			e.Response = &entryResponse{Status: "204 No Content", Etag: etag(r), LastModified: instant(r)}
		} else {
			method, status := http.MethodPut, "200 OK"
			if r.Version == 1 {
				method, status = http.MethodPost, "201 Created"
			}
			url := r.Type + "/" + r.ID
			if method == http.MethodPost {
				url = r.Type
			}
			e.Resource = r.JSON
			e.Request = &entryRequest{Method: method, URL: url}
			e.Response = &entryResponse{Status: status, Etag: etag(r), LastModified: instant(r)}
		}
		b.Entry = append(b.Entry, e)
	}
	return mustJSON(b)
}

func instant(r *store.Resource) string {
	return r.LastUpdated.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// search runs a type-level search; extra criteria (compartment) are AND-ed.
func (h *Handler) search(req request, ops store.Ops, typ string, params url.Values, extra url.Values) response {
	return h.searchAt(req, ops, typ, typ, params, extra)
}

func (h *Handler) searchAt(req request, ops store.Ops, typ, path string, params, extra url.Values) response {
	for name, fixed := range extra {
		vals, clash := params[name]
		if !clash {
			continue
		}
		// The compartment parameter is fixed by the path. Repeating the
		// same patient (as a narrowing rewrite may) is dropped; naming
		// anybody else is refused rather than ANDed into an empty result.
		for _, v := range vals {
			if v != fixed[0] && "Patient/"+v != fixed[0] {
				return failure(http.StatusBadRequest, "invalid", fmt.Sprintf("parameter %q is fixed by the compartment (%s)", name, fixed[0]))
			}
		}
		params = cloneWithout(params, name)
	}
	q, err := store.ParseQuery(typ, params)
	if err != nil {
		return fromError(err)
	}
	if len(extra) > 0 {
		eq, err := store.ParseQuery(typ, extra)
		if err != nil {
			return fromError(err)
		}
		q.Criteria = append(q.Criteria, eq.Criteria...)
	}
	page, err := ops.Search(q, visible(req.access))
	if err != nil {
		return fromError(err)
	}
	// Links carry only the caller's parameters; the compartment is in the path.
	linkQuery := q
	linkQuery.Criteria = q.Criteria[:len(q.Criteria)-countCriteria(extra)]
	return response{status: http.StatusOK, body: searchBundle(req, path, linkQuery, page)}
}

func countCriteria(v url.Values) int {
	n := 0
	for _, vs := range v {
		n += len(vs)
	}
	return n
}

// postSearch is POST Type/_search: form body and URL parameters merged.
func (h *Handler) postSearch(req request, ops store.Ops, typ string) response {
	if bad := checkContentType(req, "application/x-www-form-urlencoded"); bad != nil {
		return *bad
	}
	form, err := url.ParseQuery(string(req.body))
	if err != nil {
		return failure(http.StatusBadRequest, "invalid", "malformed form body")
	}
	merged := url.Values{}
	for k, vs := range req.query {
		merged[k] = append(merged[k], vs...)
	}
	for k, vs := range form {
		merged[k] = append(merged[k], vs...)
	}
	return h.search(req, ops, typ, merged, nil)
}

// compartmentParam returns the search parameter tying typ to a patient.
func compartmentParam(typ string) (string, bool) {
	params := store.SearchParams(typ)
	if params["patient"] == "reference" {
		return "patient", true
	}
	return "", false
}

// compartmentSearch is GET Patient/{id}/{Type}: a search of Type narrowed
// to the patient's compartment.
func (h *Handler) compartmentSearch(req request, ops store.Ops, patientID, typ string) response {
	if !store.ValidID(patientID) {
		return failure(http.StatusBadRequest, "invalid", fmt.Sprintf("%q is not a valid id", patientID))
	}
	param, ok := compartmentParam(typ)
	if !ok {
		return failure(http.StatusBadRequest, "not-supported", fmt.Sprintf("%s is not in the Patient compartment of this server", typ))
	}
	return h.searchAt(req, ops, typ, "Patient/"+patientID+"/"+typ, req.query,
		url.Values{param: {"Patient/" + patientID}})
}

// maxEverything bounds the size of a $everything answer.
const maxEverything = 1000

// everything is GET Patient/{id}/$everything: the patient and every
// resource in its compartment that the caller may see.
func (h *Handler) everything(req request, ops store.Ops, id string) response {
	for name := range req.query {
		if name != "_format" && name != "_pretty" {
			return failure(http.StatusBadRequest, "not-supported", fmt.Sprintf("$everything parameter %q is not supported", name))
		}
	}
	p, err := ops.Read("Patient", id)
	if err != nil {
		return fromError(err)
	}
	if err := h.readable(req, p); err != nil {
		return denied(err)
	}
	page := store.Page{Matches: []*store.Resource{p}}
	for _, typ := range h.store.Validator().Types() {
		param, ok := compartmentParam(typ)
		if !ok {
			continue
		}
		q, err := store.ParseQuery(typ, url.Values{param: {"Patient/" + id}})
		if err != nil {
			return fromError(err)
		}
		q.Count = maxEverything
		found, err := ops.Search(q, visible(req.access))
		if err != nil {
			return fromError(err)
		}
		page.Matches = append(page.Matches, found.Matches...)
		if len(page.Matches) > maxEverything {
			return failure(http.StatusBadRequest, "too-costly", "$everything would return more than 1000 resources")
		}
	}
	total := len(page.Matches)
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: &total,
		Link: []bundleLink{{Relation: "self", URL: req.base + "/Patient/" + id + "/$everything"}}}
	for _, r := range page.Matches {
		b.Entry = append(b.Entry, bundleEntry{FullURL: fullURL(req, r), Resource: r.JSON, Search: &entrySearch{Mode: "match"}})
	}
	return response{status: http.StatusOK, body: mustJSON(b)}
}

// cloneWithout returns a copy of v without the parameter name.
func cloneWithout(v url.Values, name string) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		if k != name {
			out[k] = vs
		}
	}
	return out
}
