package fhirapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// maxEntries bounds the entries of one batch or transaction.
const maxEntries = 1000

// inBundle is the part of a posted Bundle that processing needs.
type inBundle struct {
	ResourceType string    `json:"resourceType"`
	Type         string    `json:"type"`
	Entry        []inEntry `json:"entry"`
}

type inEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		IfNoneExist string `json:"ifNoneExist"`
		IfMatch     string `json:"ifMatch"`
	} `json:"request"`
}

// entryJob is one parsed entry ready to run.
type entryJob struct {
	index int
	req   request
	err   *response // parse or authorization failure of this entry
	urn   string    // fullUrl when it is a urn:uuid/urn:oid placeholder
}

// bundle processes a POSTed batch or transaction Bundle.
func (h *Handler) bundle(req request) response {
	if bad := checkContentType(req, jsonTypes...); bad != nil {
		return *bad
	}
	var in inBundle
	if err := json.Unmarshal(req.body, &in); err != nil {
		return failure(http.StatusBadRequest, "invalid", "body is not a JSON Bundle: "+err.Error())
	}
	if in.ResourceType != "Bundle" || (in.Type != "batch" && in.Type != "transaction") {
		return failure(http.StatusBadRequest, "invalid", "POST to the base needs a Bundle of type batch or transaction")
	}
	// Entries are validated one by one when they are processed (a batch
	// entry with an invalid resource fails alone), not as one Bundle.
	if len(in.Entry) > maxEntries {
		return failure(http.StatusBadRequest, "too-costly", fmt.Sprintf("more than %d entries", maxEntries))
	}
	jobs := make([]entryJob, len(in.Entry))
	for i, e := range in.Entry {
		jobs[i] = h.parseEntry(req, i, len(in.Entry), e)
	}
	if in.Type == "batch" {
		return h.batch(req, jobs)
	}
	return h.transaction(req, jobs)
}

// parseEntry turns one entry into a request, refusing what cannot be
// processed unambiguously: absolute or rooted URLs, dot segments, nested
// Bundles, unsupported methods.
func (h *Handler) parseEntry(parent request, i, n int, e inEntry) entryJob {
	job := entryJob{index: i}
	fail := func(status int, code, msg string) entryJob {
		r := failure(status, code, fmt.Sprintf("entry %d: %s", i, msg))
		job.err = &r
		return job
	}
	if e.Request == nil || e.Request.Method == "" || e.Request.URL == "" {
		return fail(http.StatusBadRequest, "required", "request.method and request.url are required")
	}
	method := e.Request.Method
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		return fail(http.StatusBadRequest, "not-supported", fmt.Sprintf("method %q is not supported in a Bundle entry", method))
	}
	raw := e.Request.URL
	if strings.Contains(raw, "://") || strings.HasPrefix(raw, "/") || strings.Contains(raw, "#") {
		return fail(http.StatusBadRequest, "invalid", fmt.Sprintf("request.url %q must be relative to the base", raw))
	}
	path, rawQuery, _ := strings.Cut(raw, "?")
	segs, err := splitSegments(path)
	if err != nil || len(segs) == 0 {
		return fail(http.StatusBadRequest, "invalid", fmt.Sprintf("request.url %q: %v", raw, err))
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fail(http.StatusBadRequest, "invalid", fmt.Sprintf("request.url %q has a malformed query", raw))
	}
	var body []byte
	if method == http.MethodPost || method == http.MethodPut {
		if len(e.Resource) == 0 {
			return fail(http.StatusBadRequest, "required", "resource is required for "+method)
		}
		var probe struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(e.Resource, &probe) == nil && probe.ResourceType == "Bundle" {
			return fail(http.StatusBadRequest, "not-supported", "nested Bundles are not processed")
		}
		body = e.Resource
	}
	hdr := http.Header{}
	if e.Request.IfNoneExist != "" {
		hdr.Set("If-None-Exist", e.Request.IfNoneExist)
	}
	if e.Request.IfMatch != "" {
		hdr.Set("If-Match", e.Request.IfMatch)
	}
	job.req = request{method: method, segments: segs, query: query, header: hdr, body: body, base: parent.base}
	if strings.HasPrefix(e.FullURL, "urn:uuid:") || strings.HasPrefix(e.FullURL, "urn:oid:") {
		job.urn = e.FullURL
	}
	if h.access != nil && parent.http != nil {
		sub, err := http.NewRequestWithContext(withEntry(parent.http.Context(), i, n), method,
			parent.base+"/"+raw, bytes.NewReader(body))
		if err != nil {
			return fail(http.StatusBadRequest, "invalid", fmt.Sprintf("request.url %q: %v", raw, err))
		}
		a, err := h.access(sub)
		if err != nil {
			return fail(http.StatusForbidden, "forbidden", err.Error())
		}
		job.req.access = a
	}
	return job
}

// batch runs each entry on its own; failures are reported per entry.
func (h *Handler) batch(req request, jobs []entryJob) response {
	out := bundle{ResourceType: "Bundle", Type: "batch-response"}
	for _, job := range jobs {
		resp := h.runEntry(job, h.store)
		out.Entry = append(out.Entry, entryFor(resp))
	}
	return response{status: http.StatusOK, body: mustJSON(out)}
}

func (h *Handler) runEntry(job entryJob, ops store.Ops) response {
	if job.err != nil {
		return *job.err
	}
	return h.route(job.req, ops)
}

// entryFor renders an interaction's response as a response Bundle entry.
func entryFor(resp response) bundleEntry {
	e := bundleEntry{Response: &entryResponse{Status: strconv.Itoa(resp.status) + " " + http.StatusText(resp.status), Location: resp.location}}
	if resp.resource != nil {
		e.Response.Etag = etag(resp.resource)
		e.Response.LastModified = instant(resp.resource)
	}
	if resp.status >= 400 {
		e.Response.Outcome = resp.body
	} else if len(resp.body) > 0 {
		e.Resource = resp.body
	}
	return e
}

// transactionOrder is the processing order FHIR prescribes.
var transactionOrder = map[string]int{http.MethodDelete: 0, http.MethodPost: 1, http.MethodPut: 2, http.MethodGet: 3}

// errTransaction carries the failing entry's response out of Atomic.
type errTransaction struct{ resp response }

func (e *errTransaction) Error() string { return "transaction entry failed" }

// transaction runs all entries atomically: any failure undoes everything
// and the answer is that failure.
func (h *Handler) transaction(req request, jobs []entryJob) response {
	for _, job := range jobs {
		if job.err != nil {
			return *job.err
		}
	}
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return transactionOrder[jobs[order[a]].req.method] < transactionOrder[jobs[order[b]].req.method]
	})
	results := make([]response, len(jobs))
	err := h.store.Atomic(func(ops store.Ops) error {
		ids := map[string]string{} // urn -> "Type/id"
		if err := h.assignIDs(ops, jobs, ids); err != nil {
			return err
		}
		for _, i := range order {
			job := jobs[i]
			if len(ids) > 0 && len(job.req.body) > 0 {
				body, err := rewriteReferences(job.req.body, ids)
				if err != nil {
					return &errTransaction{failure(http.StatusBadRequest, "invalid", fmt.Sprintf("entry %d: %v", i, err))}
				}
				job.req.body = body
			}
			resp := h.route(job.req, ops)
			if resp.status >= 400 {
				resp.body = outcomeJSON("error", issueCode(resp.body), fmt.Sprintf("transaction failed at entry %d: %s", i, diagnostics(resp.body)))
				return &errTransaction{resp}
			}
			results[i] = resp
		}
		return nil
	})
	if err != nil {
		var te *errTransaction
		if errors.As(err, &te) {
			return te.resp
		}
		return fromError(err)
	}
	out := bundle{ResourceType: "Bundle", Type: "transaction-response"}
	for _, resp := range results {
		out.Entry = append(out.Entry, entryFor(resp))
	}
	return response{status: http.StatusOK, body: mustJSON(out)}
}

// assignIDs gives each POST entry with a urn fullUrl the id it will be
// created with, so references to it can be rewritten before anything is
// written. A POST becomes a PUT with that id; If-None-Exist is resolved
// first, as for a conditional create without a urn (a match maps the urn
// to the existing resource; several fail the transaction).
func (h *Handler) assignIDs(ops store.Ops, jobs []entryJob, ids map[string]string) error {
	for i := range jobs {
		job := &jobs[i]
		if job.req.method != http.MethodPost || len(job.req.segments) != 1 || job.urn == "" {
			continue
		}
		typ := job.req.segments[0]
		if !h.store.Validator().KnownType(typ) {
			continue // the entry itself fails with 404 when it runs
		}
		if _, dup := ids[job.urn]; dup {
			return &errTransaction{failure(http.StatusBadRequest, "invalid", fmt.Sprintf("entry %d: duplicate fullUrl %s", i, job.urn))}
		}
		if cond := job.req.header.Get("If-None-Exist"); cond != "" {
			// The same search, and the same failures (400 for no
			// search, 412 for several matches), as without a urn.
			existing, resp, ok := h.matchOne(job.req, ops, typ, cond)
			if !ok {
				resp.body = outcomeJSON("error", issueCode(resp.body), fmt.Sprintf("transaction failed at entry %d: %s", i, diagnostics(resp.body)))
				return &errTransaction{resp}
			}
			if existing != nil {
				ids[job.urn] = typ + "/" + existing.ID
				continue // the entry itself answers 200 with the match
			}
		}
		id := store.NewID()
		for {
			_, err := ops.History(typ, id)
			if errors.Is(err, store.ErrNotFound) {
				break // a fresh id
			}
			if err != nil {
				return &errTransaction{fromError(err)}
			}
			id = store.NewID() // taken (practically never)
		}
		ids[job.urn] = typ + "/" + id
		job.req.header = job.req.header.Clone()
		job.req.header.Del("If-None-Exist")
		job.req.method = http.MethodPut
		job.req.segments = []string{typ, id}
		body, err := forceID(job.req.body, id)
		if err != nil {
			return &errTransaction{failure(http.StatusBadRequest, "invalid", fmt.Sprintf("entry %d: resource is not a JSON object", i))}
		}
		job.req.body = body
	}
	return nil
}

// forceID sets the id of a resource body (the id of a POSTed resource is
// the server's choice, whatever the body says).
func forceID(body []byte, id string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, errors.New("not a JSON object")
	}
	doc["id"] = id
	return json.Marshal(doc)
}

// rewriteReferences replaces urn placeholders in "reference" elements.
func rewriteReferences(body []byte, ids map[string]string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var walk func(any)
	walk = func(n any) {
		switch x := n.(type) {
		case map[string]any:
			for k, v := range x {
				if s, ok := v.(string); ok && k == "reference" {
					if to, ok := ids[s]; ok {
						x[k] = to
					}
					continue
				}
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(doc)
	return json.Marshal(doc)
}

func issueCode(oo []byte) string {
	var o outcome
	if json.Unmarshal(oo, &o) == nil && len(o.Issue) > 0 {
		return o.Issue[0].Code
	}
	return "processing"
}

func diagnostics(oo []byte) string {
	var o outcome
	if json.Unmarshal(oo, &o) == nil && len(o.Issue) > 0 {
		return o.Issue[0].Diagnostics
	}
	return ""
}
